"""Quality scores of a synthetic table against real rows: sdmetrics, TSTR AUC, detection AUC.

The classifier is fixed for every score: scikit-learn's HistGradientBoostingClassifier with
``random_state=0`` and its defaults otherwise; categorical columns are ordinal-encoded (missing
values as their own category, categories unseen in the training frame as missing) and passed
as native categorical features.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.preprocessing import OrdinalEncoder

_MISSING = "__missing__"


def quality_report(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: dict) -> dict:
    """sdmetrics QualityReport: overall score, Column Shapes and Column Pair Trends."""
    from sdmetrics.reports.single_table import QualityReport

    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(real, synthetic[list(real.columns)], metadata, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return {
        "overall": float(report.get_score()),
        "column_shapes": float(props["Column Shapes"]),
        "column_pair_trends": float(props["Column Pair Trends"]),
    }


class _Encoder:
    """Categorical columns -> ordinal codes (fitted on one frame); numbers as floats."""

    def __init__(self, categorical: list[str]) -> None:
        self.categorical = categorical

    def _prep(self, df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        for c in self.categorical:
            df[c] = df[c].astype(object).where(df[c].notna(), _MISSING).astype(str)
        return df

    def fit(self, df: pd.DataFrame) -> _Encoder:
        self.columns = list(df.columns)
        self.cat_mask = np.array([c in self.categorical for c in self.columns])
        self.encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=np.nan, dtype="float64"
        )
        if self.cat_mask.any():
            self.encoder.fit(self._prep(df)[[c for c in self.columns if c in self.categorical]])
        return self

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        df = self._prep(df[self.columns])
        out = np.empty((len(df), len(self.columns)), dtype="float64")
        cats = [c for c in self.columns if c in self.categorical]
        if cats:
            out[:, self.cat_mask] = self.encoder.transform(df[cats])
        nums = [c for c in self.columns if c not in self.categorical]
        if nums:
            out[:, ~self.cat_mask] = df[nums].to_numpy(dtype="float64")
        return out


def _classifier(cat_mask: np.ndarray) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        categorical_features=cat_mask if cat_mask.any() else None, random_state=0
    )


def ml_efficacy_auc(
    train: pd.DataFrame, test: pd.DataFrame, target: str, positive, categorical: list[str]
) -> float | None:
    """ROC AUC on real ``test`` of the fixed classifier trained on ``train`` to predict target.

    ``None`` when ``train`` holds only one class of the target (nothing can be learned).
    """
    y_train = (train[target] == positive).to_numpy()
    y_test = (test[target] == positive).to_numpy()
    if y_train.all() or not y_train.any():
        return None
    features = [c for c in train.columns if c != target]
    enc = _Encoder([c for c in categorical if c != target]).fit(train[features])
    clf = _classifier(enc.cat_mask).fit(enc.transform(train[features]), y_train)
    return float(roc_auc_score(y_test, clf.predict_proba(enc.transform(test[features]))[:, 1]))


def detection_auc(
    real: pd.DataFrame, synthetic: pd.DataFrame, categorical: list[str], folds: int = 5
) -> float:
    """Cross-validated ROC AUC of the fixed classifier telling real rows from synthetic ones.

    0.5 means the classifier cannot tell them apart (best); 1.0 means it always can. Both frames
    are cut to the same number of rows.
    """
    n = min(len(real), len(synthetic))
    both = pd.concat(
        [real.iloc[:n], synthetic[list(real.columns)].iloc[:n]], ignore_index=True
    )
    y = np.r_[np.zeros(n, dtype=int), np.ones(n, dtype=int)]
    enc = _Encoder(categorical).fit(both)
    cv = StratifiedKFold(folds, shuffle=True, random_state=0)
    scores = cross_val_score(_classifier(enc.cat_mask), enc.transform(both), y, cv=cv,
                             scoring="roc_auc")
    return float(np.mean(scores))
