"""Long frame <-> per-entity arrays, and DoppelGANger's per-step encoding of the features.

A long frame has one row per (entity, time step). ``Sequences.from_long`` checks it, sorts it
by (entity, time) and splits it into one attribute row per entity plus per-entity feature and
time arrays padded to the longest sequence; ``Sequences.to_long`` is the way back.
``FeatureEncoder`` turns the feature arrays into the model's (entity, step, dim) tensor.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..transform import Span
from ..transform.base import dtype_to_json, from_json_scalar, restore_dtype, to_json_scalar


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


@dataclass
class Sequences:
    """The data of ``n`` entities, sorted by entity id; arrays are padded to ``max_len``.

    ``features[name]`` is float64 (NaN for nulls and padding) for numeric columns and object
    (None for nulls and padding) otherwise; ``times`` holds int64 ticks (the datetime's own unit,
    or the integer step), 0 in the padding.
    """

    entity: str
    time: str
    columns: list[str]  # the long frame's column order
    entities: np.ndarray  # (n,)
    attributes: pd.DataFrame  # (n, n_attributes), one row per entity
    features: dict[str, np.ndarray]  # name -> (n, max_len)
    times: np.ndarray  # (n, max_len) int64
    lengths: np.ndarray  # (n,) int64
    dtypes: dict[str, dict]  # entity, time and feature dtypes (see dtype_to_json)

    @property
    def max_len(self) -> int:
        return int(self.lengths.max())

    @property
    def starts(self) -> np.ndarray:
        return self.times[:, 0]

    @property
    def steps(self) -> np.ndarray:
        """Each entity's median time step (NaN for a one-row entity)."""
        diffs = np.diff(self.times, axis=1).astype("float64")  # int64 first: ns ticks are exact
        diffs[np.arange(diffs.shape[1])[None, :] >= self.lengths[:, None] - 1] = np.nan
        with _no_nan_warning():
            return np.nanmedian(diffs, axis=1) if diffs.shape[1] else np.full(len(diffs), np.nan)

    # ---- long frame -> arrays ---------------------------------------------------------------
    @classmethod
    def from_long(
        cls,
        df: pd.DataFrame,
        entity: str,
        time: str,
        attributes: list[str] | None = None,
        window: int | None = None,
    ) -> Sequences:
        """Check and split a long frame.

        ``attributes=None`` takes every column that is constant within every entity. With
        ``window=L`` the frame is ONE long series (no entity column): it is cut, in time order,
        into non-overlapping windows of ``L`` rows (the last one may be shorter) and each window
        becomes an entity whose id (0, 1, ...) goes in a new column named ``entity``.
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"data must be a pandas DataFrame, got {type(df).__name__}")
        if len(df) == 0:
            raise ValueError("data has no rows; a time-series model needs sequences to learn")
        if not isinstance(entity, str) or not isinstance(time, str):
            raise TypeError("entity and time must be column names (strings)")
        if time not in df.columns:
            raise ValueError(
                f"time column {time!r} is not in the data; columns: {list(df.columns)}"
            )
        df = df.reset_index(drop=True)
        if window is not None:
            df = _cut_windows(df, entity, time, window)
        elif entity not in df.columns:
            raise ValueError(
                f"entity column {entity!r} is not in the data; columns: {list(df.columns)} "
                "(for one long series without entities, pass window=<rows per sequence>)"
            )
        for name in (entity, time):
            if df[name].isna().any():
                raise ValueError(f"column {name!r} has nulls; every row needs an {name} value")
        t = df[time]
        if not (pd.api.types.is_datetime64_any_dtype(t) or pd.api.types.is_integer_dtype(t)):
            raise TypeError(
                f"time column {time!r} holds {t.dtype}; it must be datetimes or integer steps: "
                f"convert it with pd.to_datetime(df[{time!r}]) or .astype('int64')"
            )
        df = df.sort_values([entity, time], kind="stable").reset_index(drop=True)
        ticks = _ticks(df[time])
        codes, entities = pd.factorize(df[entity], sort=True)
        same = codes[1:] == codes[:-1]
        dup = np.flatnonzero(same & (ticks[1:] == ticks[:-1]))
        if len(dup):
            row = df.iloc[dup[0]]
            raise ValueError(
                f"entity {row[entity]!r} has two rows at {time}={row[time]!r}; times must be "
                "unique within an entity (aggregate or drop the duplicates)"
            )
        lengths = np.bincount(codes).astype("int64")
        if lengths.max() < 2:
            raise ValueError(
                f"every entity has a single row: nothing sequential to learn; check the entity "
                f"column {entity!r} (or pass window=<rows per sequence> for one long series)"
            )
        others = [c for c in df.columns if c not in (entity, time)]
        varying = df[others].groupby(codes).nunique(dropna=False).max() > 1
        if attributes is None:
            attributes = [c for c in others if not varying[c]]
        else:
            attributes = list(attributes)
            for name in attributes:
                if name not in others:
                    raise ValueError(
                        f"attribute {name!r} is not a column of the data (or is the entity/time "
                        f"column); columns: {others}"
                    )
                if varying[name]:
                    bad = df[name].groupby(codes).nunique(dropna=False)
                    who = entities[int(np.flatnonzero(bad.to_numpy() > 1)[0])]
                    raise ValueError(
                        f"attribute {name!r} varies within entity {who!r}; an attribute must be "
                        "constant per entity: leave it out of attributes to model it as a "
                        "time-varying feature"
                    )
        feature_names = [c for c in others if c not in attributes]
        if not feature_names:
            raise ValueError(
                "no time-varying feature column: every column is constant within every entity; "
                "pass attributes=[...] naming only the static columns"
            )
        pos = df.groupby(codes).cumcount().to_numpy()
        n, width = len(entities), int(lengths.max())
        times = np.zeros((n, width), "int64")
        times[codes, pos] = ticks
        features = {}
        for name in feature_names:
            s = df[name]
            if _is_numeric(s):
                arr = np.full((n, width), np.nan)
                arr[codes, pos] = s.to_numpy(dtype="float64", na_value=np.nan)
            else:
                arr = np.full((n, width), None, dtype=object)
                arr[codes, pos] = s.astype(object).where(s.notna(), None).to_numpy()
            features[name] = arr
        first = np.r_[0, np.cumsum(lengths)[:-1]]
        attr = df.loc[first, attributes].reset_index(drop=True)
        return cls(
            entity=entity,
            time=time,
            columns=list(df.columns),
            entities=np.asarray(entities),
            attributes=attr,
            features=features,
            times=times,
            lengths=lengths,
            dtypes={
                c: _time_dtype(df[c]) if c == time else dtype_to_json(df[c])
                for c in [entity, time, *feature_names]
            },
        )

    # ---- arrays -> long frame ---------------------------------------------------------------
    def to_long(self) -> pd.DataFrame:
        n, width = self.times.shape
        valid = np.arange(width)[None, :] < self.lengths[:, None]
        rows = np.repeat(np.arange(n), self.lengths)
        out = {}
        for name in self.columns:
            if name == self.entity:
                out[name] = restore_dtype(self.entities[rows], self.dtypes[name], name)
            elif name == self.time:
                out[name] = _from_ticks(self.times[valid], self.dtypes[name], name)
            elif name in self.features:
                out[name] = restore_dtype(self.features[name][valid], self.dtypes[name], name)
            else:
                out[name] = self.attributes[name].iloc[rows].reset_index(drop=True)
        return pd.DataFrame(out)


def _cut_windows(df: pd.DataFrame, entity: str, time: str, window: int) -> pd.DataFrame:
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 2:
        raise ValueError(f"window must be an integer of at least 2 rows, got {window!r}")
    if entity in df.columns:
        raise ValueError(
            f"window cuts ONE long series into sequences and writes their numbers to {entity!r}, "
            f"but the data already has a column {entity!r}: drop it, or leave window=None"
        )
    df = df.sort_values(time, kind="stable").reset_index(drop=True)
    df.insert(0, entity, np.arange(len(df), dtype="int64") // int(window))
    return df


@contextmanager
def _no_nan_warning():
    """Silence numpy's "All-NaN slice" warning (a one-row entity has no step)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _time_dtype(s: pd.Series) -> dict:
    if pd.api.types.is_datetime64_any_dtype(s):
        return {
            "dtype": "datetime",
            "unit": s.dt.unit,
            "tz": None if s.dt.tz is None else str(s.dt.tz),
        }
    return dtype_to_json(s)


