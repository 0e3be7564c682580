"""Time-series scores: do synthetic entities move like real ones?

The TimeGAN metrics (Yoon et al. 2019) plus the DoppelGANger ones (Lin et al. 2020):

- discriminative score: a 2-layer GRU trained to tell real from synthetic sequences,
  |accuracy - 0.5| on sequences it did not train on (0 is best);
- predictive score: a 2-layer GRU trained on synthetic sequences to predict the next step,
  mean absolute error on real sequences, next to the same model trained on real ones;
- autocorrelation (lags 1-10) and cross-feature correlation distances, the length
  distribution's KS distance, the tabular quality report on the per-entity attributes, and the
  attribute-to-feature dependence (Cramér's V between each attribute and each feature's
  per-entity mean).

Features are scaled to [0, 1] by the real data's min and max (categorical features one-hot,
nulls and padding 0), as the TimeGAN protocol does, so MAE is in those units.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..metadata import Metadata
from ..timeseries.sequences import Sequences
from .features import NULL_LABEL, as_labels
from .fidelity import association_matrix, quality_details

MAX_LAG = 10
_MAX_STEPS = 256  # longer sequences are cut for the GRU scores (noted in the output)


class SeriesEncoder:
    """Sequences -> (n, T, d) float32 in [0, 1] with lengths, fitted on the real sequences."""

    def fit(self, seq: Sequences, max_levels: int = 10) -> SeriesEncoder:
        self.numeric_, self.range_, self.levels_ = [], {}, {}
        for name, arr in seq.features.items():
            if arr.dtype.kind == "f":
                lo, hi = np.nanmin(arr), np.nanmax(arr)
                self.numeric_.append(name)
                self.range_[name] = (float(lo), float(hi) if hi > lo else float(lo) + 1.0)
            else:
                labels = pd.Series(as_labels(pd.Series(arr.ravel())))
                counts = labels[labels != NULL_LABEL].value_counts()
                self.levels_[name] = list(counts.index[:max_levels])
        return self

    def transform(self, seq: Sequences, steps: int) -> tuple[np.ndarray, np.ndarray]:
        blocks = []
        for name in self.numeric_:
            lo, hi = self.range_[name]
            x = (seq.features[name][:, :steps] - lo) / (hi - lo)
            blocks.append(np.nan_to_num(np.clip(x, 0, 1))[..., None])
        for name, levels in self.levels_.items():
            arr = seq.features[name][:, :steps]
            labels = as_labels(pd.Series(arr.ravel()))  # nulls and padding: no level
            codes = pd.Index(levels, dtype=object).get_indexer(labels).reshape(arr.shape)
            onehot = np.zeros((*arr.shape, len(levels)), "float32")
            hit = codes >= 0
            onehot[hit, codes[hit]] = 1.0
            blocks.append(onehot)
        x = np.concatenate(blocks, axis=2).astype("float32")
        if x.shape[1] < steps:
            x = np.pad(x, ((0, 0), (0, steps - x.shape[1]), (0, 0)))
        lengths = np.minimum(seq.lengths, steps)
        x[np.arange(steps)[None, :] >= lengths[:, None]] = 0.0
        return x, lengths


class _GRU(nn.Module):
    def __init__(self, dim: int, hidden: int, out: int) -> None:
        super().__init__()
        self.rnn = nn.GRU(dim, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, out)

    @classmethod
    def seeded(cls, dim: int, out: int, seed: int) -> _GRU:
        """Same initial weights for the same seed, without touching the global torch RNG."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return cls(dim, max(8, dim // 2), out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x)[0])


def _fit(model: nn.Module, loss_of, n: int, iterations: int, batch: int, gen: torch.Generator):
    # 5e-3 rather than TimeGAN's 1e-3: the same verdicts in a third of the iterations.
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    for _ in range(iterations):
        idx = torch.randint(0, n, (min(batch, n),), generator=gen)
        opt.zero_grad(set_to_none=True)
        loss_of(idx).backward()
        opt.step()
    return model


def discriminative_score(
    real: tuple[np.ndarray, np.ndarray],
    synthetic: tuple[np.ndarray, np.ndarray],
    seed: int = 0,
    iterations: int = 1000,
) -> float:
    """|accuracy - 0.5| of a GRU telling real from synthetic on held-out sequences (80/20)."""
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    m = min(len(real[0]), len(synthetic[0]))
    parts = []
    for label, (x, lengths) in ((1.0, real), (0.0, synthetic)):
        pick = rng.choice(len(x), m, replace=False)
        parts.append((x[pick], lengths[pick], np.full(m, label, "float32")))
    x, lengths, y = (np.concatenate(p) for p in zip(*parts, strict=True))
    order = rng.permutation(len(x))
    cut = int(0.8 * len(x))
    train, test = order[:cut], order[cut:]
    xt, lt, yt = (torch.from_numpy(a) for a in (x, lengths.astype("int64"), y))
    model = _GRU.seeded(x.shape[2], 1, seed)

    def logits(rows: torch.Tensor) -> torch.Tensor:
        out = model(xt[rows])  # the state after each sequence's last real step
        return out[torch.arange(len(rows)), lt[rows] - 1, 0]

    train_t = torch.from_numpy(train)
    loss = nn.BCEWithLogitsLoss()
    _fit(
        model, lambda i: loss(logits(train_t[i]), yt[train_t[i]]), len(train), iterations, 128, gen
    )
    with torch.no_grad():
        pred = logits(torch.from_numpy(test)) > 0
    accuracy = float((pred.numpy() == (y[test] > 0.5)).mean())
    return abs(accuracy - 0.5)


