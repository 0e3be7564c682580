"""One-hot encoding of a discrete column, with nulls as a class and a cardinality guard.

A column with more distinct values than ``max_categories`` keeps its most frequent values as
classes and groups the tail into one "rare" class; a generated "rare" draws a tail value by its
frequency. That bounds the width of the one-hot (and so the generator, the discriminator and
the conditional vector) whatever the cardinality, which is what runs out of memory in the peers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .base import (
    ColumnTransform,
    SpanSpec,
    dtype_to_json,
    from_json_scalar,
    restore_dtype,
    stored_number,
    to_json_scalar,
)


class CategoricalTransform(ColumnTransform):
    name = "categorical"

    def __init__(self, max_categories: int = 500) -> None:
        if max_categories < 2:
            raise ValueError(f"max_categories must be at least 2, got {max_categories}")
        self.max_categories = max_categories

    def fit(self, s: pd.Series, rng: np.random.Generator) -> CategoricalTransform:
        counts = s.value_counts(dropna=True, sort=True)
        # A pandas Categorical lists declared levels that never occur: not classes to learn
        # (the output dtype still declares them).
        counts = counts[counts > 0]
        self.has_null_ = bool(s.isna().any())
        room = self.max_categories - self.has_null_
        if len(counts) > room:
            head, tail = counts.iloc[: room - 1], counts.iloc[room - 1 :]
        else:
            head, tail = counts, counts.iloc[:0]
        self.categories_ = list(head.index)
        self.rare_values_ = list(tail.index)
        self.rare_weights_ = (tail.to_numpy() / max(tail.sum(), 1)).astype("float64")
        self.dtype_ = dtype_to_json(s)
        self.column_ = str(s.name)
        return self

    @property
    def spans(self) -> list[SpanSpec]:
        return [SpanSpec(self.n_classes, "softmax", "category")]

    @property
    def n_classes(self) -> int:
        return len(self.categories_) + bool(self.rare_values_) + self.has_null_

    @property
    def rare_code(self) -> int | None:
        return len(self.categories_) if self.rare_values_ else None

    @property
    def null_code(self) -> int | None:
        return self.n_classes - 1 if self.has_null_ else None

    def codes_of(self, values) -> np.ndarray:
        """Class code per value; raises naming the column for a value never seen in fit."""
        s = pd.Series(values).astype(object)
        codes = pd.Index(self.categories_, dtype=object).get_indexer(s)
        unknown = codes < 0
        if unknown.any() and self.rare_values_:
            in_tail = pd.Index(self.rare_values_, dtype=object).get_indexer(s[unknown]) >= 0
            codes[np.flatnonzero(unknown)[in_tail]] = self.rare_code
            unknown = codes < 0
        nulls = s.isna().to_numpy()
        if self.has_null_:
            codes[nulls] = self.null_code
            unknown &= ~nulls
        if unknown.any():
            bad = pd.unique(s[unknown])[:5].tolist()
            shown = self.categories_[:10]
            raise ValueError(
                f"column {self.column_!r}: value(s) {bad} were not seen when the model was fitted; "
                f"known values include {shown}"
            )
        return codes.astype("int32")

    def encode(self, s: pd.Series, rng: np.random.Generator) -> list[np.ndarray]:
        return [self.codes_of(s)]

    def decode(self, parts, rng, n, offset=0):
        codes = np.asarray(parts[0], dtype="int64")
        table = np.empty(self.n_classes, dtype=object)
        table[: len(self.categories_)] = self.categories_
        if self.has_null_:
            table[self.null_code] = None
        values = table[codes]
        if self.rare_values_:
            rare = codes == self.rare_code
            pool = np.empty(len(self.rare_values_), dtype=object)
            pool[:] = self.rare_values_
            values[rare] = pool[rng.choice(len(pool), int(rare.sum()), p=self.rare_weights_)]
        if self.dtype_["dtype"] == "object":  # None already marks the nulls
            return pd.Series(values, name=self.column_, dtype=object, copy=False)
        has_nulls = self.has_null_ and bool((codes == self.null_code).any())
        return restore_dtype(values, self.dtype_, self.column_, has_nulls)

    def to_dict(self) -> dict:
        return {
            "max_categories": self.max_categories,
            "column": self.column_,
            "dtype": self.dtype_,
            "has_null": self.has_null_,
            "categories": [to_json_scalar(v) for v in self.categories_],
            "rare_values": [to_json_scalar(v) for v in self.rare_values_],
            "rare_weights": self.rare_weights_.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> CategoricalTransform:
        self = cls(stored_number(data["max_categories"], "max_categories", integer=True))
        self.column_, self.dtype_ = data["column"], data["dtype"]
        if not isinstance(self.column_, str) or not isinstance(self.dtype_, dict):
            raise ValueError(f"column {self.column_!r}: bad column name or dtype record")
        if not isinstance(data["has_null"], bool):
            raise ValueError(f"column {self.column_!r}: has_null must be true or false")
        self.has_null_ = data["has_null"]
        for field in ("categories", "rare_values", "rare_weights"):
            if not isinstance(data[field], list):
                raise ValueError(f"column {self.column_!r}: {field} must be a list")
        self.categories_ = [from_json_scalar(v) for v in data["categories"]]
        self.rare_values_ = [from_json_scalar(v) for v in data["rare_values"]]
        weights = [stored_number(w, f"{self.column_!r} rare_weights") for w in data["rare_weights"]]
        self.rare_weights_ = np.asarray(weights, dtype="float64")
        if len(self.rare_weights_) != len(self.rare_values_) or (self.rare_weights_ < 0).any():
            raise ValueError(f"column {self.column_!r}: rare_weights do not fit rare_values")
        if len(weights) and abs(self.rare_weights_.sum() - 1) > 1e-6:
            raise ValueError(f"column {self.column_!r}: rare_weights must sum to 1")
        if self.n_classes < 1:
            raise ValueError(f"column {self.column_!r}: no category at all")
        return self
