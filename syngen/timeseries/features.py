"""StepFeatureEncoder: DoppelGANger's encoding of the time-varying features, one vector per
time step, and of the per-entity scale ("additional attributes") it generates first."""

from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np
import pandas as pd

from ..transform import Span
from ..transform.base import from_json_scalar, to_json_scalar
from .sequences import Sequences, _no_nan_warning


@dataclass(frozen=True)
class FeatureRange:
    """What the data spans for one numeric feature: its values, and the per-entity midpoints
    ((max + min) / 2) and half-ranges ((max - min) / 2). Decoding clips to the value range."""

    value_lo: float
    value_hi: float
    mid_lo: float
    mid_hi: float
    half_lo: float
    half_hi: float


class StepFeatureEncoder:
    """DoppelGANger's encoding of the time-varying features, one vector per time step.

    * numeric: scaled to [-1, 1] (the tanh spans of ``OutputLayout``), either with the global
      min and max, or per entity with the entity's own min and max (the paper's
      auto-normalization), whose midpoint (max+min)/2 and half-range (max-min)/2 then become
      "additional attributes". Those go through their empirical quantiles onto [-1, 1], then
      onto their principal axes (``_Rotation``): levels over years are skewed (scaled linearly,
      half of eu_stock's windows sat in the bottom sixth of the range, and the generator piled
      them against the tanh's edge) and move together.
      ``per_entity=None`` chooses per column: per entity when the median entity spans less
      than half the column's range (levels that differ between entities: prices over years),
      global otherwise (sines of one amplitude), where pinning every sequence to touch -1 and
      +1 only makes the generator saturate its tanh. A column with nulls gets a 2-class null
      flag; the null steps hold the previous (else next) value of the entity.
    * categorical (and boolean): one-hot over the categories seen, null as a category.
    * the generation flag: 2 classes per step, [continue, stop]; "stop" on the last real step,
      all-zero vectors after it (the padding). When lengths vary, the length is also an
      additional attribute (one class per length seen between the shortest and the longest):
      the generator draws it with the other per-entity values and writes the flags from it, so
      the length distribution is learned like a categorical column, jointly with the
      attributes, by both critics.
    """

    def fit(
        self, seq: Sequences, kinds: dict[str, str], per_entity: bool | None = None
    ) -> StepFeatureEncoder:
        self.numeric_, self.categories_, self.nullable_, self.integer_ = [], {}, [], []
        self.per_entity_ = []
        self.min_len_, self.max_len_ = int(seq.lengths.min()), int(seq.lengths.max())
        self.ranges_: dict[str, FeatureRange] = {}
        self.quantiles_ = {}  # per-entity numeric name -> [mid quantiles, half quantiles]
        unit = []  # the per-entity (mid, half) columns through their quantiles
        self.dtypes_ = {name: seq.dtypes[name] for name in seq.features}
        for name, arr in seq.features.items():
            kind = kinds.get(name, "categorical")
            if kind in ("numerical", "integer"):
                if arr.dtype == object:  # declared numeric but not stored as numbers
                    raise ValueError(
                        f"feature {name!r} is declared {kind} but does not hold numbers; "
                        "convert it or declare it 'categorical'"
                    )
                lo, hi, _, _ = _entity_ranges(arr, seq.lengths)
                self.numeric_.append(name)
                if kind == "integer":
                    self.integer_.append(name)
                if np.isnan(arr[_valid(seq.lengths, arr.shape[1])]).any():
                    self.nullable_.append(name)
                mid, half = (hi + lo) / 2, (hi - lo) / 2
                spread = float(np.nanmax(hi) - np.nanmin(lo))
                if per_entity or (per_entity is None and np.median(hi - lo) < 0.5 * spread):
                    self.per_entity_.append(name)
                    self.quantiles_[name] = [_quantiles(mid), _quantiles(half)]
                    unit += [_to_unit(mid, self.quantiles_[name][0]),
                             _to_unit(half, self.quantiles_[name][1])]  # fmt: skip
                self.ranges_[name] = FeatureRange(
                    float(np.nanmin(lo)), float(np.nanmax(hi)),
                    float(np.nanmin(mid)), float(np.nanmax(mid)),
                    float(np.nanmin(half)), float(np.nanmax(half)),
                )  # fmt: skip
            elif kind in ("categorical", "boolean", "constant"):
                values = pd.Series(arr[_valid(seq.lengths, arr.shape[1])])
                cats = list(values.value_counts(dropna=True).index)
                self.categories_[name] = cats + ([None] if values.isna().any() else [])
            else:
                raise ValueError(
                    f"feature {name!r} is of kind {kind!r}, which DoppelGANger cannot model as a "
                    "time-varying feature; drop the column, convert it to numbers, or declare it "
                    "'categorical' in the metadata"
                )
        self.rotation_ = _Rotation.fit(np.stack(unit, 1)) if unit else None
        self._build_layout()
        return self

    def _build_layout(self) -> None:
        spans, start = [], 0

        def add(column, width, activation, role):
            nonlocal start
            spans.append(Span(column, start, width, activation, role))
            start += width

        for name in self.numeric_:
            add(name, 1, "tanh", "value")
            if name in self.nullable_:
                add(name, 2, "softmax", "null")
        for name, cats in self.categories_.items():
            add(name, len(cats), "softmax", "category")
        add("<generation flag>", 2, "softmax", "flag")
        self.layout_ = spans
        self.dim_ = start
        self.additional_layout_ = [
            Span(f"{name}:{part}", 2 * i + j, 1, "tanh", "value")
            for i, name in enumerate(self.per_entity_)
            for j, part in enumerate(("mid", "half"))
        ]
        if self.max_len_ > self.min_len_:
            width = self.max_len_ - self.min_len_ + 1
            self.additional_layout_.append(
                Span("<length>", 2 * len(self.per_entity_), width, "softmax", "category")
            )

    @property
    def additional_dim(self) -> int:
        return sum(s.width for s in self.additional_layout_)

    @property
    def length_span(self) -> Span | None:
        last = self.additional_layout_[-1] if self.additional_layout_ else None
        return last if last is not None and last.column == "<length>" else None

    def _scale(self, name: str, lo: np.ndarray, hi: np.ndarray):
        """Each entity's (mid, half) for ``name``: its own, or the column's."""
        if name in self.per_entity_:
            return (hi + lo) / 2, (hi - lo) / 2
        r = self.ranges_[name]
        mid, half = (r.value_hi + r.value_lo) / 2, (r.value_hi - r.value_lo) / 2
        return np.full(len(lo), mid), np.full(len(lo), half)

    def encode(self, seq: Sequences) -> tuple[np.ndarray, np.ndarray]:
        """(features (n, max_len, dim), additional attributes (n, 2 * n_numeric)), float32."""
        n, width = seq.times.shape
        valid = _valid(seq.lengths, width)
        out = np.zeros((n, width, self.dim_), "float32")
        additional = np.zeros((n, self.additional_dim), "float32")
        spans = iter(self.layout_)
        for name in self.numeric_:
            arr = seq.features[name]
            lo, hi, filled, null = _entity_ranges(arr, seq.lengths)
            mid, half = self._scale(name, lo, hi)
            with np.errstate(all="ignore"):
                scaled = np.where(half[:, None] > 0, (filled - mid[:, None]) / half[:, None], 0.0)
            out[:, :, next(spans).start] = np.clip(scaled, -1, 1)
            if name in self.nullable_:
                span = next(spans)
                out[:, :, span.start] = ~null
                out[:, :, span.start + 1] = null
            if name in self.per_entity_:
                i, (q_mid, q_half) = self.per_entity_.index(name), self.quantiles_[name]
                additional[:, 2 * i] = _to_unit(mid, q_mid)
                additional[:, 2 * i + 1] = _to_unit(half, q_half)
        if self.rotation_ is not None:
            k = 2 * len(self.per_entity_)
            additional[:, :k] = self.rotation_.forward(additional[:, :k])
        if self.length_span is not None:
            start = self.length_span.start
            lengths = np.clip(seq.lengths, self.min_len_, self.max_len_)
            additional[np.arange(n), start + lengths - self.min_len_] = 1.0
        for name, cats in self.categories_.items():
            span = next(spans)
            codes = pd.Index(cats, dtype=object).get_indexer(pd.Series(seq.features[name].ravel()))
            codes = codes.reshape(n, width)
            rows, cols = np.nonzero(valid)
            out[rows, cols, span.start + codes[rows, cols]] = 1.0
        flag = next(spans).start
        last = valid & (np.arange(width)[None, :] == seq.lengths[:, None] - 1)
        out[:, :, flag] = valid & ~last
        out[:, :, flag + 1] = last
        out[~valid] = 0.0
        return out, additional

    def decode(
        self, features: np.ndarray, additional: np.ndarray, lengths: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Feature arrays (as in ``Sequences.features``) from generated encodings."""
        n, width, _ = features.shape
        valid = _valid(lengths, width)
        out = {}
        if self.rotation_ is not None:
            k = 2 * len(self.per_entity_)
            additional = additional.copy()
            additional[:, :k] = self.rotation_.inverse(additional[:, :k])
        spans = iter(self.layout_)
        for name in self.numeric_:
            r = self.ranges_[name]
            if name in self.per_entity_:
                i, (q_mid, q_half) = self.per_entity_.index(name), self.quantiles_[name]
                mid = _from_unit(additional[:, 2 * i], q_mid)
                half = np.maximum(_from_unit(additional[:, 2 * i + 1], q_half), 0.0)
            else:
                mid, half = self._scale(name, np.zeros(n), np.zeros(n))
            x = mid[:, None] + half[:, None] * features[:, :, next(spans).start]
            x = np.clip(x, r.value_lo, r.value_hi).astype("float64")
            if name in self.integer_:
                x = np.round(x)
            if name in self.nullable_:
                span = next(spans)
                null = features[:, :, span.start + 1] > features[:, :, span.start]
                x[null] = np.nan
            x[~valid] = np.nan
            out[name] = x
        for name, cats in self.categories_.items():
            span = next(spans)
            table = np.empty(len(cats), dtype=object)
            table[:] = cats
            values = table[features[:, :, span.start : span.start + span.width].argmax(axis=2)]
            values[~valid] = None
            out[name] = values
        return out

    def to_dict(self) -> dict:
        return {
            "numeric": self.numeric_,
            "integer": self.integer_,
            "nullable": self.nullable_,
            "per_entity": self.per_entity_,
            "lengths": [self.min_len_, self.max_len_],
            "ranges": {name: list(astuple(r)) for name, r in self.ranges_.items()},
            "quantiles": self.quantiles_,
            "rotation": self.rotation_.to_dict() if self.rotation_ is not None else None,
            "categories": {
                k: [to_json_scalar(v) for v in cats] for k, cats in self.categories_.items()
            },
            "dtypes": self.dtypes_,
        }

    @classmethod
    def from_dict(cls, data: dict) -> StepFeatureEncoder:
        self = cls()
        self.numeric_, self.integer_ = list(data["numeric"]), list(data["integer"])
        self.nullable_ = list(data["nullable"])
        self.ranges_ = {name: FeatureRange(*r) for name, r in data["ranges"].items()}
        self.per_entity_ = list(data["per_entity"])
        self.quantiles_ = dict(data["quantiles"])
        self.min_len_, self.max_len_ = (int(x) for x in data["lengths"])
        self.categories_ = {
            k: [from_json_scalar(v) for v in cats] for k, cats in data["categories"].items()
        }
        self.dtypes_ = dict(data["dtypes"])
        rotation = data["rotation"]
        self.rotation_ = _Rotation(**rotation) if rotation else None
        self._build_layout()
        return self


class _Rotation:
    """Principal axes of the per-entity (mid, half) columns, each axis through its quantiles.

    Levels of related series move together (eu_stock's four indices over seven years): their
    mids lie near a curve, and the spread across it is a tenth of the spread along it. On the
    principal axes, rescaled, that thin spread fills [-1, 1] like the rest, so the critic sees
    a sequence whose levels do not fit together as plainly as one whose level is off.
    """

    def __init__(self, mean: list, axes: list, quantiles: list) -> None:
        self.mean = np.asarray(mean, "float64")
        self.axes = np.asarray(axes, "float64")
        self.quantiles = quantiles

    @classmethod
    def fit(cls, unit: np.ndarray) -> _Rotation:
        mean = unit.mean(axis=0)
        axes = np.linalg.svd(unit - mean, full_matrices=False)[2].T
        projected = (unit - mean) @ axes
        quantiles = [_quantiles(projected[:, j]) for j in range(projected.shape[1])]
        return cls(mean.tolist(), axes.tolist(), quantiles)

    def forward(self, unit: np.ndarray) -> np.ndarray:
        projected = (unit - self.mean) @ self.axes
        return np.stack([_to_unit(projected[:, j], q) for j, q in enumerate(self.quantiles)], 1)

    def inverse(self, encoded: np.ndarray) -> np.ndarray:
        projected = np.stack(
            [_from_unit(encoded[:, j], q) for j, q in enumerate(self.quantiles)], 1
        )
        return np.clip(projected @ self.axes.T + self.mean, -1, 1)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "axes": self.axes.tolist(), "quantiles": self.quantiles}


def _valid(lengths: np.ndarray, width: int) -> np.ndarray:
    return np.arange(width)[None, :] < np.asarray(lengths)[:, None]


def _entity_ranges(arr: np.ndarray, lengths: np.ndarray):
    """Per-entity (min, max), the values with nulls filled within the entity, the null mask.

    An entity whose values are all null gets the column's mean as min = max.
    """
    valid = _valid(lengths, arr.shape[1])
    null = valid & np.isnan(arr)
    present = np.where(valid, arr, np.nan)
    with _no_nan_warning():
        lo, hi = np.nanmin(present, axis=1), np.nanmax(present, axis=1)
    fallback = float(np.nanmean(present)) if np.isfinite(present).any() else 0.0
    lo, hi = np.where(np.isnan(lo), fallback, lo), np.where(np.isnan(hi), fallback, hi)
    filled = pd.DataFrame(present).ffill(axis=1).bfill(axis=1).to_numpy()
    filled = np.where(np.isnan(filled), lo[:, None], filled)
    return lo, hi, filled, null


def _quantiles(x: np.ndarray, k: int = 101) -> list[float]:
    """``k`` evenly spaced quantiles of ``x``, repeats dropped (a constant gives one)."""
    return [float(v) for v in np.unique(np.quantile(x, np.linspace(0, 1, k)))]


def _to_unit(x: np.ndarray, quantiles: list[float]) -> np.ndarray:
    """Piecewise-linear empirical CDF onto [-1, 1]; one quantile (a constant) maps to 0."""
    if len(quantiles) < 2:
        return np.zeros(len(x))
    return np.interp(x, quantiles, np.linspace(-1, 1, len(quantiles)))


def _from_unit(x: np.ndarray, quantiles: list[float]) -> np.ndarray:
    if len(quantiles) < 2:
        return np.full(len(x), quantiles[0])
    return np.interp(np.asarray(x, "float64"), np.linspace(-1, 1, len(quantiles)), quantiles)
