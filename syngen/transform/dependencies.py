"""Discrete columns that are a function of another discrete column, found when fitting.

Tables often state one fact twice: a code and its label (Adult's education and
education_num), a city and its state, a diagnosis code and its chapter. The GAN draws each
column's class on its own given the row's hidden state, so it learns such a pairing only
approximately (docs/experiments.md), and a detector reads the mismatches at a glance. A
column that the data shows to be a function of another is therefore not modelled: when rows
are decoded its class is looked up from the other column's class.
"""

from __future__ import annotations

import numpy as np

# A lookup is kept only if, were the two columns independent, every class of the source
# holding a single class of the other would be an accident rarer than this. One row per source
# class proves nothing (chance 1); thirty classes of thirty rows leave no doubt.
MAX_CHANCE = 1e-9
_PROBE_ROWS = 2_000  # most pairs are rejected on a prefix this long


def find_derived(
    codes: dict[str, np.ndarray], widths: dict[str, int]
) -> dict[str, tuple[str, np.ndarray]]:
    """``{derived column: (source column, source class -> derived class)}``.

    ``codes`` holds each candidate column's class codes over all rows (every class in
    ``range(widths[c])`` occurs), in table order. Wider columns are visited first, so a
    source is always kept before the columns it determines; of two columns that determine
    each other the first in the table is kept. A chain (a city determines its county, which
    determines its state) derives both from the city.
    """
    sources: list[str] = []
    derived: dict[str, tuple[str, np.ndarray]] = {}
    for column in sorted(codes, key=lambda c: -widths[c]):  # stable: table order on ties
        for source in sources:
            lookup = _lookup(codes[source], codes[column], widths[source], widths[column])
            if lookup is not None and _log_chance(codes[source], codes[column]) < _LOG_MAX:
                derived[column] = (source, lookup)
                break
        else:
            sources.append(column)
    return derived


_LOG_MAX = float(np.log(MAX_CHANCE))


def _log_chance(a: np.ndarray, b: np.ndarray) -> float:
    """log P(each class of ``a`` holds one class of ``b``) if ``a`` and ``b`` were independent:
    the sum over the classes of ``a`` of log sum_k p_k ** (rows of the class)."""
    share = np.bincount(b) / len(b)
    rows = np.bincount(a)
    rows = rows[rows > 0]
    pure = (share[None, :] ** rows[:, None]).sum(axis=1)
    return float(np.log(np.maximum(pure, 1e-300)).sum())


def _lookup(a: np.ndarray, b: np.ndarray, width_a: int, width_b: int) -> np.ndarray | None:
    """The class of ``b`` for each class of ``a`` if ``b`` is a function of ``a``, else None."""
    for rows in (slice(0, _PROBE_ROWS), slice(None)):
        pairs = np.bincount(
            a[rows].astype(np.int64) * width_b + b[rows], minlength=width_a * width_b
        ).reshape(width_a, width_b)
        if ((pairs > 0).sum(axis=1) > 1).any():
            return None
    return pairs.argmax(axis=1)
