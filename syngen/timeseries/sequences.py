"""Sequences: a long frame as per-entity arrays, and back.

A long frame has one row per (entity, time step). ``Sequences.from_long`` checks it, sorts it
by (entity, time) and splits it into one attribute row per entity plus per-entity feature and
time arrays padded to the longest sequence; ``Sequences.to_long`` is the way back.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..transform.base import dtype_to_json, restore_dtype


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
        df = _checked_long_frame(df, entity, time, window)
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
        attributes = _static_columns(df[others], codes, entities, attributes)
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
        features = {name: _padded(df[name], codes, pos, (n, width)) for name in feature_names}
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


def _checked_long_frame(
    df: pd.DataFrame, entity: str, time: str, window: int | None
) -> pd.DataFrame:
    """``df`` checked (entity and time columns present, without nulls; time datetimes or
    integers), cut into windows with ``window``, sorted by (entity, time)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise ValueError("data has no rows; a time-series model needs sequences to learn")
    if not isinstance(entity, str) or not isinstance(time, str):
        raise TypeError("entity and time must be column names (strings)")
    if time not in df.columns:
        raise ValueError(f"time column {time!r} is not in the data; columns: {list(df.columns)}")
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
    return df.sort_values([entity, time], kind="stable").reset_index(drop=True)


def _static_columns(
    others: pd.DataFrame, codes: np.ndarray, entities, attributes: list[str] | None
) -> list[str]:
    """The attribute columns: those given (each checked constant per entity), or with None
    every column of ``others`` that is constant within every entity."""
    varying = others.groupby(codes).nunique(dropna=False).max() > 1
    if attributes is None:
        return [c for c in others.columns if not varying[c]]
    attributes = list(attributes)
    for name in attributes:
        if name not in others.columns:
            raise ValueError(
                f"attribute {name!r} is not a column of the data (or is the entity/time "
                f"column); columns: {list(others.columns)}"
            )
        if varying[name]:
            bad = others[name].groupby(codes).nunique(dropna=False)
            who = entities[int(np.flatnonzero(bad.to_numpy() > 1)[0])]
            raise ValueError(
                f"attribute {name!r} varies within entity {who!r}; an attribute must be "
                "constant per entity: leave it out of attributes to model it as a "
                "time-varying feature"
            )
    return attributes


def _padded(s: pd.Series, codes: np.ndarray, pos: np.ndarray, shape: tuple[int, int]):
    """One feature as an (entity, step) array: float64 with NaN, or object with None."""
    if _is_numeric(s):
        arr = np.full(shape, np.nan)
        arr[codes, pos] = s.to_numpy(dtype="float64", na_value=np.nan)
    else:
        arr = np.full(shape, None, dtype=object)
        arr[codes, pos] = s.astype(object).where(s.notna(), None).to_numpy()
    return arr


def _cut_windows(df: pd.DataFrame, entity: str, time: str, window: int) -> pd.DataFrame:
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 2:
        raise ValueError(f"window must be an integer of at least 2 rows, got {window!r}")
    if entity in df.columns:
        raise ValueError(
            f"window cuts ONE long series into sequences and writes their numbers to {entity!r}, "
            f"but the data already has a column {entity!r}: drop it, or leave window=None"
        )
    df = df.sort_values(time, kind="stable").reset_index(drop=True)
    if len(df) < 2 * window:
        raise ValueError(
            f"window={window} cuts the series' {len(df)} rows into fewer than two sequences, "
            f"and a model learns nothing from one; take a window well below the series' length "
            f"(e.g. {max(2, len(df) // 20)})"
        )
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
