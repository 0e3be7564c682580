"""Canary rows for the one-run audit: records made to stand out from the table, so that a model
that remembers one can be caught doing so.

Every value of a canary is drawn on its own, uniformly over what the column holds: a category
chosen without regard to its frequency (rare ones as often as common ones), a number uniform
between the column's smallest and largest value. The columns' joint pattern is broken and
rare values are over-represented, so no real row resembles a canary, nor does one canary
resemble another: what a model says about one canary is evidence about that canary alone.

In every text column a canary holds a value of its own (``canary-17``), the rarest category
there is: one person's employer, one patient's diagnosis code. A pipeline that keeps every
category it saw gives such a value away; one that releases categories under DP must not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metadata import Metadata


def make_canaries(
    data: pd.DataFrame, metadata: Metadata, m: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[str]]:
    """``m`` canary rows with the columns and dtypes of ``data``, and the text columns in which
    each canary holds a value of its own."""
    out, own = {}, []
    for column, kind in metadata.columns.items():
        s = data[column]
        values = s.dropna()
        if kind == "categorical" and _is_text(s):
            drawn = pd.Series([f"canary-{i}" for i in range(m)], dtype=object)
            own.append(column)
        elif kind in ("categorical", "boolean", "constant"):
            levels = pd.unique(values)
            drawn = pd.Series(levels[rng.integers(0, len(levels), m)], dtype=object)
        elif kind == "id":
            if pd.api.types.is_integer_dtype(s):
                drawn = pd.Series(int(values.max()) + 1 + np.arange(m))
            else:
                drawn = pd.Series([f"canary-{i}" for i in range(m)], dtype=object)
        elif kind == "datetime":
            ticks = values.astype("int64")
            drawn = pd.Series(
                rng.integers(int(ticks.min()), int(ticks.max()) + 1, m).astype(
                    f"datetime64[{values.dt.unit}]"
                )
            )
            if values.dt.tz is not None:
                drawn = drawn.dt.tz_localize("UTC").dt.tz_convert(values.dt.tz)
        elif kind == "integer":
            x = values.to_numpy(dtype="float64")
            drawn = pd.Series(rng.integers(int(x.min()), int(x.max()) + 1, m))
        else:
            x = values.to_numpy(dtype="float64")
            drawn = pd.Series(rng.uniform(x.min(), x.max(), m))
        out[column] = drawn.astype(s.dtype)
    return pd.DataFrame(out, columns=data.columns), own


def _is_text(s: pd.Series) -> bool:
    """A column of free text values (object or string dtype, strings in it): a new value fits
    its dtype, which a pandas Categorical's fixed levels or a number column would refuse."""
    if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
        return False
    return all(isinstance(v, str) for v in s.dropna().iloc[:100])
