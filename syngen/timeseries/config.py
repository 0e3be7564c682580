"""Hyper-parameters of DoppelGANger (Lin et al. 2020), with the paper's defaults where sensible."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..estimator import ModelConfig
from ..privacy.config import DPConfig

EPOCHS, BATCH_SIZE = 400, 100
# Under DP: fewer, smaller steps (the noise grows slowly with their number; docs/experiments.md).
DP_EPOCHS = 50


@dataclass
class TimeSeriesConfig(ModelConfig):
    """Everything that shapes a DoppelGANger fit.

    ``sample_len`` (time steps emitted per recurrent cell, the paper's "batch generation") left
    as ``None`` is chosen from the longest sequence so the recurrent network runs at most
    ~50 cells; ``batch_size`` is capped at the number of sequences.

    ``auto_normalize``: scale numeric features per entity (the paper's auto-normalization,
    True), with the column's global range (False), or choose per column (None; see
    ``StepFeatureEncoder``). ``difference_weight``: the main critic also sees each step's change
    times this weight; real step changes are small next to the values, and scaled up they let
    the critic punish jittery sequences early; too large a weight holds back the learning of
    lengths (docs/experiments.md). 0 turns it off.

    ``ema_decay``: the generator kept at the end is the exponential moving average of its
    weights over training, with this decay per step (~1,000 steps' memory; see ``syngen.training``).
    0 keeps the last step's weights.

    ``dp``: train under entity-level differential privacy (``DPConfig``; the privacy unit is an
    entity with all its rows): ``syngen.timeseries.private_fit``. Both critics then have
    ``dp.critic_dims`` and both networks learn at ``dp.learning_rate``; ``dp.refine_share``
    does not apply.
    """

    epochs: int | None = None
    batch_size: int | None = None
    sample_len: int | None = None
    attribute_noise_dim: int = 10
    feature_noise_dim: int = 10
    attribute_dims: tuple[int, ...] = (100, 100)
    feature_hidden: int = 100
    feature_layers: int = 1
    discriminator_dims: tuple[int, ...] = (200, 200, 200)
    aux_discriminator_dims: tuple[int, ...] = (200, 200, 200)
    generator_lr: float = 1e-3
    discriminator_lr: float = 1e-3
    gradient_penalty: float = 10.0
    aux_weight: float = 1.0
    difference_weight: float = 5.0
    ema_decay: float = 0.999
    gumbel_tau: float = 0.2
    max_modes: int = 10
    auto_normalize: bool | None = None
    max_seconds: float | None = None
    device: str = "auto"
    seed: int | None = None
    verbose: bool = False
    dp: DPConfig | None = None

    def __post_init__(self) -> None:
        for name in ("attribute_dims", "discriminator_dims", "aux_discriminator_dims"):
            setattr(self, name, tuple(getattr(self, name)))
        for name in (
            "epochs",
            "batch_size",
            "attribute_noise_dim",
            "feature_noise_dim",
            "feature_hidden",
            "feature_layers",
            "max_modes",
        ):
            value = getattr(self, name)
            if value is None and name in ("epochs", "batch_size"):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.sample_len is not None and (
            not isinstance(self.sample_len, int) or self.sample_len < 1
        ):
            raise ValueError(
                f"sample_len must be a positive integer or None, got {self.sample_len!r}"
            )
        for name in ("generator_lr", "discriminator_lr", "gumbel_tau"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("gradient_penalty", "aux_weight", "difference_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be non-negative, got {getattr(self, name)}")
        self._check_common()
        if isinstance(self.dp, dict):  # as the model file holds it
            self.dp = DPConfig(**self.dp)
        if self.dp is not None and not isinstance(self.dp, DPConfig):
            raise TypeError(f"dp must be a DPConfig, got {type(self.dp).__name__}")
        if self.dp is not None and self.dp.refine_share:
            raise ValueError("dp.refine_share applies to TabularGAN only; leave it 0")

    def resolved(self, n_sequences: int, max_len: int) -> TimeSeriesConfig:
        """A copy with ``sample_len``, ``epochs`` and ``batch_size`` fitted to the data."""
        sample_len = self.sample_len or max(1, math.ceil(max_len / 50))
        epochs, batch = self.epochs or EPOCHS, self.batch_size or BATCH_SIZE
        private = {}
        if self.dp is not None:
            epochs = self.epochs or DP_EPOCHS
            batch = self.batch_size or max(8, min(100, n_sequences // 10))
            private = {
                "discriminator_dims": self.dp.critic_dims,
                "aux_discriminator_dims": self.dp.critic_dims,
                "generator_lr": self.dp.learning_rate,
                "discriminator_lr": self.dp.learning_rate,
            }
        return replace(
            self,
            sample_len=min(sample_len, max_len),
            epochs=epochs,
            batch_size=min(batch, n_sequences),
            **private,
        )
