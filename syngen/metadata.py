"""Column kinds of a table: detected from a frame, overridable, validated, JSON round-trippable."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

KINDS = ("numerical", "integer", "categorical", "boolean", "datetime", "id", "constant")

# A string column whose values are all distinct is an identifier, not a category, once the
# table is large enough for "all distinct" to mean something.
_MIN_ROWS_FOR_ID = 20


class MetadataError(ValueError):
    """Raised when a table and its metadata do not fit together."""


@dataclass
class Metadata:
    """The kind of every column, in table order.

    ``Metadata.detect(df)`` infers kinds; ``Metadata.detect(df, overrides={"zip": "categorical"})``
    or ``Metadata.from_dict(...)`` lets the user correct them.
    """

    columns: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, kind in self.columns.items():
            if kind not in KINDS:
                raise MetadataError(
                    f"column {name!r}: unknown kind {kind!r}; use one of {', '.join(KINDS)}"
                )

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def detect(cls, df: pd.DataFrame, overrides: Mapping[str, str] | None = None) -> Metadata:
        """Infer the kind of each column of ``df``; ``overrides`` maps column -> kind."""
        _check_frame(df)
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(map(str, df.columns)))
        if unknown:
            raise MetadataError(
                f"metadata names columns that are not in the data: {unknown}; "
                f"the data has {list(map(str, df.columns))}"
            )
        kinds = {str(c): overrides.get(str(c)) or detect_kind(df[c]) for c in df.columns}
        meta = cls(kinds)
        meta.validate(df)
        return meta

    @classmethod
    def from_dict(cls, data: Mapping) -> Metadata:
        columns = data.get("columns", data) if isinstance(data, Mapping) else None
        if not isinstance(columns, Mapping):
            raise MetadataError('metadata must be {"columns": {name: kind, ...}}')
        out = {}
        for name, kind in columns.items():
            if isinstance(kind, Mapping):  # also accept {"name": {"kind": ...}}
                kind = kind.get("kind") or kind.get("sdtype")
            out[str(name)] = kind
        return cls(out)

    @classmethod
    def load(cls, path: str | Path) -> Metadata:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise MetadataError(f"cannot read metadata file {path}: {exc}") from exc
        return cls.from_dict(data)

    def to_dict(self) -> dict:
        return {"columns": dict(self.columns)}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    # ---- queries ------------------------------------------------------------------------
    def names(self, *kinds: str) -> list[str]:
        return [n for n, k in self.columns.items() if k in kinds]

    # ---- validation ---------------------------------------------------------------------
    def validate(self, df: pd.DataFrame) -> None:
        """Raise ``MetadataError`` naming the column when ``df`` does not fit these kinds."""
        _check_frame(df)
        names = list(map(str, df.columns))
        missing = [n for n in self.columns if n not in names]
        if missing:
            raise MetadataError(f"columns {missing} are in the metadata but not in the data")
        extra = [n for n in names if n not in self.columns]
        if extra:
            raise MetadataError(
                f"columns {extra} are in the data but not in the metadata; add their kinds"
            )
        for name, kind in self.columns.items():
            s = df[name]
            nonnull = s.dropna()
            if len(nonnull) == 0 and kind != "constant":
                raise MetadataError(
                    f"column {name!r} is entirely null: drop it, or declare it 'constant'"
                )
            _check_modelled_dtype(s)
            if kind in ("numerical", "integer"):
                if not (is_number_column(s) and not pd.api.types.is_bool_dtype(s)):
                    raise MetadataError(
                        f"column {name!r} is declared {kind} but holds {s.dtype} values; "
                        "convert it to numbers or declare it 'categorical'"
                    )
                values = nonnull.to_numpy(dtype="float64")
                if not np.isfinite(values).all():
                    raise MetadataError(
                        f"column {name!r} holds inf/-inf; replace them with null or finite values"
                    )
                _check_exact_integers(nonnull, name)
            elif kind == "datetime":
                if not pd.api.types.is_datetime64_any_dtype(s):
                    raise MetadataError(
                        f"column {name!r} is declared datetime but holds {s.dtype}; "
                        f"convert it with pd.to_datetime(df[{name!r}])"
                    )
            elif kind == "boolean":
                if not set(pd.unique(nonnull)) <= {True, False}:
                    raise MetadataError(
                        f"column {name!r} is declared boolean but holds values other than "
                        "True/False; declare it 'categorical'"
                    )
            elif kind == "constant":
                if nonnull.nunique() > 1:
                    raise MetadataError(
                        f"column {name!r} is declared constant but holds "
                        f"{nonnull.nunique()} distinct values"
                    )
            elif kind == "id":
                if s.isna().any():
                    raise MetadataError(f"id column {name!r} has nulls; ids must be present")


def detect_kind(s: pd.Series) -> str:
    """The kind of one column, judged from its dtype and values."""
    name = str(s.name)
    nonnull = s.dropna()
    if len(nonnull) == 0:
        raise MetadataError(f"column {name!r} is entirely null: drop it, or declare it 'constant'")
    _check_modelled_dtype(s)
    n_unique = nonnull.nunique()
    if n_unique == 1 and len(nonnull) == len(s):
        return "constant"
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    if is_decimal(s):  # exact decimals (Parquet decimal128): amounts, modelled as numbers
        return "numerical"
    if pd.api.types.is_numeric_dtype(s):
        if pd.api.types.is_integer_dtype(s):
            if n_unique == len(s) >= _MIN_ROWS_FOR_ID and _looks_like_id_name(name):
                return "id"
            return "integer"
        values = nonnull.to_numpy(dtype="float64")
        if np.isfinite(values).all() and (values == np.round(values)).all():
            return "integer"
        return "numerical"
    if set(pd.unique(nonnull)) <= {True, False}:
        return "boolean"
    if n_unique == len(s) >= _MIN_ROWS_FOR_ID:
        return "id"
    return "categorical"


def kind_from_dtype(s: pd.Series) -> str:
    """The kind of one column from its dtype alone, reading no value (what a DP fit may use:
    the schema is public, counts of distinct values are not)."""
    _check_modelled_dtype(s)
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    if pd.api.types.is_integer_dtype(s):
        return "integer"
    if pd.api.types.is_numeric_dtype(s) or is_decimal(s):
        return "numerical"
    return "categorical"


def _check_modelled_dtype(s: pd.Series) -> None:
    name = str(s.name)
    if pd.api.types.is_timedelta64_dtype(s) or pd.api.types.is_complex_dtype(s):
        raise MetadataError(
            f"column {name!r} has dtype {s.dtype}, which syngen does not model; convert it "
            f"to numbers first, e.g. df[{name!r}].dt.total_seconds()"
        )
    if s.dtype != object:
        return
    types = set(s.dropna().map(type).unique())
    if any(issubclass(t, bytes | bytearray | memoryview) for t in types):
        raise MetadataError(
            f"column {name!r} holds bytes, which syngen does not model; decode them to text "
            f"(df[{name!r}].str.decode('utf-8')) or drop the column"
        )
    if any(issubclass(t, list | tuple | dict | set | np.ndarray) for t in types):
        raise MetadataError(
            f"column {name!r} holds nested values (lists or structs), which syngen does not "
            "model; flatten them into columns of their own, or drop the column"
        )


# Integers above this in magnitude are not all exact in float64, the models' number type.
_EXACT_INTEGERS = 2**53


def _check_exact_integers(nonnull: pd.Series, name: str) -> None:
    """Refuse an integer column modelled as a number that float64 cannot hold exactly: its
    values would come back rounded (or, past 2**63, wrapped around)."""
    if not pd.api.types.is_integer_dtype(nonnull.dtype) or nonnull.empty:
        return
    low, high = int(nonnull.min()), int(nonnull.max())
    if max(abs(low), abs(high)) > _EXACT_INTEGERS:
        raise MetadataError(
            f"column {name!r} holds integers beyond 2**53 (up to {max(abs(low), high)}), which "
            "a model's numbers cannot hold exactly: declare it 'id' (new values generated) or "
            "'categorical' (its values kept exactly) in the metadata, or rescale it"
        )


def is_decimal(s: pd.Series) -> bool:
    """Whether ``s`` holds ``decimal.Decimal`` values (and nulls) only, as Parquet's decimal
    columns read into pandas."""
    if s.dtype != object:
        return False
    nonnull = s.dropna()
    return len(nonnull) > 0 and bool(nonnull.map(type).eq(Decimal).all())


def is_number_column(s: pd.Series) -> bool:
    """Numbers: a numeric dtype, or decimals."""
    return pd.api.types.is_numeric_dtype(s) or is_decimal(s)


def _looks_like_id_name(name: str) -> bool:
    lowered = name.lower()
    return lowered == "id" or lowered.endswith(("_id", "id_", " id")) or lowered.startswith("id_")


def _check_frame(df: object) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(df).__name__}")
    if df.shape[1] == 0:
        raise MetadataError("data has no columns")
    if len(df) == 0:
        raise MetadataError("data has no rows")
    odd = [c for c in df.columns if not isinstance(c, str)]
    if odd:
        raise MetadataError(
            f"column names must be strings, got {odd[:5]}; "
            "rename them, e.g. df.columns = df.columns.astype(str)"
        )
    if df.columns.duplicated().any():
        dup = sorted(set(map(str, df.columns[df.columns.duplicated()])))
        raise MetadataError(f"data has duplicated column names {dup}; rename them")


def validated_metadata(metadata, data: pd.DataFrame) -> Metadata:
    """What a model's ``fit(data, metadata=...)`` accepts: None (detect), a Metadata, a dict or
    a JSON file path; validated against ``data``."""
    if metadata is None:
        return Metadata.detect(data)
    metadata = as_metadata(metadata)
    _check_frame(data)
    if set(map(str, data.columns)) - set(metadata.columns):
        # A partial metadata overrides the columns it names; the rest are detected.
        return Metadata.detect(data, overrides=metadata.columns)
    metadata.validate(data)
    return metadata


def as_metadata(metadata) -> Metadata:
    """A Metadata from a Metadata, a dict or a JSON file path (not validated)."""
    if isinstance(metadata, Metadata):
        return metadata
    if isinstance(metadata, str | Path):
        return Metadata.load(metadata)
    if isinstance(metadata, Mapping):
        return Metadata.from_dict(metadata)
    raise TypeError(
        f"metadata must be a Metadata, a dict or a JSON file path, got {type(metadata).__name__}"
    )


def is_null(value) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def parse_value(value, kind: str, column: str):
    """A condition value given as text (from the CLI) in the column's type."""
    if not isinstance(value, str) or kind in ("categorical", "constant"):
        return value
    try:
        if kind == "boolean":
            lowered = value.strip().lower()
            if lowered in ("true", "1", "yes"):
                return True
            if lowered in ("false", "0", "no"):
                return False
            raise ValueError(value)
        if kind == "integer":
            number = float(value)
            if not number.is_integer():
                raise ValueError(
                    f"condition {column}={value!r}: {column!r} holds whole numbers only; "
                    "give a whole number"
                )
            return int(number)
        if kind == "numerical":
            return float(value)
        if kind == "datetime":
            return pd.Timestamp(value)
    except ValueError as exc:
        if "whole numbers only" in str(exc):
            raise
        raise ValueError(f"condition {column}={value!r} is not a valid {kind} value") from None
    return value
