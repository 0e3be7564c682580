"""Fidelity: how much a synthetic table looks like the real one.

sdmetrics' QualityReport on our metadata, category and range coverage, a real-vs-synthetic
detection classifier, association matrices for the heatmaps, and the independent-columns
baseline a model must beat.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import PredefinedSplit, cross_val_predict

from ..metadata import Metadata
from .features import (
    CATEGORY_KINDS,
    NULL_LABEL,
    NUMERIC_KINDS,
    RowEncoder,
    as_labels,
    as_numbers,
)

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


def _quality_report(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: Metadata):
    from sdmetrics.reports import QualityReport

    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(
            {"table": real},
            {"table": synthetic[real.columns]},
            {"tables": {"table": sdmetrics_metadata(metadata)}},
            verbose=False,
        )
    return report


def quality_scores(
    real: pd.DataFrame, synthetic: pd.DataFrame, metadata: Metadata | None = None
) -> dict[str, float]:
    """sdmetrics QualityReport: overall, Column Shapes and Column Pair Trends (all in [0, 1])."""
    return quality_details(real, synthetic, metadata or Metadata.detect(real))[0]


def quality_details(
    real: pd.DataFrame, synthetic: pd.DataFrame, metadata: Metadata
) -> tuple[dict[str, float], dict[str, list[dict]]]:
    """The three QualityReport scores, and its per-column and per-pair rows."""
    report = _quality_report(real, synthetic, metadata)
    props = report.get_properties().set_index("Property")["Score"]
    scores = {
        "quality": float(report.get_score()),
        "column_shapes": float(props["Column Shapes"]),
        "column_pair_trends": float(props["Column Pair Trends"]),
    }
    shapes = report.get_details("Column Shapes")
    pairs = report.get_details("Column Pair Trends")
    details = {
        "column_shapes": [
            {"column": r.Column, "metric": r.Metric, "score": _num(r.Score)}
            for r in shapes.itertuples()
        ],
        "column_pair_trends": [
            {
                "columns": [r[1], r[2]],
                "metric": r[3],
                "score": _num(r[4]),
                "real": _num(r[5]),
                "synthetic": _num(r[6]),
            }
            for r in pairs[
                [
                    "Column 1",
                    "Column 2",
                    "Metric",
                    "Score",
                    "Real Correlation",
                    "Synthetic Correlation",
                ]
            ].itertuples()
        ],
    }
    return scores, details


def _num(x) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def coverage(
    real: pd.DataFrame, synthetic: pd.DataFrame, metadata: Metadata
) -> dict[str, dict[str, float]]:
    """Per column: share of real categories the synthetic rows use (category coverage), or
    share of the real [min, max] range they span (range coverage, as sdmetrics defines it);
    and 1 - |real null share - synthetic null share| (missing values: Column Shapes ignores
    nulls, so an all-null synthetic column would go unnoticed there)."""
    out: dict[str, dict[str, float]] = {"category": {}, "range": {}, "missing": {}}
    for c, kind in metadata.columns.items():
        if kind in NUMERIC_KINDS:
            r, syn = as_numbers(real[c]), as_numbers(synthetic[c])
            r_null, s_null = np.isnan(r), np.isnan(syn)
        else:
            r, syn = as_labels(real[c]), as_labels(synthetic[c])
            r_null, s_null = r == NULL_LABEL, syn == NULL_LABEL
        out["missing"][c] = float(1 - abs(r_null.mean() - s_null.mean()))
        if kind in CATEGORY_KINDS:
            seen = set(r)
            out["category"][c] = len(seen & set(syn)) / len(seen)
        elif kind in NUMERIC_KINDS:
            lo, hi = np.nanmin(r), np.nanmax(r)
            if hi == lo or s_null.all():
                out["range"][c] = float(hi == lo)
                continue
            missed = max(0.0, np.nanmin(syn) - lo) + max(0.0, hi - np.nanmax(syn))
            out["range"][c] = float(np.clip(1 - missed / (hi - lo), 0, 1))
    return out


def detection(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    encoder: RowEncoder,
    hashes: tuple[np.ndarray, np.ndarray],
    folds: int = 3,
    seed: int = 0,
) -> dict[str, float]:
    """ROC AUC of a classifier telling real rows from synthetic ones, on rows it did not see.

    0.5: cannot tell them apart (best); 1.0: always can. Identical rows are kept in the same
    fold: otherwise a held-out row whose twin sits in training with the opposite label gets
    the wrong answer on purpose, and copies of the real rows read as "better than real"
    (AUC below 0.5). ``hashes`` are the row hashes of ``real`` and ``synthetic``.
    """
    x_real, mask = encoder.tree_features(real)
    x_syn, _ = encoder.tree_features(synthetic)
    x = np.vstack([x_real, x_syn])
    y = np.r_[np.zeros(len(real), int), np.ones(len(synthetic), int)]
    group = np.concatenate(hashes) ^ np.uint64(seed * 0x9E3779B97F4A7C15 % 2**64)
    fold = (group % np.uint64(folds)).astype(int)
    clf = HistGradientBoostingClassifier(
        categorical_features=mask if mask.any() else None, max_iter=100, random_state=seed
    )
    proba = cross_val_predict(clf, x, y, cv=PredefinedSplit(fold), method="predict_proba")
    auc = float(roc_auc_score(y, proba[:, 1]))
    # Below 0.5 is chance, not a synthetic table more real than the real one.
    return {"detection_auc": max(auc, 0.5), "detection_auc_raw": auc}


def association_matrix(
    df: pd.DataFrame, columns: list[str], metadata: Metadata, reference: pd.DataFrame
) -> np.ndarray:
    """Cramér's V between every pair of ``columns`` (numbers cut into the reference's deciles).

    One measure for every pair of kinds, in [0, 1], so real and synthetic heatmaps compare.
    """
    codes = []
    for c in columns:
        if metadata.columns[c] in NUMERIC_KINDS:
            ref = as_numbers(reference[c])
            edges = np.unique(np.nanquantile(ref, np.linspace(0.1, 0.9, 9)))
            values = as_numbers(df[c])
            code = np.searchsorted(edges, values, "right")
            code[np.isnan(values)] = len(edges) + 1
        else:
            levels = pd.Series(as_labels(reference[c])).value_counts().index[:20]
            code = pd.Index(levels).get_indexer(as_labels(df[c]))
            code[code < 0] = len(levels)
        codes.append(code.astype(np.int64))
    k = len(columns)
    out = np.eye(k)
    for i in range(k):
        for j in range(i + 1, k):
            out[i, j] = out[j, i] = _cramers_v(codes[i], codes[j])
    return out


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    ka, kb = a.max() + 1, b.max() + 1
    if ka < 2 or kb < 2:
        return 0.0
    table = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb).astype(float)
    n = table.sum()
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = ((table - expected) ** 2 / expected).sum()
    return float(np.sqrt(chi2 / n / (min(ka, kb) - 1)))


def independent_baseline(df: pd.DataFrame, n: int, seed: int | None = None) -> pd.DataFrame:
    """Each column resampled on its own: perfect marginals, no dependence between columns.

    The floor a generator must beat on Column Pair Trends to have learned anything joint.
    """
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {c: df[c].iloc[rng.integers(0, len(df), n)].to_numpy() for c in df.columns}
    ).astype(df.dtypes.to_dict())
