"""Split: the fixed partition of a bench table into training, holdout and reference rows.

Every model of a bench is trained on the same training rows and scored against the same
holdout rows. The reference rows, a third part no model sees, are the "real data" baseline: a
fresh real sample scored exactly as a synthetic one is, so that each score has the scale of
what real rows reach. With a target of few classes the three parts keep its class shares
(stratified); for time series whole entities are split, never their rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

# A target with at most this many distinct values is stratified on.
_STRATIFY_MAX_CLASSES = 50


@dataclass
class Split:
    train: pd.DataFrame
    holdout: pd.DataFrame
    reference: pd.DataFrame
    record: dict  # what the results file says about it


def split_table(
    df: pd.DataFrame,
    *,
    seed: int,
    target: str | None = None,
    entity: str | None = None,
    holdout_share: float = 0.2,
    reference_share: float = 0.1,
) -> Split:
    """``df`` in three parts drawn by ``numpy.random.default_rng(seed)``."""
    if not (0 < holdout_share and 0 < reference_share and holdout_share + reference_share < 1):
        raise ValueError(
            "holdout_share and reference_share must be positive and sum to less than 1, got "
            f"{holdout_share} and {reference_share}"
        )
    rng = np.random.default_rng(seed)
    if entity is not None:
        units = pd.Series(pd.unique(df[entity]))
        groups = pd.Series(0, index=units.index)
    else:
        units = pd.Series(np.arange(len(df)))
        stratify = target is not None and df[target].nunique() <= _STRATIFY_MAX_CLASSES
        groups = (
            pd.Series(pd.factorize(df[target].astype(str))[0])
            if stratify
            else pd.Series(0, index=units.index)
        )
    part = np.zeros(len(units), dtype=np.int8)  # 0 train, 1 holdout, 2 reference
    for _, where in groups.groupby(groups).groups.items():
        where = rng.permutation(np.asarray(where))
        n_hold = round(holdout_share * len(where))
        n_ref = round(reference_share * len(where))
        part[where[:n_hold]] = 1
        part[where[n_hold : n_hold + n_ref]] = 2
    if min(np.bincount(part, minlength=3)) == 0:
        raise ValueError(
            f"a table of {len(units)} {'entities' if entity else 'rows'} is too small to split "
            "into training, holdout and reference parts"
        )
    if entity is not None:
        which = df[entity].map(dict(zip(units, part, strict=True))).to_numpy()
    else:
        which = part
    parts = [df[which == k].reset_index(drop=True) for k in range(3)]
    digest = hashlib.sha256(which.astype(np.int8).tobytes()).hexdigest()[:16]
    record = {
        "seed": seed,
        "unit": "entity" if entity else "row",
        "stratified_on": None if entity or groups.nunique() == 1 else target,
        "holdout_share": holdout_share,
        "reference_share": reference_share,
        "rows": {"train": len(parts[0]), "holdout": len(parts[1]), "reference": len(parts[2])},
        "assignment_sha256": digest,
    }
    return Split(*parts, record=record)
