"""Conditions on column values (``sample(conditions=...)``, the CLI's ``-c col=value``):
parsed into each column's type, refused when the model cannot make them, and the row filter
of rejection sampling. Both models condition through a fitted ``TableTransformer``."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .metadata import is_null, parse_value
from .transform import TableTransformer
from .transform.categorical import CategoricalTransform


def parse_conditions(tt: TableTransformer, conditions: Mapping[str, object]) -> dict:
    """column -> value in the column's type; an error names a condition that can never hold
    (an unseen category, a null in a column that had none, a value outside the range seen,
    two values that contradict a derived column)."""
    kinds = tt.metadata_.columns
    out = {}
    for column, value in conditions.items():
        if column not in kinds:
            raise ValueError(f"condition on unknown column {column!r}; columns: {list(kinds)}")
        kind = kinds[column]
        if kind == "id":
            raise ValueError(f"cannot condition on id column {column!r}: ids are regenerated")
        value = parse_value(value, kind, column)
        if kind == "integer" and isinstance(value, float) and not value.is_integer():
            raise ValueError(
                f"condition {column}={value!r}: {column!r} holds whole numbers only; give a "
                "whole number"
            )
        t = tt.transform_of(column)
        inner = getattr(t, "inner", t)
        if isinstance(t, CategoricalTransform):
            t.codes_of([value])  # raises, naming the column, for a value never seen
        elif is_null(value):
            if inner is t:
                raise ValueError(f"column {column!r} had no nulls; a null condition is impossible")
        elif hasattr(inner, "min_"):
            x = float(inner._to_float(pd.Series([value])).item())
            if not inner.min_ <= x <= inner.max_:
                raise ValueError(
                    f"condition {column}={value!r} is outside the range seen in the data; "
                    "it cannot be generated"
                )
        elif kind == "constant":
            if value != getattr(t, "value_", value):
                raise ValueError(f"column {column!r} is constant; {value!r} is impossible")
        out[column] = value
    for column, (source, lookup) in tt.derived_.items():
        if column in out and source in out:
            code = tt.transform_of(source).codes_of([out[source]])[0]
            if lookup[code] != tt.transform_of(column).codes_of([out[column]])[0]:
                raise ValueError(
                    f"conditions {source}={out[source]!r} and {column}={out[column]!r} "
                    f"contradict each other: in the data {column!r} is a function of "
                    f"{source!r}; drop one of them"
                )
    return out


def too_rare(produced: int, candidates: int, n: int, floor: int) -> bool:
    """Whether rejection sampling should give up: after ``floor`` candidates, when none has
    matched, or when even the optimistic bound on the acceptance rate (the rate plus three
    standard errors, 3 / candidates when none matched) needs more than ``max(50 n, floor)``
    candidates in all -- evidence, whatever n is."""
    if candidates < floor:
        return False
    if produced == 0:
        return True
    rate_high = (produced + 3 * np.sqrt(produced)) / candidates
    return candidates + (n - produced) / rate_high > max(50 * n, floor)


def rows_matching(frame: pd.DataFrame, wanted: dict) -> np.ndarray:
    """A boolean mask of the rows of ``frame`` that hold every value of ``wanted``."""
    keep = np.ones(len(frame), dtype=bool)
    for column, value in wanted.items():
        s = frame[column]
        keep &= (
            s.isna().to_numpy()
            if is_null(value)
            else (s == value).fillna(False).to_numpy(dtype=bool)
        )
    return keep
