"""Mixed-type rows as numbers, fitted on the real rows, for distances and for classifiers.

One fitted encoder serves every score that needs numbers:

- ``distances(df)``: a float32 matrix whose Euclidean distance is the report's mixed-type
  distance. A number counts by its rank in the real column (empirical CDF, so heavy tails and
  units do not matter, each column weighs at most 1); a category mismatch counts 1 (one-hot
  scaled by 1/sqrt(2)); a null where the other row has a value counts 1.
- ``tree_features(df)``: numbers as they are and categories as codes, for scikit-learn's
  HistGradientBoosting with native categorical support.
- ``row_hashes(df)``: one 64-bit hash per row for exact-copy counting.

Id columns carry no information about a row's content (a generator regenerates them) and are
left out everywhere; constant columns are left out of the numeric views.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metadata import Metadata

NUMERIC_KINDS = ("numerical", "integer", "datetime")
CATEGORY_KINDS = ("categorical", "boolean")
NULL_LABEL = "\x00null"
_CDF_SAMPLE = 20_000


def as_numbers(s: pd.Series) -> np.ndarray:
    """A numeric or datetime column as float64 (datetimes in seconds), nulls as NaN."""
    if pd.api.types.is_datetime64_any_dtype(s):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        values = s.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64") / 1e9
        values[s.isna().to_numpy()] = np.nan
        return values
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def as_labels(s: pd.Series) -> np.ndarray:
    """A category column as strings, nulls as one reserved label (so they compare equal)."""
    # Object arrays: a fixed-width numpy string dtype would truncate the longer null label.
    s = pd.Series(s, copy=False).astype(object)
    return s.where(s.notna(), NULL_LABEL).astype(str).to_numpy(dtype=object)


class RowEncoder:
    """Fitted on real rows; ``max_levels`` most frequent categories kept, the rest pooled."""

    def __init__(self, metadata: Metadata, max_levels: int = 30) -> None:
        self.metadata = metadata
        self.max_levels = max_levels

    def fit(self, df: pd.DataFrame, seed: int = 0) -> RowEncoder:
        kinds = self.metadata.columns
        self.numeric_ = [c for c, k in kinds.items() if k in NUMERIC_KINDS]
        self.categorical_ = [c for c, k in kinds.items() if k in CATEGORY_KINDS]
        rng = np.random.default_rng(seed)
        self.cdf_ = {}
        self.nullable_ = []
        for c in self.numeric_:
            values = as_numbers(df[c])
            if np.isnan(values).any():
                self.nullable_.append(c)
            values = values[~np.isnan(values)]
            if len(values) > _CDF_SAMPLE:
                values = rng.choice(values, _CDF_SAMPLE, replace=False)
            self.cdf_[c] = np.sort(values)
        self.levels_ = {}
        for c in self.categorical_:
            counts = pd.Series(as_labels(df[c])).value_counts()
            self.levels_[c] = counts.index[: self.max_levels].to_numpy(dtype=object)
        return self

    # ---- views --------------------------------------------------------------------------
    def _ranks(self, c: str, df: pd.DataFrame) -> np.ndarray:
        ref = self.cdf_[c]
        values = as_numbers(df[c])
        # Mid-rank: tied values (a point mass such as 0) share one position.
        ranks = np.searchsorted(ref, values, "left") + np.searchsorted(ref, values, "right")
        ranks = ranks / (2.0 * max(len(ref), 1))
        ranks[np.isnan(values)] = 0.5
        return ranks

    def codes(self, c: str, df: pd.DataFrame) -> np.ndarray:
        """Category codes in ``levels_[c]`` order; pooled and unseen categories get the last."""
        levels = self.levels_[c]
        index = pd.Index(levels)
        codes = index.get_indexer(as_labels(df[c]))
        codes[codes < 0] = len(levels)
        return codes

    def distances(self, df: pd.DataFrame) -> np.ndarray:
        blocks = []
        for c in self.numeric_:
            blocks.append(self._ranks(c, df)[:, None])
            if c in self.nullable_:
                blocks.append(df[c].isna().to_numpy(dtype="float64")[:, None])
        for c in self.categorical_:
            codes = self.codes(c, df)
            onehot = np.zeros((len(df), len(self.levels_[c]) + 1))
            onehot[np.arange(len(df)), codes] = np.sqrt(0.5)
            blocks.append(onehot)
        if not blocks:
            return np.zeros((len(df), 1), dtype="float32")
        return np.hstack(blocks).astype("float32")

    def tree_features(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(X, categorical mask) for HistGradientBoosting; nulls stay NaN."""
        columns = [as_numbers(df[c]) for c in self.numeric_]
        for c in self.categorical_:
            codes = self.codes(c, df).astype("float64")
            columns.append(codes)
        mask = np.r_[np.zeros(len(self.numeric_), bool), np.ones(len(self.categorical_), bool)]
        if not columns:
            return np.zeros((len(df), 1)), np.zeros(1, bool)
        return np.column_stack(columns), mask


def row_hashes(df: pd.DataFrame, metadata: Metadata) -> np.ndarray:
    """One uint64 per row over every non-id column; equal rows (as values) hash equal.

    Numbers are compared as float64, so 39 (int64) and 39.0 (float) are the same value;
    categories as strings, so a boolean True and the CSV text "True" are the same value.
    """
    h = np.zeros(len(df), dtype="uint64")
    for c, kind in metadata.columns.items():
        if kind == "id":
            continue
        if kind in NUMERIC_KINDS:
            values = as_numbers(df[c])
            column = pd.util.hash_array(np.where(np.isnan(values), np.inf, values))
        else:
            column = pd.util.hash_array(as_labels(df[c]).astype(object))
        with np.errstate(over="ignore"):
            h = h * np.uint64(1_000_003) + column
    return h
