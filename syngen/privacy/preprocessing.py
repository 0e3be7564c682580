"""Private preprocessing: what the transformer and the condition sampler learn from the data
comes from one noisy histogram per column, released by the Gaussian mechanism.

Each column's histogram (its categories, or a fixed grid of numeric bins, and a bin for nulls)
changes by 1 in one bin when a row is added or removed: L2 sensitivity 1 per column, one
``Release`` each. From the noisy histograms alone a proxy table is drawn, each column on its
own, and the ordinary ``TableTransformer`` is fitted on the proxy: category sets, bounds,
mixture modes, point modes, null rates, the conditional vector's class counts and the
calibration's shares are then post-processing of the releases. Public metadata (bounds, category
lists) replaces a column's domain and costs nothing; values outside it are clipped into it.

A category list read from the data is itself private: its histogram keeps only the keys whose
noisy count clears a threshold that a key held by a single row passes with probability at most
``delta_threshold`` (Gaussian partition selection). That adds ``delta_threshold`` per such
column to the delta of the Renyi accounting (docs/privacy.md). Numeric bins lie on a grid fixed
in advance, so their threshold (against spurious bins) costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..metadata import Metadata, MetadataError, _check_frame, kind_from_dtype
from ..transform import TableTransformer
from ..transform.categorical import CategoricalTransform
from .accountant import PrivacyLedger, Release, gaussian_noise_for
from .config import DPConfig

NUMERIC_KINDS = ("numerical", "integer", "datetime")
# The numeric grid without public bounds: 0 exactly, then 4 bins a decade on each side from
# 1e-6 to 1e19 (datetimes as nanoseconds reach 2e18).
_DECADES = np.arange(-24, 77) / 4.0
# Equal bins between the bounds (public, or released first).
_PUBLIC_BINS = 64
# Datetimes (and columns asked to) narrow the log grid's range this many times more, each an
# equal-bin histogram over the range so far: a quarter decade of nanosecond ticks is decades.
_ZOOMS = 2
# A spurious numeric bin (pure noise over the threshold) shows up in at most this share of
# columns: a utility choice, with no privacy cost (the grid is public).
_SPURIOUS = 0.01
PROXY_ROWS = 20_000


@dataclass
class ColumnHistogram:
    """A column's released histogram: bin keys (category values, or (low, high) numeric
    bins) and their noisy counts, nulls apart; what the proxy draws from."""

    column: str
    kind: str
    keys: list
    counts: np.ndarray
    null_count: float
    public: bool


def private_metadata(data: pd.DataFrame, metadata: Metadata | None) -> Metadata:
    """The column kinds a DP fit may use: the user's, or read from the dtypes alone (the schema
    is public; counting distinct values is not). Kinds that need raw values are refused."""
    _check_frame(data)
    given = {} if metadata is None else metadata.columns
    unknown = sorted(set(given) - set(map(str, data.columns)))
    if unknown:
        raise MetadataError(f"metadata names columns that are not in the data: {unknown}")
    # The kinds not given (all of them without metadata) from the dtypes alone.
    kinds = {str(c): given.get(str(c)) or kind_from_dtype(data[c]) for c in data.columns}
    metadata = Metadata(kinds)
    metadata.validate(data)
    for column, kind in metadata.columns.items():
        if kind == "constant":
            raise MetadataError(
                f"column {column!r} is declared constant: its value would be read from the data "
                "without privacy budget; declare it categorical (its one value is then released "
                "like any category) or drop it"
            )
    return metadata


def release_histograms(
    data: pd.DataFrame,
    metadata: Metadata,
    *,
    noise_multiplier: float,
    delta_threshold: float,
    public_bounds: dict,
    public_categories: dict,
    rng: np.random.Generator,
    skip: set[str] = frozenset(),
    zoom: set[str] = frozenset(),
) -> tuple[list[ColumnHistogram], list[Release]]:
    """One noisy histogram per modelled column (those in ``skip`` apart), and the releases
    they cost. Datetimes and the columns in ``zoom`` narrow their range once more before the
    histogram (``_numeric_histogram``)."""
    hists, releases = [], []
    for column, kind in metadata.columns.items():
        if kind == "id" or column in skip:  # ids are regenerated, not modelled: nothing read
            continue
        s = data[column]
        if kind in NUMERIC_KINDS:
            hist, steps = _numeric_histogram(
                s, kind, public_bounds.get(column), noise_multiplier, rng,
                zoom=kind == "datetime" or column in zoom,
            )  # fmt: skip
        else:
            hist = _category_histogram(
                s, kind, public_categories.get(column), noise_multiplier, delta_threshold, rng
            )
            steps = 1
        hists.append(hist)
        releases.append(Release(f"preprocessing:{column}", noise_multiplier, 1.0, steps))
    return hists, releases


def _noisy(counts: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return counts + rng.normal(0.0, sigma, len(counts))


def _category_histogram(s, kind, public, sigma, delta_threshold, rng) -> ColumnHistogram:
    column = str(s.name)
    null = s.isna()
    values = s[~null].astype(object)
    if public is not None:
        keys = list(public)
        counts = pd.Series(values).value_counts().reindex(pd.Index(keys, dtype=object)).fillna(0)
        noisy = _noisy(counts.to_numpy(dtype="float64"), sigma, rng)
        null_count = float(_noisy(np.array([null.sum()], "float64"), sigma, rng)[0])
        keep = noisy > 0
        threshold = 0.0
    else:
        counts = pd.Series(values).value_counts()
        # In an order that says nothing of the counts (value_counts ranks them exactly).
        counts = counts.iloc[np.argsort([repr(k) for k in counts.index], kind="stable")]
        keys = list(counts.index)
        noisy = _noisy(counts.to_numpy(dtype="float64"), sigma, rng)
        null_count = float(_noisy(np.array([null.sum()], "float64"), sigma, rng)[0])
        # A key held by one row clears 1 + sigma * z with probability delta_threshold.
        threshold = 1.0 + sigma * float(norm.isf(delta_threshold))
        keep = noisy >= threshold
        null_count = null_count if null_count >= threshold else 0.0
    if not keep.any():
        raise ValueError(
            f"column {column!r}: no category has enough rows to be released at this budget "
            f"(each needs about {threshold:.0f}); list its categories in the public metadata, "
            "or give a larger epsilon or preprocessing share"
        )
    return ColumnHistogram(
        column,
        kind,
        [k for k, kept in zip(keys, keep, strict=True) if kept],
        noisy[keep],
        max(null_count, 0.0),
        public is not None,
    )


def _numeric_histogram(s, kind, bounds, sigma, rng, zoom=False) -> tuple[ColumnHistogram, int]:
    """The column's histogram on equal bins between its bounds, and how many releases it
    took: one with public bounds; two without -- a coarse histogram on a fixed logarithmic grid
    finds the range, then the equal bins over that range; ``_ZOOMS`` more with ``zoom``, where
    equal bins over the range so far narrow it first. A quarter decade of the grid is years of
    nanosecond timestamps: a datetime's range would otherwise stay that wide."""
    column = str(s.name)
    x = _as_float(s)
    null = np.isnan(x)
    x = x[~null]
    releases = 1
    if bounds is not None:
        lo, hi = (_bound_as_float(b, s) for b in bounds)
        if not lo < hi:
            raise ValueError(f"column {column!r}: public bounds {bounds} must be (low, high)")
    else:
        positive = 10.0**_DECADES
        edges = np.r_[-positive[::-1], positive]
        coarse = np.histogram(np.clip(x, edges[0], edges[-1]), edges)[0].astype("float64")
        kept = np.flatnonzero(_noisy(coarse, sigma, rng) > _spurious_threshold(sigma, len(coarse)))
        if not len(kept):
            raise ValueError(
                f"column {column!r}: too few rows to release its range at this budget; give "
                "its bounds in the public metadata, or a larger epsilon or preprocessing share"
            )
        lo, hi = float(edges[kept.min()]), float(edges[kept.max() + 1])
        releases = 2
        for _ in range(_ZOOMS if zoom else 0):
            edges = np.linspace(lo, hi, _bins(len(s), sigma) + 1)
            counts = np.histogram(np.clip(x, lo, hi), edges)[0].astype("float64")
            noisy = _noisy(counts, sigma, rng)
            kept = np.flatnonzero(noisy > _spurious_threshold(sigma, len(counts)))
            if len(kept):
                lo, hi = float(edges[kept.min()]), float(edges[kept.max() + 1])
            releases += 1
    bins = _bins(len(s), sigma)
    edges = np.linspace(lo, hi, bins + 1)
    counts = np.histogram(np.clip(x, lo, hi), edges)[0].astype("float64")
    keys = list(zip(edges[:-1], edges[1:], strict=True))
    if lo <= 0 <= hi:  # an exact zero (a zero-inflated amount) is a bin of its own
        zeros = float(np.sum(x == 0))
        counts[min(np.searchsorted(edges, 0, side="right") - 1, bins - 1)] -= zeros
        counts, keys = np.r_[counts, zeros], [*keys, (0.0, 0.0)]
    noisy = _noisy(counts, sigma, rng)
    null_count = float(_noisy(np.array([null.sum()], "float64"), sigma, rng)[0])
    threshold = _spurious_threshold(sigma, len(counts) + 1)
    keep = noisy > threshold
    if not keep.any():  # the range is known (public or released): uniform over it
        keep, noisy = np.ones(len(counts), bool), np.ones(len(counts))
        if (0.0, 0.0) in keys:
            keep[-1] = False
    hist = ColumnHistogram(
        column,
        kind,
        [k for k, kept in zip(keys, keep, strict=True) if kept],
        noisy[keep],
        null_count if null_count > threshold else 0.0,
        bounds is not None,
    )
    return hist, releases


