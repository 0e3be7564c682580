"""DoppelGANger (Lin et al. 2020): a GAN for sets of variable-length multivariate time series.

Data flow: ``Sequences.from_long`` splits the long frame into one attribute row per entity and
padded feature arrays; a ``TableTransformer`` encodes the attributes exactly as the tabular
model encodes columns; ``StepFeatureEncoder`` encodes the features per step (per-entity
min/max scaling, whose midpoints and half-ranges become generated "additional attributes").
``SequenceGenerator`` generates all three; ``Trainer`` trains it against a critic on everything
and an auxiliary critic on the (additional) attributes alone (WGAN-GP). Sampling runs the chain
backwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..conditions import parse_conditions, rows_matching, too_rare
from ..estimator import Synthesizer
from ..metadata import Metadata, as_metadata, validated_metadata
from ..persistence import model_kind
from ..privacy.preprocessing import private_metadata
from ..transform import TableTransformer
from .config import TimeSeriesConfig
from .features import StepFeatureEncoder
from .networks import SequenceGenerator
from .private_fit import fit_private
from .sequences import Sequences
from .trainer import Trainer

_SAMPLE_BATCH = 1_000


@model_kind("timeseries")
class DoppelGANger(Synthesizer):
    """Time-series GAN: learns entities (static attributes + variable-length sequences).

    >>> model = DoppelGANger(epochs=200, seed=0).fit(df, entity="id", time="ts")  # doctest: +SKIP
    >>> model.sample(100)  # a long frame like df  # doctest: +SKIP
    """

    config_class = TimeSeriesConfig
    fit_call = "fit(df, ...)"

    # ---- fit ----------------------------------------------------------------------------
    def fit(
        self,
        data: pd.DataFrame,
        entity: str,
        time: str,
        attributes: list[str] | None = None,
        window: int | None = None,
        metadata: Metadata | Mapping | str | Path | None = None,
        *,
        on_epoch: Callable[[int, dict | None], None] | None = None,
    ) -> DoppelGANger:
        """Learn the long frame ``data`` (one row per entity and time step).

        ``attributes``: the static columns (None: every column constant within every entity);
        the other columns are the time-varying features. ``window=L``: ``data`` is one long
        series without an entity column, cut into sequences of ``L`` rows (see
        ``Sequences.from_long``). ``metadata`` overrides the detected column kinds.
        ``on_epoch(epoch, record)`` is called as each epoch starts (record None) and ends.
        """
        started = self.clock()
        if self.config.dp is not None:
            return self._fit_private(data, entity, time, attributes, window, metadata, on_epoch)
        seq = Sequences.from_long(data, entity, time, attributes, window)
        kinds = validated_metadata(metadata, data).columns
        cfg = self.config.resolved(len(seq.entities), seq.max_len)
        rng = self._begin_fit(cfg)
        self.privacy_ = None
        with self._seeded(rng):
            self._learn_schema(seq, kinds, rng)
            attr = self._encode_attributes(seq.attributes, rng)
            features, additional = self.features_.encode(seq)
            self._build()
            trainer = Trainer(self.generator_, cfg, (attr, additional, features), rng, self.device_)
            trainer.run(self._epochs(cfg, started, on_epoch))
            self._critic = trainer.D  # kept for the audit's white-box score; never saved
        return self

    def _fit_private(self, data, entity, time, attributes, window, metadata, on_epoch):
        """The fit under ``config.dp``: see ``private_fit``; ``privacy_`` says what it spent.
        Column kinds come from the dtypes and the metadata, never from the values, and the
        attributes are the ones named (None: no attributes)."""
        started = self.clock()
        kinds = private_metadata(data, None if metadata is None else as_metadata(metadata))
        seq = Sequences.from_long(data, entity, time, attributes or [], window)
        if len(seq.entities) < 2:
            raise ValueError(f"data has {len(seq.entities)} entities; a DP fit needs at least 2")
        cfg = self.config.resolved(len(seq.entities), seq.max_len)
        rng = self._begin_fit(cfg)
        with self._seeded(rng):
            self.privacy_ = fit_private(
                self, seq, kinds.columns, cfg, rng, self._epochs(cfg, started, on_epoch), window
            )
        return self

    def _learn_schema(self, seq: Sequences, kinds: dict, rng: np.random.Generator) -> None:
        """Everything sampling needs to write the long frame back, besides the networks."""
        cfg = self.config_
        self.schema_ = {
            "entity": seq.entity,
            "time": seq.time,
            "columns": seq.columns,
            "attributes": list(seq.attributes.columns),
            "dtypes": seq.dtypes,
            # New integer ids continue after the largest real one (like id columns).
            "entity_start": (
                int(seq.entities.max()) + 1
                if pd.api.types.is_integer_dtype(seq.entities.dtype)
                else 0
            ),
            # Percentiles of the real start times, not the starts themselves: the model file
            # must not carry one real value per entity.
            "start_quantiles": _start_percentiles(seq.starts),
            "step": int(round(float(np.nanmedian(seq.steps)))),
            "min_len": int(seq.lengths.min()),
            "max_len": seq.max_len,
        }
        self.attribute_transformer_ = None
        if len(seq.attributes.columns):
            meta = Metadata({c: kinds[c] for c in seq.attributes.columns})
            self.attribute_transformer_ = TableTransformer(
                meta, max_modes=cfg.max_modes, seed=int(rng.integers(2**31))
            ).fit(seq.attributes)
        self.features_ = StepFeatureEncoder().fit(seq, kinds, cfg.auto_normalize)

    def _encode_attributes(self, frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        if self.attribute_transformer_ is None:
            return np.zeros((len(frame), 0), "float32")
        return self.attribute_transformer_.transform(frame, rng)

    def _build(self) -> None:
        cfg, tt = self.config_, self.attribute_transformer_
        self.generator_ = SequenceGenerator(
            tt.layout_ if tt is not None else [],
            self.features_.additional_layout_,
            self.features_.layout_,
            max_len=self.schema_["max_len"],
            min_len=self.schema_["min_len"],
            sample_len=cfg.sample_len,
            attribute_noise_dim=cfg.attribute_noise_dim,
            feature_noise_dim=cfg.feature_noise_dim,
            attribute_dims=cfg.attribute_dims,
            feature_hidden=cfg.feature_hidden,
            feature_layers=cfg.feature_layers,
        ).to(self.device_)

    # ---- sample -------------------------------------------------------------------------
    def sample(
        self,
        n_entities: int,
        attributes: Mapping[str, object] | None = None,
        seed: int | None = None,
        batch_size: int = _SAMPLE_BATCH,
    ) -> pd.DataFrame:
        """``n_entities`` new entities as a long frame with the columns and dtypes of the data.

        ``attributes={"col": value}``: every entity holds those attribute values. The attribute
        rows are generated and filtered (rejection) *before* the features are generated for the
        accepted ones: the filter costs one small MLP pass per candidate, and the attributes
        keep their learned joint distribution (fixing one column's one-hot would pair it with
        other columns' values it never occurs with).
        """
        return pd.concat(
            list(self.iter_samples(n_entities, attributes, seed, batch_size)), ignore_index=True
        )

    def sample_to(
        self,
        path: str | Path,
        n_entities: int,
        attributes: Mapping[str, object] | None = None,
        seed: int | None = None,
        batch_size: int = _SAMPLE_BATCH,
        first_id: int = 0,
    ) -> int:
        """Stream ``n_entities`` entities to a CSV/Parquet file, ``batch_size`` at a time (memory
        does not grow with n); the file appears only when done. The rows written."""
        from ..io import TableWriter

        with TableWriter(path) as writer:
            for frame in self.iter_samples(n_entities, attributes, seed, batch_size, first_id):
                writer.write(frame)
        return writer.rows

    def iter_samples(
        self,
        n_entities: int,
        attributes: Mapping[str, object] | None = None,
        seed: int | None = None,
        batch_size: int = _SAMPLE_BATCH,
        first_id: int = 0,
    ) -> Iterator[pd.DataFrame]:
        """Long frames of at most ``batch_size`` entities each, ``n_entities`` in all, with
        entity ids running on across them from ``first_id`` after the model's first. The rows
        depend on the seed and on ``batch_size``."""
        self._check_fitted()
        if isinstance(n_entities, bool) or not isinstance(n_entities, int | np.integer):
            raise ValueError(f"n_entities must be a non-negative integer, got {n_entities!r}")
        if n_entities < 0:
            raise ValueError(f"n_entities must be a non-negative integer, got {n_entities!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        wanted = self._parse_conditions(attributes or {})
        rng = np.random.default_rng(seed)
        gen = torch.Generator(device=self.device_)
        gen.manual_seed(int(rng.integers(2**63)))
        cfg, G = self.config_, self.generator_
        made = candidates = 0
        G.eval()
        try:
            while made < n_entities or made == candidates == 0:  # n=0: one empty frame
                b = batch_size if wanted else min(batch_size, n_entities - made)
                with torch.no_grad():
                    a = G.generate_attributes(b, cfg.gumbel_tau, gen)
                    frame = self._decode_attributes(a, rng)
                    candidates += max(b, 1)
                    if wanted:
                        keep = rows_matching(frame, wanted)
                        keep[np.flatnonzero(keep)[n_entities - made :]] = False
                        a = a[torch.from_numpy(keep).to(self.device_)]
                        frame = frame[keep].reset_index(drop=True)
                    x, f, lengths = G(a, cfg.gumbel_tau, gen)
                    part = (x.cpu().numpy(), f.cpu().numpy(), lengths.cpu().numpy())
                if len(frame) or made == 0 == n_entities:
                    yield self._to_long(frame, part, rng, offset=first_id + made)
                made += len(frame)
                if made < n_entities and wanted and too_rare(made, candidates, n_entities, 20_000):
                    raise ValueError(
                        f"attributes {wanted} are too rare for this model: {made} of "
                        f"{n_entities} entities matched after {candidates} generated; "
                        "ask for fewer entities or relax the conditions"
                    )
                if n_entities == 0:
                    break
        finally:
            G.train()

    def _decode_attributes(self, encoded: torch.Tensor, rng) -> pd.DataFrame:
        if self.attribute_transformer_ is None:
            return pd.DataFrame(index=range(len(encoded)))
        return self.attribute_transformer_.inverse_transform(encoded.cpu().numpy(), rng)

    def _to_long(
        self, attr_frame: pd.DataFrame, part, rng: np.random.Generator, offset: int = 0
    ) -> pd.DataFrame:
        """Generated entities as a long frame; their ids start ``offset`` after the first."""
        schema = self.schema_
        entity, time_col = schema["entity"], schema["time"]
        additional, features, lengths = part
        n = len(lengths)
        width = features.shape[1]
        # Time: a start drawn from the real starts, then the median real step.
        starts = _draw_starts(schema["start_quantiles"], schema["step"], n, rng)
        times = starts[:, None] + np.arange(width, dtype="int64")[None, :] * schema["step"]
        first = schema["entity_start"] + offset
        ids = np.arange(first, first + n)
        entity_dtype = schema["dtypes"][entity]
        if not entity_dtype["dtype"].startswith(("int", "uint", "Int", "UInt")):
            ids = np.array([f"syn-{i}" for i in ids], dtype=object)
            if not entity_dtype["dtype"].startswith("string"):
                entity_dtype = {"dtype": "object"}
        seq = Sequences(
            entity=entity,
            time=time_col,
            columns=schema["columns"],
            entities=ids,
            attributes=attr_frame,
            features=self.features_.decode(features, additional, lengths),
            times=times,
            lengths=lengths.astype("int64"),
            dtypes={**schema["dtypes"], entity: entity_dtype},
        )
        return seq.to_long()

    def _parse_conditions(self, conditions: Mapping[str, object]) -> dict:
        if not isinstance(conditions, Mapping):
            raise TypeError("attributes must be a dict of attribute column -> value")
        for column in conditions:
            if column not in self.schema_["attributes"]:
                raise ValueError(
                    f"cannot condition on {column!r}: only attributes (static columns) can be "
                    f"fixed; attributes: {self.schema_['attributes']}"
                )
        return parse_conditions(self.attribute_transformer_, conditions) if conditions else {}

    # ---- model file ---------------------------------------------------------------------
    def _header(self) -> dict:
        tt = self.attribute_transformer_
        return {
            "schema": self.schema_,
            "attribute_transformer": None if tt is None else tt.to_dict(),
            "features": self.features_.to_dict(),
            "privacy": self.privacy_,
        }

    def _tensors(self) -> dict[str, torch.Tensor]:
        return dict(self.generator_.state_dict())

    def _restore(self, header: dict, tensors: dict[str, torch.Tensor]) -> None:
        self.schema_ = header["schema"]
        tt = header["attribute_transformer"]
        self.attribute_transformer_ = None if tt is None else TableTransformer.from_dict(tt)
        self.features_ = StepFeatureEncoder.from_dict(header["features"])
        # Files from before DP for time series have no privacy block: trained without DP.
        self.privacy_ = header.get("privacy")
        if self.privacy_ is not None and not isinstance(self.privacy_, dict):
            raise ValueError(f"privacy must be an object or null, got {self.privacy_!r}")
        self._build()
        self.generator_.load_state_dict(tensors, strict=True)

    def _check_sample(self) -> None:
        self.sample(2, seed=0)


def _start_percentiles(starts: np.ndarray, k: int = 101) -> list[int]:
    """``k`` evenly spaced percentiles of the start ticks (exact int64: ns timestamps)."""
    ordered = np.sort(starts.astype("int64"))
    return ordered[np.linspace(0, len(ordered) - 1, k).round().astype(int)].tolist()


def _draw_starts(quantiles: list[int], step: int, n: int, rng: np.random.Generator):
    """Start ticks drawn between the stored percentiles, on the data's own step grid."""
    q = np.asarray(quantiles, "int64")
    low = rng.integers(0, len(q) - 1, n) if len(q) > 1 else np.zeros(n, int)
    high = np.minimum(low + 1, len(q) - 1)
    span = (q[high] - q[low]).astype("float64")
    starts = q[low] + (rng.random(n) * span).astype("int64")
    if step > 0:
        starts = q[0] + (starts - q[0]) // step * step
    return starts
