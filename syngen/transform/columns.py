"""Transforms for the remaining column kinds: numbers, datetimes, nulls, constants and ids."""

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
    transform_from_dict,
)
from .continuous import ModeSpecificNormalizer


class NumericalTransform(ColumnTransform):
    """A continuous column: mode-specific normalization, then back inside the seen range.

    ``integer=True`` rounds to whole numbers; otherwise values are rounded to the number of
    decimals the data uses (money with cents comes back with cents).
    """

    name = "numerical"

    def __init__(self, integer: bool = False, max_modes: int = 10, sample_size: int = 10_000):
        self.integer = integer
        self.max_modes = max_modes
        self.sample_size = sample_size

    def fit(self, s: pd.Series, rng: np.random.Generator) -> NumericalTransform:
        x = self._to_float(s)
        self.min_, self.max_ = float(x.min()), float(x.max())
        self.decimals_ = 0 if self.integer else _decimals(x)
        self.normalizer_ = ModeSpecificNormalizer(self.max_modes, sample_size=self.sample_size)
        self.normalizer_.fit(x, rng)
        if self.normalizer_.widened_ is not None:  # a rare value smoothed: let it spread
            self.min_ = min(self.min_, self.normalizer_.widened_[0])
            self.max_ = max(self.max_, self.normalizer_.widened_[1])
        self.dtype_ = dtype_to_json(s)
        self.column_ = str(s.name)
        return self

    @property
    def spans(self) -> list[SpanSpec]:
        return [SpanSpec(1, "tanh", "value"), SpanSpec(self.normalizer_.n_modes, "softmax", "mode")]

    def _to_float(self, s: pd.Series) -> np.ndarray:
        return s.to_numpy(dtype="float64")

    def _from_float(self, x: np.ndarray) -> pd.Series:
        return restore_dtype(x, self.dtype_, self.column_)

    def encode(self, s, rng):
        scalar, mode = self.normalizer_.transform(self._to_float(s), rng)
        return [scalar, mode]

    def decode(self, parts, rng, n, offset=0):
        x = self.normalizer_.inverse_transform(parts[0], parts[1])
        x = np.clip(x, self.min_, self.max_)
        if self.decimals_ is not None:
            x = np.round(x, self.decimals_)
        return self._from_float(x)

    def to_dict(self) -> dict:
        return {
            "integer": self.integer,
            "column": self.column_,
            "dtype": self.dtype_,
            "min": self.min_,
            "max": self.max_,
            "decimals": self.decimals_,
            "normalizer": self.normalizer_.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict):
        if not isinstance(data["integer"], bool):
            raise ValueError(f"integer must be true or false, got {data['integer']!r}")
        self = cls(integer=data["integer"])
        self.column_, self.dtype_ = _column_and_dtype(data)
        self.min_ = stored_number(data["min"], f"{self.column_!r} min")
        self.max_ = stored_number(data["max"], f"{self.column_!r} max", low=self.min_)
        decimals = data["decimals"]
        if decimals is not None:
            stored_number(decimals, f"{self.column_!r} decimals", integer=True, low=0)
            if decimals > 15:
                raise ValueError(f"{self.column_!r} decimals must be at most 15, got {decimals}")
        self.decimals_ = decimals
        self.normalizer_ = ModeSpecificNormalizer.from_dict(data["normalizer"])
        self._restore_extra(data)
        return self

    def _restore_extra(self, data: dict) -> None:
        pass


class DatetimeTransform(NumericalTransform):
    """Datetimes as numbers in their own unit since the earliest value; tz and unit preserved.

    Values come back rounded to the coarsest step the data uses (day, hour, minute, second),
    so a date column stays a date column.
    """

    name = "datetime"
    _STEPS = ("D", "h", "min", "s", "ms", "us")

    def fit(self, s, rng):
        self.unit_ = s.dt.unit
        self.tz_ = None if s.dt.tz is None else str(s.dt.tz)
        self.origin_ = int(s.dropna().array.asi8.min())
        super().fit(s, rng)
        ticks = s.dropna().array.asi8 - self.origin_
        self.step_ = 1
        for step in self._STEPS:
            size = int(pd.Timedelta(1, unit=step) / pd.Timedelta(1, unit=self.unit_))
            if size >= 1 and (ticks % size == 0).all():
                self.step_ = size
                break
        return self

    def _to_float(self, s):
        return (s.array.asi8 - self.origin_).astype("float64")

    def _from_float(self, x):
        ticks = np.round(x / self.step_).astype("int64") * self.step_ + self.origin_
        values = pd.Series(ticks.astype(f"datetime64[{self.unit_}]"), name=self.column_)
        if self.tz_ is not None:
            values = values.dt.tz_localize("UTC").dt.tz_convert(self.tz_)
        return values

    def to_dict(self):
        out = super().to_dict()
        out.update(unit=self.unit_, tz=self.tz_, origin=self.origin_, step=self.step_)
        return out

    def _restore_extra(self, data):
        self.unit_, self.tz_ = data["unit"], data["tz"]
        if self.unit_ not in ("s", "ms", "us", "ns"):
            raise ValueError(f"{self.column_!r} unit must be s, ms, us or ns, got {self.unit_!r}")
        if self.tz_ is not None and not isinstance(self.tz_, str):
            raise ValueError(f"{self.column_!r} tz must be a zone name or null, got {self.tz_!r}")
        self.origin_ = stored_number(data["origin"], f"{self.column_!r} origin", integer=True)
        self.step_ = stored_number(data["step"], f"{self.column_!r} step", integer=True, low=1)