def _ticks(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(s):
        return np.asarray(s.array.asi8, dtype="int64")
    return s.to_numpy(dtype="int64")


def _from_ticks(ticks: np.ndarray, dtype: dict, name: str) -> pd.Series:
    if dtype["dtype"] != "datetime":
        return restore_dtype(ticks, dtype, name)
    values = pd.Series(np.asarray(ticks, "int64").astype(f"datetime64[{dtype['unit']}]"), name=name)
    if dtype["tz"] is not None:
        values = values.dt.tz_localize("UTC").dt.tz_convert(dtype["tz"])
    return values


# ---- per-step encoding ------------------------------------------------------------------------
class FeatureEncoder:
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
    ) -> FeatureEncoder:
        self.numeric_, self.categories_, self.nullable_, self.integer_ = [], {}, [], []
        self.per_entity_ = []
        self.min_len_, self.max_len_ = int(seq.lengths.min()), int(seq.lengths.max())
        self.ranges_ = {}  # numeric name -> [value lo, value hi, mid lo, mid hi, half lo, half hi]
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
                self.ranges_[name] = [
                    float(np.nanmin(lo)), float(np.nanmax(hi)),
                    float(np.nanmin(mid)), float(np.nanmax(mid)),
                    float(np.nanmin(half)), float(np.nanmax(half)),
                ]  # fmt: skip
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
        return np.full(len(lo), (r[1] + r[0]) / 2), np.full(len(lo), (r[1] - r[0]) / 2)

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
            x = np.clip(x, r[0], r[1]).astype("float64")
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
            "ranges": self.ranges_,
            "quantiles": self.quantiles_,
            "rotation": self.rotation_.to_dict() if self.rotation_ is not None else None,
            "categories": {
                k: [to_json_scalar(v) for v in cats] for k, cats in self.categories_.items()
            },
            "dtypes": self.dtypes_,
        }

    @classmethod
    def from_dict(cls, data: dict) -> FeatureEncoder:
        self = cls()
        self.numeric_, self.integer_ = list(data["numeric"]), list(data["integer"])
        self.nullable_, self.ranges_ = list(data["nullable"]), dict(data["ranges"])
        self.per_entity_ = list(data["per_entity"])
        # Files written before the quantile mapping scaled linearly: two "quantiles", min and max.
        self.quantiles_ = data.get("quantiles") or {
            name: [sorted({r[2], r[3]}), sorted({r[4], r[5]})]
            for name, r in self.ranges_.items()
            if name in self.per_entity_
        }
        self.min_len_, self.max_len_ = (int(x) for x in data["lengths"])
        self.categories_ = {
            k: [from_json_scalar(v) for v in cats] for k, cats in data["categories"].items()
        }
        self.dtypes_ = dict(data["dtypes"])
        rotation = data.get("rotation")
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
