"""Fidelity: sdmetrics' QualityReport on our metadata, and the baseline a model must beat."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..metadata import Metadata

_SDTYPES = {
    "numerical": "numerical",
    "integer": "numerical",
    "categorical": "categorical",
    "boolean": "boolean",
    "datetime": "datetime",
    "id": "id",
    "constant": "categorical",
}


def sdmetrics_metadata(metadata: Metadata) -> dict:
    """Our column kinds in the single-table metadata dict sdmetrics expects."""
    return {"columns": {n: {"sdtype": _SDTYPES[k]} for n, k in metadata.columns.items()}}


def quality_scores(
    real: pd.DataFrame, synthetic: pd.DataFrame, metadata: Metadata | None = None
) -> dict[str, float]:
    """sdmetrics QualityReport: overall, Column Shapes and Column Pair Trends (all in [0, 1])."""
    from sdmetrics.reports import QualityReport

    metadata = metadata or Metadata.detect(real)
    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(
            {"table": real},
            {"table": synthetic[real.columns]},
            {"tables": {"table": sdmetrics_metadata(metadata)}},
            verbose=False,
        )
    props = report.get_properties().set_index("Property")["Score"]
    return {
        "quality": float(report.get_score()),
        "column_shapes": float(props["Column Shapes"]),
        "column_pair_trends": float(props["Column Pair Trends"]),
    }


def independent_baseline(df: pd.DataFrame, n: int, seed: int | None = None) -> pd.DataFrame:
    """Each column resampled on its own: perfect marginals, no dependence between columns.

    The floor a generator must beat on Column Pair Trends to have learned anything joint.
    """
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {c: df[c].iloc[rng.integers(0, len(df), n)].to_numpy() for c in df.columns}
    ).astype(df.dtypes.to_dict())
