"""TabularGAN: the conditional tabular GAN (CTGAN, Xu et al. 2019) as an estimator -- fit
orchestration, sampling with conditions, the model file.

The parts it orchestrates: ``TableTransformer`` (columns <-> the span layout), ``ConditionSampler``
(conditional vectors), ``Generator``, ``Trainer`` (the training loop and its critics),
``calibration`` (class shares after training) and ``RowSource`` (generated rows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..conditions import parse_conditions, rows_matching, too_rare
from ..estimator import Synthesizer
from ..io import TableWriter
from ..metadata import Metadata, validated_metadata
from ..output_layout import OutputLayout
from ..persistence import model_kind
from ..transform import TableTransformer
from ..transform.categorical import CategoricalTransform
from .calibration import calibrate
from .config import TabularConfig
from .draw_order import output_in_draw_order
from .generation import RowSource
from .generator import Generator
from .private_fit import fit_private
from .sampler import ConditionSampler
from .trainer import Trainer

_SAMPLE_BATCH = 10_000


@model_kind("tabular")
class TabularGAN(Synthesizer):
    """Conditional tabular GAN with mode-specific normalization, PacGAN and WGAN-GP.

    >>> model = TabularGAN(epochs=50, seed=0).fit(df)           # doctest: +SKIP
    >>> model.sample(1000, conditions={"income": ">50K"})       # doctest: +SKIP
    """

    config_class = TabularConfig

    # ---- fit ----------------------------------------------------------------------------
    def fit(
        self,
        data: pd.DataFrame,
        metadata: Metadata | Mapping | str | Path | None = None,
        *,
        on_epoch: Callable[[int, dict | None], None] | None = None,
    ) -> TabularGAN:
        """Learn the table ``data``; ``metadata`` (object, dict or JSON path) overrides kinds.
        ``on_epoch(epoch, record)`` is called as each epoch starts (record None) and ends."""
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
        started = self.clock()
        cfg = self.config.resolved(len(data))
        if cfg.dp is not None:
            return self._fit_private(data, metadata, cfg, started, on_epoch)
        metadata = validated_metadata(metadata, data)
        if len(data) < cfg.pac:
            raise ValueError(
                f"data has {len(data)} rows; a fit needs at least pac={cfg.pac} rows "
                "(pass a smaller pac for tiny tables)"
            )
        cfg = replace(
            cfg, batch_size=min(cfg.batch_size, max(cfg.pac, len(data) // cfg.pac * cfg.pac))
        )
        rng = self._begin_fit(cfg)
        with self._seeded(rng):
            self.transformer_ = TableTransformer(
                metadata,
                max_modes=cfg.max_modes,
                max_categories=cfg.max_categories,
                discrete_threshold=cfg.discrete_threshold,
                sample_size=cfg.transformer_sample_size,
                derive_columns=cfg.derive_columns,
                seed=int(rng.integers(2**31)),
                verbose=cfg.verbose,
            ).fit(data)
            if self.transformer_.output_dim_ == 0:
                raise ValueError(
                    "nothing to learn: every column is an id or a constant; "
                    "check the metadata kinds"
                )
            encoded = self.transformer_.encode(data, rng)
            self._build(ConditionSampler.from_codes(
                encoded.codes[:, [i for i, _ in self.transformer_.category_spans()]],
                self._condition_widths(),
                cfg.log_frequency,
            ))  # fmt: skip
            trainer = Trainer(self, cfg, encoded, rng)
            with output_in_draw_order(self.generator_, self.layout_):
                trainer.run(self._epochs(cfg, started, on_epoch))
            # Kept for the audit's white-box scores (syngen.audit); never saved.
            self._critic = trainer.D
            if cfg.calibrate:
                calibrate(self, encoded.codes, rng)
        self.privacy_ = None
        return self

    def _fit_private(self, data, metadata, cfg: TabularConfig, started: float, on_epoch):
        """The fit under ``cfg.dp``: see ``private_fit``; ``privacy_`` says what it spent."""
        if len(data) < 2:
            raise ValueError(f"data has {len(data)} rows; a DP fit needs at least 2")
        cfg = replace(cfg, batch_size=min(cfg.batch_size, len(data)))
        rng = self._begin_fit(cfg)
        with self._seeded(rng):
            self.privacy_ = fit_private(
                self, data, metadata, cfg, rng, self._epochs(cfg, started, on_epoch)
            )
        return self

    def _condition_widths(self) -> list[int]:
        return [s.width for _, s in self.transformer_.category_spans()]

    def _build(self, sampler: ConditionSampler) -> None:
        """The sampler, the layout and the generator (from data, or from a model file)."""
        cfg, tt = self.config_, self.transformer_
        self.sampler_ = sampler
        self.layout_ = OutputLayout(tt.layout_).to(self.device_)
        self.generator_ = Generator(
            cfg.embedding_dim, sampler.cond_dim, cfg.generator_dims, tt.output_dim_
        ).to(self.device_)
        self.class_bias_ = torch.zeros(self.layout_.n_classes, device=self.device_)

    def _row_source(self, gen: torch.Generator) -> RowSource:
        """Generated rows from the generator and class bias as they stand now."""
        return RowSource(
            self.generator_, self.layout_, self.class_bias_, self.config_.embedding_dim, gen
        )

    # ---- sample -------------------------------------------------------------------------
    def sample(
        self,
        n: int,
        conditions: Mapping[str, object] | None = None,
        seed: int | None = None,
        batch_size: int = _SAMPLE_BATCH,
    ) -> pd.DataFrame:
        """``n`` synthetic rows; with ``conditions`` every row holds those column values."""
        chunks = list(self.iter_samples(n, conditions, seed, batch_size))
        if not chunks:
            return self._empty_frame()
        return pd.concat(chunks, ignore_index=True)

    def sample_to(
        self,
        path: str | Path,
        n: int,
        conditions: Mapping[str, object] | None = None,
        seed: int | None = None,
        batch_size: int = _SAMPLE_BATCH,
        first_id: int = 0,
    ) -> int:
        """Stream ``n`` rows to a CSV/Parquet file in chunks; the file appears only when done."""
        with TableWriter(path) as writer:
            if n == 0:
                writer.write(self._empty_frame())
            for chunk in self.iter_samples(n, conditions, seed, batch_size, first_id):
                writer.write(chunk)
        return writer.rows

    def _empty_frame(self) -> pd.DataFrame:
        tt = self.transformer_
        return tt.decode(
            np.zeros((0, len(tt.softmax_spans_)), "int32"),
            np.zeros((0, len(tt.tanh_spans_)), "float32"),
        )

    def iter_samples(
        self,
        n: int,
        conditions: Mapping[str, object] | None = None,
        seed: int | None = None,
        batch_size: int = _SAMPLE_BATCH,
        first_id: int = 0,
    ) -> Iterator[pd.DataFrame]:
        """Yield frames of at most ``batch_size`` rows, ``n`` in all; memory stays flat in n.
        Generated id columns count from ``first_id`` (a shard's place: ``syngen.shards``).

        Conditions on discrete columns steer the conditional vector (``_condition_classes``);
        every condition is then enforced by rejection: generated rows that miss one are dropped.
        """
        self._check_fitted()
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not isinstance(conditions or {}, Mapping):
            raise TypeError("conditions must be a dict of column -> value")
        wanted = parse_conditions(self.transformer_, conditions or {})
        cond_classes = self._condition_classes(wanted)
        rng = np.random.default_rng(seed)
        gen = torch.Generator(device=self.device_)
        gen.manual_seed(int(rng.integers(2**63)))
        produced = candidates = 0
        with self._row_source(gen) as source:
            while produced < n:
                b = batch_size if wanted else min(batch_size, n - produced)
                if self.sampler_.cond_dim == 0:
                    g = None
                elif cond_classes is not None:
                    classes, p = cond_classes
                    g = np.full(b, classes[0]) if len(classes) == 1 else rng.choice(classes, b, p=p)
                else:
                    g = self.sampler_.sample_mixture(b, rng)[1]
                frame = self.transformer_.decode(*source(b, g), rng, offset=first_id + candidates)
                candidates += b
                if wanted:
                    frame = frame[rows_matching(frame, wanted)]
                    frame = frame.iloc[: n - produced].reset_index(drop=True)
                produced += len(frame)
                if len(frame):
                    yield frame
                if produced < n and wanted and too_rare(produced, candidates, n, 20 * batch_size):
                    rate = produced / candidates
                    raise ValueError(
                        f"conditions {wanted} are too rare for this model: {produced} of {n} "
                        f"rows matched after {candidates} generated (acceptance {rate:.4%}); "
                        "ask for fewer rows or relax the conditions"
                    )

    def _condition_classes(self, wanted: dict) -> tuple[np.ndarray, np.ndarray] | None:
        """The condition classes to feed the generator and their probabilities: those of the
        rarest discrete condition asked for. A condition on a derived column stands for the
        classes of its source column that map to the value asked for, drawn by frequency."""
        tt = self.transformer_
        spans = tt.category_spans()
        offsets = {s.column: self.sampler_.offsets[j] for j, (_, s) in enumerate(spans)}
        best = None
        for column, value in wanted.items():
            t = tt.transform_of(column)
            if not isinstance(t, CategoricalTransform):
                continue
            code = int(t.codes_of([value])[0])
            if column in tt.derived_:
                source, lookup = tt.derived_[column]
                classes = offsets[source] + np.flatnonzero(lookup == code)
            else:
                classes = np.array([offsets[column] + code])
            counts = self.sampler_.counts[classes]
            if best is None or counts.sum() < best[1].sum():
                best = classes, counts
        return None if best is None else (best[0], best[1] / best[1].sum())

    # ---- model file ---------------------------------------------------------------------
    def _header(self) -> dict:
        return {
            "transformer": self.transformer_.to_dict(),
            "condition_counts": self.sampler_.counts.tolist(),
            "privacy": self.privacy_,
        }

    def _tensors(self) -> dict[str, torch.Tensor]:
        tensors = {f"generator.{k}": v for k, v in self.generator_.state_dict().items()}
        tensors["class_bias"] = self.class_bias_
        if self.sampler_.cond_dim:
            tensors["condition_mixture"] = torch.from_numpy(self.sampler_.mixture)
        return tensors

    def _restore(self, header: dict, tensors: dict[str, torch.Tensor]) -> None:
        cfg = self.config_
        self.transformer_ = TableTransformer.from_dict(header["transformer"])
        self.privacy_ = header["privacy"]
        if self.privacy_ is not None and not isinstance(self.privacy_, dict):
            raise ValueError(f"privacy must be an object or null, got {self.privacy_!r}")
        counts = _condition_counts(header["condition_counts"], sum(self._condition_widths()))
        self._build(ConditionSampler(counts, self._condition_widths(), cfg.log_frequency))
        self.class_bias_ = tensors.pop("class_bias").to(self.device_)
        if self.class_bias_.shape != (self.layout_.n_classes,):
            raise ValueError(
                f"class_bias has shape {tuple(self.class_bias_.shape)}, the layout needs "
                f"({self.layout_.n_classes},)"
            )
        if self.sampler_.cond_dim:
            self.sampler_.set_mixture(tensors.pop("condition_mixture").cpu().numpy())
        state = {k.removeprefix("generator."): v for k, v in tensors.items()}
        self.generator_.load_state_dict(state, strict=True)

    def _check_sample(self) -> None:
        self.sample(16, seed=0)


def _condition_counts(counts, classes: int) -> np.ndarray:
    """The model file's class counts: ``classes`` non-negative integers."""
    if not isinstance(counts, list) or not all(
        isinstance(c, int) and not isinstance(c, bool) and 0 <= c < 2**53 for c in counts
    ):
        raise ValueError("condition_counts must be a list of non-negative integers")
    if len(counts) != classes:
        raise ValueError(f"condition_counts has {len(counts)} entries, the layout has {classes}")
    return np.asarray(counts, dtype="int64")
