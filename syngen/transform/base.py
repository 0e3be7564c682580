"""What every column transform shares: the span it occupies, how its dtype comes back, and the
registry that rebuilds a transform from its ``to_dict`` by name."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SpanSpec:
    """One block of the model's row vector.

    ``activation`` is ``"tanh"`` (one scalar in [-1, 1]) or ``"softmax"`` (a one-hot of
    ``width`` classes); ``role`` says what the block means: ``value``, ``mode``, ``category``
    or ``null``. Only ``category`` blocks are offered to the conditional vector.
    """

    width: int
    activation: str
    role: str


class ColumnTransform:
    """Reversible map between one column and its encoded parts.

    ``encode`` returns one array per span: float32 scalars for tanh spans, int32 class codes for
    softmax spans (the compact form: the dense one-hot is built per batch, never for the table).
    """

    name: str = ""
    spans: list[SpanSpec]
    # name -> class, filled as each transform class is defined: a model file names its
    # transforms, and ``transform_from_dict`` needs no list of them.
    registry: dict[str, type[ColumnTransform]] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            ColumnTransform.registry[cls.name] = cls

    def fit(self, s: pd.Series, rng: np.random.Generator) -> ColumnTransform:
        raise NotImplementedError

    def encode(self, s: pd.Series, rng: np.random.Generator) -> list[np.ndarray]:
        raise NotImplementedError

    def decode(self, parts: list[np.ndarray], rng: np.random.Generator, n: int, offset: int = 0):
        raise NotImplementedError

    def to_dict(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_dict(cls, data: dict) -> ColumnTransform:
        raise NotImplementedError


def stored_number(value, field: str, *, integer: bool = False, low: float | None = None):
    """A number read from a model file: finite, an integer where asked, at least ``low``;
    anything else is a ValueError naming the field (a file from someone else is untrusted)."""
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not np.isfinite(value):
        want = "an integer" if integer else "a finite number"
        raise ValueError(f"{field} must be {want}, got {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{field} must be at least {low}, got {value!r}")
    return value


def stored_array(values, field: str, *, nonnegative: bool = False) -> np.ndarray:
    """A non-empty list of finite numbers read from a model file (none below 0 with
    ``nonnegative``)."""
    if not isinstance(values, list) or not values:
        raise ValueError(f"{field} must be a non-empty list of numbers")
    for v in values:
        stored_number(v, field)
    out = np.asarray(values, dtype="float64")
    if nonnegative and (out < 0).any():
        raise ValueError(f"{field} must not be negative")
    return out


def transform_from_dict(data: dict) -> ColumnTransform:
    """The transform ``data`` describes (``to_dict`` plus its ``type``, the transform's name)."""
    data = dict(data)
    kind = data.pop("type", None)
    if kind not in ColumnTransform.registry:
        raise ValueError(f"unknown column transform {kind!r} in model file")
    return ColumnTransform.registry[kind].from_dict(data)


def dtype_to_json(s: pd.Series) -> dict:
    """The column's dtype, in a form ``restore_dtype`` can rebuild (categories included)."""
    out = {"dtype": str(s.dtype)}
    if s.dtype == object and len(s.dropna()) and s.dropna().map(type).eq(Decimal).all():
        out["dtype"] = "decimal"  # numbers back as Decimal values (Parquet decimal128)
    if isinstance(s.dtype, pd.StringDtype):  # str() drops the storage: string[pyarrow]
        out["dtype"] = f"string[{s.dtype.storage}]"
    if isinstance(s.dtype, pd.CategoricalDtype):
        out["categories"] = [to_json_scalar(v) for v in s.dtype.categories]
        out["ordered"] = bool(s.dtype.ordered)
    return out


def restore_dtype(values, dtype: dict, name: str, has_nulls: bool | None = None) -> pd.Series:
    """A Series named ``name`` with the original dtype described by ``dtype_to_json``.

    ``has_nulls=False`` (the caller knows) skips the null scans: on object columns they cost
    more than the rest of decoding."""
    kind = dtype["dtype"]
    target = _numpy_dtype(kind)
    if target is not None and isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        # Numbers to a numpy dtype: numpy's cast, not pandas' astype, which costs more than
        # the rest of a numeric column's decoding.
        if has_nulls is None:
            has_nulls = values.dtype.kind == "f" and bool(np.isnan(values).any())
        if not has_nulls:
            return pd.Series(values.astype(target, copy=False), name=name, copy=False)
    s = pd.Series(values, name=name)
    if kind == "category":
        cat = pd.CategoricalDtype(dtype["categories"], ordered=dtype.get("ordered", False))
        return s.astype(cat)
    if has_nulls is None:
        has_nulls = bool(s.isna().any())
    if kind == "object":
        return s.astype(object).where(s.notna(), None) if has_nulls else s.astype(object)
    if kind == "decimal":
        x = pd.to_numeric(s, errors="coerce")
        return pd.Series(
            [None if pd.isna(v) else Decimal(repr(float(v))) for v in x], name=name, dtype=object
        )
    if kind in ("bool", "boolean") and has_nulls:
        return s.astype("boolean")
    if kind.startswith("int") and has_nulls:  # a numpy int column cannot hold a null
        return s.astype(kind.replace("int", "Int"))
    return s.astype(kind)


def _numpy_dtype(kind: str) -> np.dtype | None:
    """The numpy dtype named ``kind`` if it is a plain number or bool dtype, else None."""
    try:
        dtype = np.dtype(kind)
    except TypeError:
        return None
    return dtype if dtype.kind in "biuf" else None


def to_json_scalar(value):
    """A category or constant as a JSON value (numpy scalars and timestamps included)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return {"timestamp": value.isoformat()}
    if isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot store value {value!r} of type {type(value).__name__} in a model file")


def from_json_scalar(value):
    if isinstance(value, dict) and "timestamp" in value:
        return pd.Timestamp(value["timestamp"])
    return value
