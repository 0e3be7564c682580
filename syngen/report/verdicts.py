"""Verdicts for the fidelity and utility scores, as the privacy scores have theirs: a headline
number is read with its threshold, so a weak copy (a fit stopped after a few epochs on a busy
machine) is called weak next to a privacy PASS, not left to the reader."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class QualityThresholds:
    """Where the fidelity and utility verdicts turn from pass to fail; override any of them.

    ``quality``: the least sdmetrics overall quality (the mean of Column Shapes and Column Pair
    Trends). ``utility_gap``: how far train-synthetic-test-real may fall below
    train-real-test-real (ROC AUC or macro F1); ``r2_gap`` the same for a regression target.
    """

    quality: float = 0.80
    utility_gap: float = 0.10
    r2_gap: float = 0.15

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def quality_verdicts(scores: dict, t: QualityThresholds) -> list[dict]:
    """One verdict for fidelity, and one for utility when a target was scored."""
    out = []
    quality = scores.get("fidelity.quality")
    if quality is not None:
        ok = quality >= t.quality
        out.append({
            "score": "fidelity.quality", "family": "fidelity", "passed": bool(ok),
            "value": quality, "baseline": None, "threshold": f">= {t.quality:g}",
            "text": ("PASS: " if ok else "FAIL: ") + f"overall quality {quality:.3f} "
            + (f"(at least {t.quality:g})" if ok else f"is below {t.quality:g}: the columns' "
               "shapes or their pairwise trends are far from the real rows'"),
        })  # fmt: skip
    for metric, gap in (("roc_auc", t.utility_gap), ("macro_f1", t.utility_gap), ("r2", t.r2_gap)):
        tstr, trtr = scores.get(f"utility.tstr_{metric}"), scores.get(f"utility.trtr_{metric}")
        if tstr is None or trtr is None:
            continue
        ok = tstr >= trtr - gap
        name = metric.replace("_", " ").upper() if metric == "r2" else metric.replace("_", " ")
        out.append({
            "score": f"utility.tstr_{metric}", "family": "utility", "passed": bool(ok),
            "value": tstr, "baseline": trtr, "threshold": f">= TRTR - {gap:g}",
            "text": ("PASS: " if ok else "FAIL: ") + f"a model trained on the synthetic rows "
            f"scores {name} {tstr:.3f}, trained on real rows {trtr:.3f}"
            + (f" (within {gap:g})" if ok else f": more than {gap:g} lower, the synthetic "
               "rows do not carry what predicts the target"),
        })  # fmt: skip
    return out