def predictive_mae(
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    seed: int = 0,
    iterations: int = 1000,
) -> float:
    """MAE on ``test`` of a GRU trained on ``train`` to predict each next step."""
    gen = torch.Generator().manual_seed(seed)
    model = _GRU.seeded(train[0].shape[2], train[0].shape[2], seed)

    def mae(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        pred = torch.sigmoid(model(x[:, :-1]))
        valid = torch.arange(1, x.shape[1])[None, :] < lengths[:, None]
        err = (pred - x[:, 1:]).abs().mean(dim=2)
        return (err * valid).sum() / valid.sum().clamp(min=1)

    x, lengths = (torch.from_numpy(a) for a in (train[0], train[1].astype("int64")))
    _fit(model, lambda i: mae(x[i], lengths[i]), len(x), iterations, 128, gen)
    with torch.no_grad():
        xt, lt = (torch.from_numpy(a) for a in (test[0], test[1].astype("int64")))
        return float(mae(xt, lt))


def autocorrelation(arr: np.ndarray, lengths: np.ndarray, max_lag: int = MAX_LAG) -> np.ndarray:
    """Pooled autocorrelation at lags 1..max_lag of one numeric feature (n, T), each entity's
    own mean removed; NaN where no entity is long enough."""
    x = arr.astype("float64").copy()
    x[np.arange(x.shape[1])[None, :] >= lengths[:, None]] = np.nan
    x = x - np.nanmean(x, axis=1, keepdims=True) if x.size else x
    var = np.nansum(x**2)
    out = np.full(max_lag, np.nan)
    for lag in range(1, min(max_lag, x.shape[1] - 1) + 1):
        prod = x[:, lag:] * x[:, :-lag]
        if np.isfinite(prod).any() and var > 0:
            out[lag - 1] = np.nansum(prod) / var
    return out


def _steps_as_integers(synthetic: pd.DataFrame, real: pd.DataFrame, time: str) -> pd.DataFrame:
    """Integer steps that another tool wrote as floats (0.0, 1.0, ...) read as integers."""
    t = synthetic.get(time)
    if (
        t is not None
        and pd.api.types.is_integer_dtype(real[time])
        and pd.api.types.is_float_dtype(t)
        and t.notna().all()
        and (t == t.round()).all()
    ):
        return synthetic.assign(**{time: t.astype("int64")})
    return synthetic


def series_scores(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    entity: str,
    time: str,
    attributes: list[str] | None = None,
    seed: int = 0,
    max_entities: int = 2_000,
    iterations: int = 1000,
    repeats: int = 3,
) -> tuple[dict[str, float | None], dict]:
    """The time-series scores and the data of their plots."""
    real_seq = Sequences.from_long(real, entity, time, attributes)
    attributes = list(real_seq.attributes.columns)
    syn_seq = Sequences.from_long(
        _steps_as_integers(synthetic, real, time), entity, time, attributes
    )
    missing = set(real_seq.features) - set(syn_seq.features)
    if missing:
        raise ValueError(f"synthetic lacks the time-varying columns {sorted(missing)}")
    rng = np.random.default_rng(seed)
    steps = min(max(real_seq.max_len, syn_seq.max_len), _MAX_STEPS)
    encoder = SeriesEncoder().fit(real_seq)
    real_x = _bounded(encoder.transform(real_seq, steps), max_entities, rng)
    syn_x = _bounded(encoder.transform(syn_seq, steps), max_entities, rng)

    scores: dict[str, float | None] = {}
    # One classifier's verdict swings by +-0.1 with its split and initial weights (TimeGAN
    # reports the mean of 10 runs); the mean of a few is what the score states.
    runs = [discriminative_score(real_x, syn_x, seed + k, iterations) for k in range(repeats)]
    scores["series.discriminative"] = float(np.mean(runs))
    # Predictive: both models are tested on the same 20% of the real sequences.
    order = rng.permutation(len(real_x[0]))
    cut = max(1, int(0.8 * len(order)))
    real_train = tuple(a[order[:cut]] for a in real_x)
    real_test = tuple(a[order[cut:]] for a in real_x) if cut < len(order) else real_train
    scores["series.predictive_mae"] = predictive_mae(syn_x, real_test, seed, iterations)
    scores["series.predictive_mae_real"] = predictive_mae(real_train, real_test, seed, iterations)

    from scipy.stats import ks_2samp

    ks = ks_2samp(real_seq.lengths, syn_seq.lengths, method="asymp")
    scores["series.length_ks"] = float(ks.statistic)
    acf, acf_dist = {}, []
    for name in encoder.numeric_:
        a_r = autocorrelation(real_seq.features[name], real_seq.lengths)
        a_s = autocorrelation(syn_seq.features[name], syn_seq.lengths)
        acf[name] = {"real": a_r, "synthetic": a_s}
        ok = np.isfinite(a_r) & np.isfinite(a_s)
        if ok.any():
            acf_dist.append(float(np.abs(a_r[ok] - a_s[ok]).mean()))
    scores["series.acf_distance"] = float(np.mean(acf_dist)) if acf_dist else None
    scores["series.cross_correlation_distance"] = _cross_correlation_distance(
        real_seq, syn_seq, encoder.numeric_
    )

    details: dict = {
        "steps_scored": steps,
        "entities_scored": [len(real_x[0]), len(syn_x[0])],
        "discriminative_runs": runs,
    }
    if attributes:
        kinds = Metadata.detect(real_seq.attributes).columns
        meta = Metadata(
            {c: ("categorical" if k in ("boolean", "id") else k) for c, k in kinds.items()}
        )
        quality, _ = quality_details(real_seq.attributes, syn_seq.attributes, meta)
        scores["series.attribute_quality"] = quality["quality"]
        scores["series.attribute_feature_dependence"] = _dependence(
            real_seq, syn_seq, attributes, encoder.numeric_, meta
        )
    details["acf"] = acf
    details["lengths"] = _length_histogram(real_seq.lengths, syn_seq.lengths)
    details["trajectories"] = _trajectories(real_seq, syn_seq, encoder.numeric_, rng)
    return scores, details


def _bounded(data: tuple[np.ndarray, np.ndarray], n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    if len(data[0]) <= n:
        return data
    pick = np.sort(rng.choice(len(data[0]), n, replace=False))
    return data[0][pick], data[1][pick]


def _steps_frame(seq: Sequences, numeric: list[str]) -> np.ndarray:
    valid = np.arange(seq.features[numeric[0]].shape[1])[None, :] < seq.lengths[:, None]
    return np.column_stack([seq.features[c][valid] for c in numeric])


def _cross_correlation_distance(real: Sequences, syn: Sequences, numeric: list[str]):
    if len(numeric) < 2:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        c_r = pd.DataFrame(_steps_frame(real, numeric)).corr().to_numpy()
        c_s = pd.DataFrame(_steps_frame(syn, numeric)).corr().to_numpy()
    upper = np.triu_indices(len(numeric), 1)
    diff = np.abs(np.nan_to_num(c_r[upper]) - np.nan_to_num(c_s[upper]))
    return float(diff.mean())


def _entity_table(seq: Sequences, attributes: list[str], numeric: list[str]) -> pd.DataFrame:
    means = {}
    with warnings.catch_warnings():  # an entity whose feature is all null: NaN, not a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        for c in numeric:
            means[f"mean of {c}"] = np.nanmean(seq.features[c], axis=1)
    return pd.concat(
        [seq.attributes[attributes].reset_index(drop=True), pd.DataFrame(means)], axis=1
    )


def _dependence(real, syn, attributes, numeric, meta: Metadata) -> float | None:
    """1 - mean |V_real - V_synthetic| over (attribute, feature mean) pairs."""
    if not numeric:
        return None
    table_r = _entity_table(real, attributes, numeric)
    table_s = _entity_table(syn, attributes, numeric)
    kinds = {**meta.columns, **{f"mean of {c}": "numerical" for c in numeric}}
    cols = list(table_r.columns)
    both = Metadata(kinds)
    v_r = association_matrix(table_r, cols, both, table_r)
    v_s = association_matrix(table_s, cols, both, table_r)
    k = len(attributes)
    return float(1 - np.abs(v_r[:k, k:] - v_s[:k, k:]).mean())


def _length_histogram(real: np.ndarray, syn: np.ndarray) -> dict:
    hi = int(max(real.max(), syn.max()))
    edges = np.linspace(0.5, hi + 0.5, min(hi, 40) + 1)
    return {
        "edges": edges,
        "real": np.histogram(real, edges)[0] / len(real),
        "synthetic": np.histogram(syn, edges)[0] / len(syn),
    }


def _trajectories(real: Sequences, syn: Sequences, numeric: list[str], rng, k: int = 5) -> dict:
    if not numeric:
        return {}
    name = numeric[0]

    def pick(seq: Sequences) -> list[list[float | None]]:
        rows = rng.choice(len(seq.lengths), min(k, len(seq.lengths)), replace=False)
        return [
            [None if np.isnan(v) else float(v) for v in seq.features[name][i, : seq.lengths[i]]]
            for i in rows
        ]

    return {"feature": name, "real": pick(real), "synthetic": pick(syn)}