def _bins(rows: int, sigma: float) -> int:
    """As many equal bins as the noise leaves room for: a bin should hold a few thresholds'
    worth of rows (the number of rows is public, as in DP-SGD's sampling rate)."""
    if sigma <= 0:
        return _PUBLIC_BINS
    room = rows / (3 * _spurious_threshold(sigma, _PUBLIC_BINS))
    return int(np.clip(room, 4, _PUBLIC_BINS))


def _spurious_threshold(sigma: float, bins: int) -> float:
    """The noisy count a bin must clear so that pure noise clears it in ``_SPURIOUS`` of the
    columns: bins on a public grid, so a utility choice, not a privacy one."""
    return sigma * float(norm.isf(_SPURIOUS / bins))


def _bound_as_float(value, like: pd.Series) -> float:
    """A public bound in the column's float form (datetimes: ticks of the column's unit)."""
    if pd.api.types.is_datetime64_any_dtype(like):
        ts = pd.Timestamp(value)
        if like.dt.tz is not None and ts.tz is None:
            ts = ts.tz_localize(like.dt.tz)
        return float(pd.Series([ts]).astype(like.dtype).array.asi8[0])
    return float(value)


def _as_float(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(s):
        values = s.array.asi8.astype("float64")
        values[s.isna().to_numpy()] = np.nan
        return values
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def proxy_table(
    data: pd.DataFrame,
    metadata: Metadata,
    hists: list[ColumnHistogram],
    rng: np.random.Generator,
    rows: int = PROXY_ROWS,
) -> pd.DataFrame:
    """A table drawn from the noisy histograms alone, one column at a time, with the data's
    columns and dtypes (``data`` is read for its schema only)."""
    by_column = {h.column: h for h in hists}
    out = {}
    for column, kind in metadata.columns.items():
        dtype = data[column].dtype
        if kind == "id":
            ids = np.arange(rows)
            is_int = pd.api.types.is_integer_dtype(dtype)
            out[column] = pd.Series(ids if is_int else [f"id-{i}" for i in ids]).astype(dtype)
            continue
        h = by_column[column]
        p = np.r_[h.counts, h.null_count]
        pick = rng.choice(len(p), rows, p=p / p.sum())
        nulls = pick == len(h.counts)
        if kind in NUMERIC_KINDS:
            bins = np.array(h.keys, dtype="float64").reshape(-1, 2)
            low, high = bins[np.minimum(pick, len(bins) - 1)].T
            values = low + rng.random(rows) * (high - low)
            if kind == "integer":
                values = np.round(values)
            values[nulls] = np.nan
            out[column] = _restore(values, data[column], kind)
        else:
            table = np.empty(len(h.keys) + 1, dtype=object)
            table[: len(h.keys)] = h.keys
            table[-1] = None
            out[column] = _restore_categories(table[pick], data[column])
    return pd.DataFrame(out)


def _restore(values: np.ndarray, like: pd.Series, kind: str) -> pd.Series:
    """Floats (NaN for nulls; datetime ticks of the column's unit) as a column like ``like``."""
    nulls = np.isnan(values)
    if kind == "datetime":
        ticks = np.where(nulls, 0, values).astype("int64")
        out = pd.Series(ticks.astype(f"datetime64[{like.dt.unit}]"))
        if like.dt.tz is not None:
            out = out.dt.tz_localize("UTC").dt.tz_convert(like.dt.tz)
        return out.mask(nulls)
    if kind == "integer":
        whole = pd.array(np.where(nulls, 0, np.round(values)).astype("int64"), dtype="Int64")
        out = pd.Series(whole).mask(nulls)
        if not nulls.any() or pd.api.types.is_extension_array_dtype(like.dtype):
            return out.astype(like.dtype)
        return out
    return pd.Series(values).astype(like.dtype if pd.api.types.is_float_dtype(like) else "float64")


def _restore_categories(values: np.ndarray, like: pd.Series) -> pd.Series:
    out = pd.Series(values, dtype=object)
    if pd.api.types.is_bool_dtype(like.dtype):
        plain = like.dtype == bool and out.notna().all()
        return out.astype(bool if plain else "boolean")
    if isinstance(like.dtype, pd.CategoricalDtype | pd.StringDtype):
        return out.astype(like.dtype)
    return out


def clip_to_domain(df: pd.DataFrame, transformer: TableTransformer) -> pd.DataFrame:
    """``df`` with every value the transformer cannot encode moved into its domain, row by row
    and by the released parameters alone: a category never released becomes the most frequent
    released one (so does a null where no null was released); a number is clipped to the
    released range, a null where none was released becomes the middle of it. Neighbouring
    tables stay neighbours."""
    out = {}
    for column in df.columns:
        t, s = transformer.transform_of(column), df[column]
        inner = getattr(t, "inner", t)
        if isinstance(t, CategoricalTransform):
            known = pd.Index([*t.categories_, *t.rare_values_], dtype=object)
            unknown = ~s.astype(object).isin(known).to_numpy()
            if t.has_null_:
                unknown &= s.notna().to_numpy()
            if unknown.any():
                values = s.astype(object).to_numpy(copy=True)
                values[unknown] = t.categories_[0]
                s = _restore_categories(values, s)
        elif hasattr(inner, "min_"):
            origin = getattr(inner, "origin_", 0)
            lo, hi = inner.min_ + origin, inner.max_ + origin
            x = _as_float(s)
            null = np.isnan(x)
            x = np.clip(np.where(null, (lo + hi) / 2, x), lo, hi)
            if inner is not t:  # the transform encodes nulls: keep them
                x[null] = np.nan
            kind = "datetime" if hasattr(inner, "origin_") else None
            kind = kind or ("integer" if inner.integer else "numerical")
            s = _restore(x, s, kind)
        out[column] = pd.Series(s).reset_index(drop=True)
    return pd.DataFrame(out)


def public_domain(metadata: Metadata, public_bounds: dict, public_categories: dict) -> set[str]:
    """The modelled columns whose domain the user gave (bounds, or a category list)."""
    return {
        c
        for c, kind in metadata.columns.items()
        if kind != "id"
        and (c in public_bounds if kind in NUMERIC_KINDS else c in public_categories)
    }


def release_count(
    metadata: Metadata,
    public_bounds: dict,
    skip: set[str] = frozenset(),
    zoom: set[str] = frozenset(),
) -> int:
    """How many Gaussian releases ``release_histograms`` makes (columns in ``skip`` apart):
    one per column, two for a numeric column without public bounds, ``_ZOOMS`` more for a
    datetime or a ``zoom`` column without them."""

    def count(column: str, kind: str) -> int:
        if kind not in NUMERIC_KINDS or column in public_bounds:
            return 1
        return 2 + _ZOOMS if kind == "datetime" or column in zoom else 2

    return sum(
        count(c, kind) for c, kind in metadata.columns.items() if kind != "id" and c not in skip
    )


def uniform_histogram(column: str, kind: str, bounds=None, categories=None, like=None):
    """A column's histogram from its public domain alone: uniform, no release."""
    if kind in NUMERIC_KINDS:
        lo, hi = (_bound_as_float(b, like) for b in bounds)
        edges = np.linspace(lo, hi, _PUBLIC_BINS + 1)
        keys = list(zip(edges[:-1], edges[1:], strict=True))
    else:
        keys = list(categories)
    return ColumnHistogram(column, kind, keys, np.ones(len(keys)), 0.0, True)


@dataclass
class PrivateProxy:
    """What the preprocessing released: the proxy table drawn from it, the kinds, the ledger
    that holds its releases (at the Renyi share of delta), and how it was spent."""

    proxy: pd.DataFrame
    metadata: Metadata
    ledger: PrivacyLedger
    delta: float
    noise_multiplier: float | None
    public_columns: list[str]
    paid_columns: list[str]


def private_proxy(
    data: pd.DataFrame,
    metadata: Metadata | None,
    dp: DPConfig,
    rng: np.random.Generator,
    zoom: set[str] = frozenset(),
) -> PrivateProxy:
    """Release one noisy histogram per column (``dp.preprocessing_share`` of epsilon; none
    for a column with a public domain when the share is 0) and draw the proxy table. Numeric
    columns in ``zoom`` (and datetimes) narrow their range once more (one release more)."""
    meta = private_metadata(data, metadata)
    for column in [*dp.public_bounds, *dp.public_categories]:
        if column not in meta.columns:
            raise MetadataError(f"public metadata names column {column!r}, not in the data")
    public = public_domain(meta, dp.public_bounds, dp.public_categories)
    modelled = [c for c, k in meta.columns.items() if k != "id"]
    if dp.preprocessing_share == 0:
        private = [c for c in modelled if c not in public]
        if private:
            raise ValueError(
                f"preprocessing_share is 0, but columns {private} have no public domain: their "
                "ranges and categories would be read from the data without budget. Give their "
                "bounds or categories (DPConfig public_bounds / public_categories, or the "
                'metadata file\'s "public" block), or a preprocessing share above 0'
            )
    skip = set(public) if dp.preprocessing_share == 0 else set()
    # Category lists read from the data pay a delta of their own (partition selection).
    selected = [
        c
        for c in modelled
        if meta.columns[c] not in NUMERIC_KINDS and c not in dp.public_categories and c not in skip
    ]
    delta = dp.resolved_delta(len(data))
    ledger = PrivacyLedger(delta / 2 if selected else delta)
    releases = release_count(meta, dp.public_bounds, skip, zoom)
    sigma = None
    if releases:
        sigma = gaussian_noise_for(dp.preprocessing_share * dp.epsilon, ledger.delta, releases)
    hists, made = release_histograms(
        data,
        meta,
        noise_multiplier=sigma or 0.0,
        delta_threshold=delta / 2 / len(selected) if selected else 0.0,
        public_bounds=dp.public_bounds,
        public_categories=dp.public_categories,
        rng=rng,
        skip=skip,
        zoom=zoom,
    )
    for release in made:
        ledger.add(release)
    hists += [
        uniform_histogram(
            c, meta.columns[c], dp.public_bounds.get(c), dp.public_categories.get(c), data[c]
        )
        for c in sorted(skip)
    ]
    return PrivateProxy(
        proxy=proxy_table(data, meta, hists, rng),
        metadata=meta,
        ledger=ledger,
        delta=delta,
        noise_multiplier=sigma,
        public_columns=sorted(public),
        paid_columns=sorted(c for c in modelled if c not in skip),
    )
