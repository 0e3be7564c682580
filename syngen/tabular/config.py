"""Hyper-parameters of the conditional tabular GAN, with the defaults of the CTGAN paper."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..estimator import ModelConfig
from ..privacy.config import DPConfig

# Epochs of a DP fit unless given: more steps need more noise per step for the same epsilon.
DP_EPOCHS = 20


@dataclass
class TabularConfig(ModelConfig):
    """Everything that shapes a TabularGAN fit.

    ``batch_size``, ``epochs`` and ``pac`` left as ``None`` are chosen from the number of rows
    (see ``resolved``): the paper's 500 / 300 / 10 for large tables; smaller batches, smaller
    packs and more epochs for small ones, which otherwise get too few updates to learn anything.

    ``ema_decay``: the generator kept at the end is the exponential moving average of its
    weights over training (see ``syngen.training``); 0 keeps the last step's weights.

    ``derive_columns``: a discrete column that is a function of another in the data (a code
    and its label) is looked up from that column instead of generated, so the two always
    agree (``syngen.transform.dependencies``).

    ``refine_share``: the last share of the epochs (of the time budget, with ``max_seconds``)
    trains the generator against a classifier of single rows instead of the pack critic
    (``critics.RowClassifier``); its first epoch trains only the classifier. 0 turns it off.

    ``dp``: train under differential privacy (``DPConfig``): one (epsilon, delta) for the
    whole fit, preprocessing included. It takes pac 1 and no derived columns, its refinement
    phase is ``dp.refine_share`` (``refine_share`` does not apply), and ``epochs`` left as
    ``None`` become ``DP_EPOCHS``.

    What each of these did on Adult and German credit: docs/experiments.md.
    """

    embedding_dim: int = 128
    generator_dims: tuple[int, ...] = (256, 256)
    discriminator_dims: tuple[int, ...] = (256, 256)
    generator_lr: float = 2e-4
    generator_decay: float = 1e-6
    discriminator_lr: float = 2e-4
    discriminator_decay: float = 1e-6
    batch_size: int | None = None
    epochs: int | None = None
    pac: int | None = None
    discriminator_steps: int = 1
    log_frequency: bool = True
    gradient_penalty: float = 10.0
    gumbel_tau: float = 0.2
    ema_decay: float = 0.999
    refine_share: float = 0.4
    max_modes: int = 10
    max_categories: int = 500
    discrete_threshold: int = 20
    derive_columns: bool = True
    transformer_sample_size: int = 10_000
    calibrate: bool = True
    max_seconds: float | None = None
    device: str = "auto"
    seed: int | None = None
    verbose: bool = False
    dp: DPConfig | None = None

    def __post_init__(self) -> None:
        self.generator_dims = tuple(self.generator_dims)
        self.discriminator_dims = tuple(self.discriminator_dims)
        for name in ("embedding_dim", "discriminator_steps", "max_modes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        for name in ("batch_size", "epochs", "pac"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
        if self.batch_size is not None and self.pac is not None and self.batch_size % self.pac:
            raise ValueError(
                f"batch_size ({self.batch_size}) must be a multiple of pac ({self.pac})"
            )
        if not 0.0 <= self.refine_share < 1.0:
            raise ValueError(f"refine_share must be in [0, 1), got {self.refine_share}")
        self._check_common()
        if isinstance(self.dp, dict):  # as the model file holds it
            self.dp = DPConfig(**self.dp)
        if self.dp is not None and not isinstance(self.dp, DPConfig):
            raise TypeError(f"dp must be a DPConfig, got {type(self.dp).__name__}")

    def resolved(self, n_rows: int) -> TabularConfig:
        """A copy with the size-dependent defaults filled in for a table of ``n_rows``."""
        if self.dp is not None:
            # One row, one clipping unit: no packs; derived-column detection would read the rows
            # outside the accountant. Refinement under DP is DPConfig's (its own DP-SGD step).
            # Smaller batches: more steps for the same epsilon (the noise grows slowly with
            # the number of steps), which a GAN needs more than a clean gradient.
            batch = self.batch_size or max(16, min(200, n_rows // 40))
            private = replace(self, pac=1, refine_share=0.0, derive_columns=False, batch_size=batch)
            return replace(private.resolved_public(n_rows), epochs=self.epochs or DP_EPOCHS)
        return self.resolved_public(n_rows)

    def resolved_public(self, n_rows: int) -> TabularConfig:
        # Small tables: packs of 5, so that the critic still sees 20+ packs per batch.
        pac = self.pac or (10 if n_rows >= 4000 else 5)
        batch = self.batch_size
        if batch is None:
            # Keep at least ~8 updates per epoch on small tables; 500 from 4,000 rows up.
            batch = min(500, max(pac * 2, n_rows // 8 // pac * pac))
        epochs = self.epochs
        if epochs is None:
            steps_per_epoch = max(1, n_rows // batch)
            # The paper's 300 epochs, and never fewer than ~8,000 updates in all: a small
            # table's few steps per epoch would otherwise leave the generator undertrained.
            epochs = max(300, math.ceil(8000 / steps_per_epoch)) if n_rows < 4000 else 300
        return replace(self, batch_size=batch, epochs=epochs, pac=pac)
