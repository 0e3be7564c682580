"""DoppelGANger (Lin et al. 2020): a GAN for sets of variable-length multivariate time series.

Data flow: ``Sequences.from_long`` splits the long frame into one attribute row per entity and
padded feature arrays; a ``TableTransformer`` encodes the attributes exactly as the tabular
model encodes columns; ``FeatureEncoder`` encodes the features per step (per-entity min/max
scaling, whose midpoints and half-ranges become generated "additional attributes").
``SequenceGenerator`` generates all three; a critic on everything and an auxiliary critic on
the (additional) attributes alone train it with WGAN-GP. Sampling runs the chain backwards.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..device import resolve_device
from ..metadata import Metadata, is_null, parse_value, resolve_metadata
from ..persistence import ModelFileError, load_model_file, save_model
from ..training import WeightAverage, over_budget
from ..transform import TableTransformer
from ..transform.categorical import CategoricalTransform
from .config import TimeSeriesConfig
from .data import FeatureEncoder, Sequences
from .networks import Critic, SequenceGenerator

_SAMPLE_BATCH = 1_000


class DoppelGANger:
    """Time-series GAN: learns entities (static attributes + variable-length sequences).

    >>> model = DoppelGANger(epochs=200, seed=0).fit(df, entity="id", time="ts")  # doctest: +SKIP
    >>> model.sample(100)  # a long frame like df  # doctest: +SKIP
    """

    def __init__(self, config: TimeSeriesConfig | None = None, **overrides) -> None:
        if config is not None and not isinstance(config, TimeSeriesConfig):
            raise TypeError(f"config must be a TimeSeriesConfig, got {type(config).__name__}")
        base = config or TimeSeriesConfig()
        try:
            self.config = replace(base, **overrides) if overrides else base
        except TypeError as exc:
            raise TypeError(f"unknown DoppelGANger option: {exc}") from None

    # ---- fit ----------------------------------------------------------------------------
    def fit(
        self,
        data: pd.DataFrame,
        entity: str,
        time: str,
        attributes: list[str] | None = None,
        window: int | None = None,
        metadata: Metadata | Mapping | str | Path | None = None,
    ) -> DoppelGANger:
        """Learn the long frame ``data`` (one row per entity and time step).

        ``attributes``: the static columns (None: every column constant within every entity);
        the other columns are the time-varying features. ``window=L``: ``data`` is one long
        series without an entity column, cut into sequences of ``L`` rows (see
        ``Sequences.from_long``). ``metadata`` overrides the detected column kinds.
        """
        started = _now()
        seq = Sequences.from_long(data, entity, time, attributes, window)
        kinds = resolve_metadata(metadata, data).columns
        cfg = self.config.resolved(len(seq.entities), seq.max_len)
        self.config_ = cfg
        self.device_ = resolve_device(cfg.device)
        rng = np.random.default_rng(cfg.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(rng.integers(2**31)))
            self._learn_schema(seq, kinds, rng)
            attr = self._encode_attributes(seq.attributes, rng)
            features, additional = self.features_.encode(seq)
            self._setup(cfg)
            self._train(cfg, attr, additional, features, rng, started)
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
        self.features_ = FeatureEncoder().fit(seq, kinds, cfg.auto_normalize)

    def _encode_attributes(self, frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        if self.attribute_transformer_ is None:
            return np.zeros((len(frame), 0), "float32")
        return self.attribute_transformer_.transform(frame, rng)

    def _setup(self, cfg: TimeSeriesConfig) -> None:
        tt = self.attribute_transformer_
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

    def _train(self, cfg, attr, additional, features, rng: np.random.Generator, started: float):
        dev = self.device_
        real_all = [torch.from_numpy(x).float().to(dev) for x in (attr, additional, features)]
        n, b = len(attr), cfg.batch_size
        G = self.generator_
        static_dim = G.attribute_dim + G.additional_dim
        steps, dim = features.shape[1], features.shape[2]
        diff = cfg.difference_weight
        D = Critic(static_dim + (steps + (steps - 1) * (diff > 0)) * dim, cfg.discriminator_dims)
        D_aux = Critic(static_dim, cfg.aux_discriminator_dims) if static_dim else None
        critics = [D] + ([D_aux] if D_aux is not None else [])
        for c in critics:
            c.to(dev)
        opt_g = torch.optim.Adam(G.parameters(), lr=cfg.generator_lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(
            [p for c in critics for p in c.parameters()],
            lr=cfg.discriminator_lr,
            betas=(0.5, 0.999),
        )
        alpha, gp = cfg.aux_weight, cfg.gradient_penalty

        def withdiff(parts):  # the critic also sees each step's change, scaled up
            if not diff:
                return parts
            f = parts[2]
            # Within the sequence only: the drop to the zero padding is no change of the data
            # (scaled up, it would drown the length in the critic's input).
            alive = (f[:, 1:, -2] + f[:, 1:, -1])[..., None]
            return [*parts, diff * (f[:, 1:] - f[:, :-1]) * alive]

        def score(parts):  # loss weight: main critic + alpha * auxiliary critic (static parts)
            out = D(*parts).mean()
            return out + alpha * D_aux(*parts[:2]).mean() if D_aux is not None else out

        average = WeightAverage(G, cfg.ema_decay) if cfg.ema_decay else None
        self.history_ = []
        bar = tqdm(range(cfg.epochs), desc="fit", disable=not cfg.verbose)
        for epoch in bar:
            epoch_started = _now()
            sum_g = torch.zeros((), device=dev)  # summed on the device: no sync per step
            sum_d = torch.zeros((), device=dev)
            order = rng.permutation(n)
            steps = max(1, n // b)
            for k in range(steps):
                idx = torch.from_numpy(order[k * b : (k + 1) * b]).to(dev)
                real = [x[idx] for x in real_all]
                fa = G.generate_attributes(b, cfg.gumbel_tau)
                fb, ff, _ = G(fa, cfg.gumbel_tau)
                fake = [fa, fb, ff]
                detached = [x.detach() for x in fake]
                real, detached = withdiff(real), withdiff(detached)  # once per step
                loss_d = score(detached) - score(real)
                penalty = D.gradient_penalty(real, detached, gp)
                if D_aux is not None:
                    penalty = penalty + alpha * D_aux.gradient_penalty(real[:2], detached[:2], gp)
                opt_d.zero_grad(set_to_none=True)
                (loss_d + penalty).backward()
                opt_d.step()
                for c in critics:
                    c.requires_grad_(False)
                loss_g = -score(withdiff(fake))
                for c in critics:
                    c.requires_grad_(True)
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                opt_g.step()
                if average is not None:
                    average.update(G)
                sum_g += loss_g.detach()
                sum_d += loss_d.detach()
            record = {
                "epoch": epoch + 1,
                "generator_loss": float(sum_g) / steps,
                "discriminator_loss": float(sum_d) / steps,
                "seconds": round(_now() - started, 3),
            }
            self.history_.append(record)
            bar.set_postfix(
                g=f"{record['generator_loss']:.3f}", d=f"{record['discriminator_loss']:.3f}"
            )
            if over_budget(started, epoch_started, cfg.max_seconds):
                break
        bar.close()
        if average is not None:
            average.copy_to(G)
        self.epochs_trained_ = len(self.history_)

    # ---- sample -------------------------------------------------------------------------
    def sample(
        self,
        n_entities: int,
        attributes: Mapping[str, object] | None = None,
        seed: int | None = None,
    ) -> pd.DataFrame:
        """``n_entities`` new entities as a long frame with the columns and dtypes of the data.

        ``attributes={"col": value}``: every entity holds those attribute values. The attribute
        rows are generated and filtered (rejection) *before* the features are generated for the
        accepted ones: the filter costs one small MLP pass per candidate, and the attributes
        keep their learned joint distribution (fixing one column's one-hot would pair it with
        other columns' values it never occurs with).
        """
        self._check_fitted()
        if isinstance(n_entities, bool) or not isinstance(n_entities, int | np.integer):
            raise ValueError(f"n_entities must be a non-negative integer, got {n_entities!r}")
        if n_entities < 0:
            raise ValueError(f"n_entities must be a non-negative integer, got {n_entities!r}")
        wanted = self._parse_conditions(attributes or {})
        rng = np.random.default_rng(seed)
        gen = torch.Generator(device=self.device_)
        gen.manual_seed(int(rng.integers(2**63)))
        cfg, G = self.config_, self.generator_
        attr_frames, parts, made, candidates = [], [], 0, 0
        G.eval()
        try:
            with torch.no_grad():
                while not parts or made < n_entities:  # n_entities=0: one empty batch
                    b = _SAMPLE_BATCH if wanted else min(_SAMPLE_BATCH, n_entities - made)
                    a = G.generate_attributes(b, cfg.gumbel_tau, gen)
                    frame = self._decode_attributes(a, rng)
                    candidates += b
                    if wanted:
                        keep = self._matches(frame, wanted)
                        keep[np.flatnonzero(keep)[n_entities - made :]] = False
                        a = a[torch.from_numpy(keep).to(self.device_)]
                        frame = frame[keep].reset_index(drop=True)
                    x, f, lengths = G(a, cfg.gumbel_tau, gen)
                    attr_frames.append(frame)
                    parts.append((x.cpu().numpy(), f.cpu().numpy(), lengths.cpu().numpy()))
                    made += len(frame)
                    if made < n_entities and wanted and candidates >= max(50 * n_entities, 20_000):
                        raise ValueError(
                            f"attributes {wanted} are too rare for this model: {made} of "
                            f"{n_entities} entities matched after {candidates} generated; "
                            "ask for fewer entities or relax the conditions"
                        )
        finally:
            G.train()
        return self._to_long(attr_frames, parts, rng)

    @staticmethod
    def _matches(frame: pd.DataFrame, wanted: dict) -> np.ndarray:
        keep = np.ones(len(frame), dtype=bool)
        for column, value in wanted.items():
            s = frame[column]
            keep &= (
                s.isna().to_numpy()
                if is_null(value)
                else (s == value).fillna(False).to_numpy(dtype=bool)
            )
        return keep

    def _decode_attributes(self, encoded: torch.Tensor, rng) -> pd.DataFrame:
        if self.attribute_transformer_ is None:
            return pd.DataFrame(index=range(len(encoded)))
        return self.attribute_transformer_.inverse_transform(encoded.cpu().numpy(), rng)

    def _to_long(self, attr_frames, parts, rng: np.random.Generator) -> pd.DataFrame:
        schema = self.schema_
        entity, time_col = schema["entity"], schema["time"]
        additional, features, lengths = (np.concatenate(p) for p in zip(*parts, strict=True))
        n = len(lengths)
        width = features.shape[1]
        # Time: a start drawn from the real starts, then the median real step.
        starts = _draw_starts(schema["start_quantiles"], schema["step"], n, rng)
        times = starts[:, None] + np.arange(width, dtype="int64")[None, :] * schema["step"]
        ids = np.arange(schema["entity_start"], schema["entity_start"] + n)
        entity_dtype = schema["dtypes"][entity]
        if not entity_dtype["dtype"].startswith(("int", "uint", "Int", "UInt")):
            ids = np.array([f"syn-{i}" for i in ids], dtype=object)
            if not entity_dtype["dtype"].startswith("string"):
                entity_dtype = {"dtype": "object"}
        attr_frame = pd.concat(attr_frames, ignore_index=True)
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
        tt, out = self.attribute_transformer_, {}
        for column, value in conditions.items():
            if column not in self.schema_["attributes"]:
                raise ValueError(
                    f"cannot condition on {column!r}: only attributes (static columns) can be "
                    f"fixed; attributes: {self.schema_['attributes']}"
                )
            kind = tt.metadata_.columns[column]
            value = parse_value(value, kind, column)
            t = tt.transform_of(column)
            if isinstance(t, CategoricalTransform):
                t.codes_of([value])  # raises, naming the column, for a value never seen
            out[column] = value
        return out

    # ---- persistence --------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write weights and JSON header to one safe file (see ``syngen.persistence``)."""
        self._check_fitted()
        tt = self.attribute_transformer_
        header = {
            "kind": "timeseries",
            "config": self.config_.to_dict(),
            "schema": self.schema_,
            "attribute_transformer": None if tt is None else tt.to_dict(),
            "features": self.features_.to_dict(),
            "history": self.history_,
        }
        save_model(path, header, dict(self.generator_.state_dict()))

    @classmethod
    def load(cls, path: str | Path) -> DoppelGANger:
        header, tensors = load_model_file(path)
        if header.get("kind") != "timeseries":
            raise ModelFileError(
                f"{path}: holds a {header.get('kind')!r} model, not a timeseries one"
            )
        return cls._from_file(header, tensors)

    @classmethod
    def _from_file(cls, header: dict, tensors: dict) -> DoppelGANger:
        try:
            cfg = TimeSeriesConfig.from_dict(header["config"])
            self = cls(cfg)
            self.config_ = cfg
            self.device_ = resolve_device(cfg.device, loading=True)
            self.schema_ = header["schema"]
            tt = header["attribute_transformer"]
            self.attribute_transformer_ = None if tt is None else TableTransformer.from_dict(tt)
            self.features_ = FeatureEncoder.from_dict(header["features"])
            self.history_ = header.get("history", [])
            self.epochs_trained_ = len(self.history_)
            self._setup(cfg)
            self.generator_.load_state_dict(tensors, strict=True)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ModelFileError(f"model file is inconsistent or corrupt: {exc}") from exc
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "generator_"):
            raise RuntimeError("this DoppelGANger is not fitted yet; call fit(df, ...) first")

    def __repr__(self) -> str:
        state = (
            f"fitted, {self.epochs_trained_} epochs" if hasattr(self, "generator_") else "unfitted"
        )
        return f"DoppelGANger({state})"


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


def _now() -> float:
    return time.perf_counter()