class NullableTransform(ColumnTransform):
    """Adds a null/not-null class to a transform whose values cannot be null.

    Null rows are filled with values drawn from the column before the inner encoding, so the
    inner parts of a null row look like any other row instead of an arbitrary sentinel.
    """

    name = "nullable"

    def __init__(self, inner: ColumnTransform):
        self.inner = inner

    @property
    def spans(self):
        return [*self.inner.spans, SpanSpec(2, "softmax", "null")]

    def fit(self, s, rng):
        self.inner.fit(s.dropna(), rng)
        return self

    def encode(self, s, rng):
        null = s.isna().to_numpy()
        filled = s.copy()
        if null.any():
            pool = s[~null].to_numpy()
            filled[null] = pool[rng.integers(0, len(pool), int(null.sum()))]
        return [*self.inner.encode(filled, rng), null.astype("int32")]

    def decode(self, parts, rng, n, offset=0):
        values = self.inner.decode(parts[:-1], rng, n, offset)
        null = np.asarray(parts[-1]) == 1
        if null.any():
            values = values.copy()
            if pd.api.types.is_integer_dtype(values.dtype) and not isinstance(
                values.dtype, pd.api.extensions.ExtensionDtype
            ):
                values = values.astype(values.dtype.name.replace("int", "Int"))
            values[null] = None
        return values

    def to_dict(self):
        return {"inner": {"type": self.inner.name, **self.inner.to_dict()}}

    @classmethod
    def from_dict(cls, data):
        return cls(transform_from_dict(data["inner"]))


class ConstantTransform(ColumnTransform):
    """A column with a single value: nothing to learn, repeated on the way back."""

    name = "constant"
    spans: list[SpanSpec] = []

    def fit(self, s, rng):
        nonnull = s.dropna()
        self.value_ = to_json_scalar(nonnull.iloc[0]) if len(nonnull) else None
        self.dtype_ = dtype_to_json(s)
        self.column_ = str(s.name)
        return self

    def encode(self, s, rng):
        return []

    def decode(self, parts, rng, n, offset=0):
        values = [from_json_scalar(self.value_)] * n
        if self.dtype_["dtype"].startswith("datetime64"):
            return pd.Series(pd.to_datetime(values), name=self.column_).astype(self.dtype_["dtype"])
        return restore_dtype(values, self.dtype_, self.column_)

    def to_dict(self):
        return {"column": self.column_, "dtype": self.dtype_, "value": self.value_}

    @classmethod
    def from_dict(cls, data):
        self = cls()
        self.column_, self.dtype_ = _column_and_dtype(data)
        self.value_ = data["value"]
        return self


class IdTransform(ColumnTransform):
    """A unique key: not modelled; regenerated unique, after the largest real integer id."""

    name = "id"
    spans: list[SpanSpec] = []

    def fit(self, s, rng):
        self.dtype_ = dtype_to_json(s)
        self.column_ = str(s.name)
        self.integer_ = bool(pd.api.types.is_integer_dtype(s))
        self.start_ = int(s.max()) + 1 if self.integer_ else 0
        return self

    def encode(self, s, rng):
        return []

    def decode(self, parts, rng, n, offset=0):
        numbers = np.arange(self.start_ + offset, self.start_ + offset + n, dtype="int64")
        if self.integer_:
            return restore_dtype(numbers, self.dtype_, self.column_)
        return restore_dtype([f"syn-{i}" for i in numbers], self.dtype_, self.column_)

    def to_dict(self):
        return {
            "column": self.column_,
            "dtype": self.dtype_,
            "integer": self.integer_,
            "start": self.start_,
        }

    @classmethod
    def from_dict(cls, data):
        self = cls()
        self.column_, self.dtype_ = _column_and_dtype(data)
        if not isinstance(data["integer"], bool):
            raise ValueError(f"{self.column_!r} integer must be true or false")
        self.integer_ = data["integer"]
        self.start_ = stored_number(data["start"], f"{self.column_!r} start", integer=True)
        return self


def _column_and_dtype(data: dict) -> tuple[str, dict]:
    """A stored transform's column name and dtype record, checked for their types."""
    column, dtype = data["column"], data["dtype"]
    if not isinstance(column, str):
        raise ValueError(f"a column name must be a string, got {column!r}")
    if not isinstance(dtype, dict) or not isinstance(dtype.get("dtype"), str):
        raise ValueError(f"column {column!r}: dtype must be an object with a dtype name")
    return column, dtype


def _decimals(x: np.ndarray, most: int = 6) -> int | None:
    """The fewest decimals that represent every value exactly, or None past ``most``."""
    sample = x[:10_000]
    for d in range(most + 1):
        scaled = sample * 10**d
        if np.allclose(scaled, np.round(scaled), rtol=0, atol=1e-6):
            return d
    return None
