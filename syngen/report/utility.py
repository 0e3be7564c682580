"""Utility: is a model trained on the synthetic rows as good on real rows as one trained on real?

Train-synthetic-test-real (TSTR) next to train-real-test-real (TRTR), with one fixed model:
scikit-learn's HistGradientBoosting (``random_state`` = the report seed, defaults otherwise),
categories as native categorical features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import f1_score, r2_score, roc_auc_score

from ..metadata import Metadata
from .features import CATEGORY_KINDS, RowEncoder, as_labels, as_numbers


def task_of(metadata: Metadata, target: str, real: pd.DataFrame) -> str:
    kind = metadata.columns[target]
    if kind in CATEGORY_KINDS:
        return "binary" if real[target].nunique() == 2 else "multiclass"
    if kind in ("numerical", "integer"):
        return "regression"
    raise ValueError(
        f"target column {target!r} is {kind}; utility needs a categorical, boolean or "
        "numeric target"
    )


def utility(
    train_real: pd.DataFrame,
    synthetic: pd.DataFrame,
    test_real: pd.DataFrame,
    metadata: Metadata,
    target: str,
    seed: int = 0,
) -> dict[str, float | str]:
    """TSTR and TRTR scores on ``test_real`` and their ratios (TSTR / TRTR)."""
    task = task_of(metadata, target, train_real)
    features = Metadata({c: k for c, k in metadata.columns.items() if c != target})
    encoder = RowEncoder(features, max_levels=250).fit(train_real, seed)
    x_test, mask = encoder.tree_features(test_real)
    out: dict[str, float | str] = {"task": task, "target": target}
    if task == "regression":
        y_test = as_numbers(test_real[target])
        keep = ~np.isnan(y_test)
        for name, train in (("trtr", train_real), ("tstr", synthetic)):
            x, _ = encoder.tree_features(train)
            y = as_numbers(train[target])
            ok = ~np.isnan(y)
            model = HistGradientBoostingRegressor(
                categorical_features=mask if mask.any() else None, random_state=seed
            ).fit(x[ok], y[ok])
            out[f"{name}_r2"] = float(r2_score(y_test[keep], model.predict(x_test[keep])))
        out["r2_ratio"] = _ratio(out["tstr_r2"], out["trtr_r2"])
        return out

    labels = as_labels(train_real[target])
    # The positive class of a binary target is the rarer one: default = yes, disease = yes.
    positive = pd.Series(labels).value_counts().index[-1]
    y_test = as_labels(test_real[target])
    for name, train in (("trtr", train_real), ("tstr", synthetic)):
        x, _ = encoder.tree_features(train)
        y = as_labels(train[target])
        classes = np.unique(y)
        if len(classes) < 2:
            # Nothing to learn: the model answers the one class it saw.
            pred = np.full(len(y_test), classes[0], dtype=object)
            proba = np.full(len(y_test), float(classes[0] == positive))
        else:
            model = HistGradientBoostingClassifier(
                categorical_features=mask if mask.any() else None, random_state=seed
            ).fit(x, y)
            pred = model.predict(x_test)
            p = model.predict_proba(x_test)
            proba = (
                p[:, list(model.classes_).index(positive)]
                if positive in model.classes_
                else np.zeros(len(y_test))
            )
        if task == "binary":
            out[f"{name}_roc_auc"] = float(roc_auc_score(y_test == positive, proba))
            out[f"{name}_f1"] = float(f1_score(y_test == positive, pred == positive))
        else:
            out[f"{name}_macro_f1"] = float(
                f1_score(y_test, pred, average="macro", labels=np.unique(y_test))
            )
    if task == "binary":
        out["positive_class"] = str(positive)
        out["roc_auc_ratio"] = _ratio(out["tstr_roc_auc"], out["trtr_roc_auc"])
        out["f1_ratio"] = _ratio(out["tstr_f1"], out["trtr_f1"])
    else:
        out["macro_f1_ratio"] = _ratio(out["tstr_macro_f1"], out["trtr_macro_f1"])
    return out


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else float("nan")
