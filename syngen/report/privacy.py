"""Privacy: did the generator copy or memorize its training rows?

Every score compares the synthetic rows with the training rows *and* with a real holdout the
generator never saw: a fresh real sample is what "nothing memorized" looks like, so each score
comes with the value that sample gets (its baseline) and a verdict against a threshold.

Distances are the mixed-type distance of ``features.RowEncoder``. Training and holdout rows
are never sub-sampled as reference sets: a copy of any training row must be found. Only the
query side (synthetic rows; the members and non-members of the attack) is bounded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from ..metadata import Metadata
from .features import CATEGORY_KINDS, RowEncoder, as_labels, as_numbers


@dataclass
class PrivacyThresholds:
    """Where each privacy score turns from pass to fail; override any of them.

    "excess" thresholds are allowed margins above the holdout baseline (or the expected
    share); the margin used is never below three standard errors of the measured shares, so
    a small table does not fail on sampling noise.
    """

    closer_to_train_excess: float = 0.10
    near_copy_excess: float = 0.05
    exact_copy_excess: float = 0.01
    dcr_p5_ratio: float = 0.5
    nndr_ratio: float = 0.8
    membership_auc: float = 0.60
    attribute_inference_excess: float = 0.05

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _nearest(reference: np.ndarray, query: np.ndarray, k: int = 1) -> np.ndarray:
    """Distances from each query row to its ``k`` nearest reference rows, shape (n, k)."""
    nn = NearestNeighbors(n_neighbors=min(k, len(reference)), algorithm="brute")
    distance, _ = nn.fit(reference).kneighbors(query)
    return distance


def _verdict(name: str, ok: bool, text: str, value: float, baseline, threshold: str) -> dict:
    return {
        "score": name,
        "passed": bool(ok),
        "value": _clean(value),
        "baseline": _clean(baseline),
        "threshold": threshold,
        "text": ("PASS: " if ok else "FAIL: ") + text,
    }


def _clean(x):
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)


def privacy(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    encoder: RowEncoder,
    hashes: dict[str, np.ndarray],
    thresholds: PrivacyThresholds,
    queries: int = 5_000,
    seed: int = 0,
) -> tuple[dict[str, float], list[dict], dict[str, np.ndarray]]:
    """Scores, verdicts, and the distance arrays the page plots.

    ``encoder`` is fitted on ``train``; ``hashes`` has the row hashes of all three frames.
    """
    rng = np.random.default_rng(seed)
    s, arrays, x_train, x_hold = _distance_scores(
        train, holdout, synthetic, encoder, hashes, queries, rng
    )
    s["membership_auc"] = _membership_auc(x_train, x_hold, synthetic, encoder, queries, rng)
    sizes = {"queries": len(arrays["dcr_synthetic"]), "holdout_queries": len(arrays["dcr_holdout"]),
             "synthetic": len(synthetic), "holdout": len(holdout)}  # fmt: skip
    return s, _verdicts(s, sizes, thresholds), arrays


def _distance_scores(train, holdout, synthetic, encoder, hashes, queries, rng):
    """Distances to the closest record (synthetic -> train, -> holdout; holdout -> train as
    the baseline), near and exact copies, NNDR; the arrays the page plots, and the encoded
    train and holdout rows."""
    x_train = encoder.distances(train)
    x_hold = encoder.distances(holdout)
    q = rng.choice(len(synthetic), min(queries, len(synthetic)), replace=False)
    x_syn_q = encoder.distances(synthetic.iloc[q])

    # Distance to closest record, synthetic -> train (two neighbours, for NNDR) and -> holdout.
    d_syn_train = _nearest(x_train, x_syn_q, 2)
    d_syn_hold = _nearest(x_hold, x_syn_q, 1)[:, 0]
    # What a fresh real sample looks like: holdout -> train.
    h = rng.choice(len(holdout), min(queries, len(holdout)), replace=False)
    d_hold_train = _nearest(x_train, x_hold[h], 2)
    dcr_syn, dcr_hold = d_syn_train[:, 0], d_hold_train[:, 0]

    s: dict[str, float] = {}
    closer = (dcr_syn < d_syn_hold).mean() + 0.5 * (dcr_syn == d_syn_hold).mean()
    expected = len(train) / (len(train) + len(holdout))
    s["closer_to_train_share"] = float(closer)
    s["closer_to_train_expected"] = expected
    s["dcr_train_p5"] = float(np.quantile(dcr_syn, 0.05))
    s["dcr_holdout_p5"] = float(np.quantile(dcr_hold, 0.05))
    s["dcr_train_median"] = float(np.median(dcr_syn))
    near = s["dcr_holdout_p5"]
    s["near_copy_threshold"] = near
    s["near_copy_share"] = float((dcr_syn <= near).mean())
    s["near_copy_baseline"] = float((dcr_hold <= near).mean())
    s["nndr_median"] = float(np.median(_nndr(d_syn_train)))
    s["nndr_holdout_median"] = float(np.median(_nndr(d_hold_train)))
    train_set = hashes["train"]
    s["exact_copy_rate"] = float(np.isin(hashes["synthetic"], train_set).mean())
    s["exact_copy_baseline"] = float(np.isin(hashes["holdout"], train_set).mean())
    arrays = {
        "dcr_synthetic": dcr_syn,
        "dcr_holdout": dcr_hold,
        "dcr_synthetic_holdout": d_syn_hold,
    }
    return s, arrays, x_train, x_hold


def _membership_auc(x_train, x_hold, synthetic, encoder, queries, rng) -> float:
    """The ROC AUC of a distance-based membership attack (0.5: it learns nothing)."""
    # Membership inference: a training row (member) sits closer to its nearest synthetic row
    # than a holdout row (non-member) does, if the generator memorized. The attack scores a
    # row by minus that distance; its ROC AUC is 0.5 when it learns nothing. The synthetic
    # side is the reference set, so it is used whole.
    m = min(queries, len(x_hold), len(x_train))
    members = rng.choice(len(x_train), m, replace=False)
    others = rng.choice(len(x_hold), m, replace=False)
    x_syn = encoder.distances(synthetic)
    d_members = _nearest(x_syn, x_train[members])[:, 0]
    d_others = _nearest(x_syn, x_hold[others])[:, 0]
    return float(roc_auc_score(np.r_[np.ones(m), np.zeros(m)], -np.r_[d_members, d_others]))


def _verdicts(s: dict[str, float], sizes: dict[str, int], t: PrivacyThresholds) -> list[dict]:
    """A plain-language verdict per privacy score, each against its baseline."""
    closer, expected = s["closer_to_train_share"], s["closer_to_train_expected"]
    # A share over its baseline by less than sampling noise is not evidence: each limit is
    # the baseline plus the larger of the threshold and three standard errors.
    n_q, n_h = sizes["queries"], sizes["holdout_queries"]
    closer_limit = expected + max(t.closer_to_train_excess, 3 * _se(expected, n_q))
    near_limit = s["near_copy_baseline"] + max(
        t.near_copy_excess,
        3 * _se(s["near_copy_share"], n_q, s["near_copy_baseline"], n_h),
    )
    exact_limit = s["exact_copy_baseline"] + max(
        t.exact_copy_excess,
        3
        * _se(s["exact_copy_rate"], sizes["synthetic"], s["exact_copy_baseline"], sizes["holdout"]),
    )
    verdicts = [
        _verdict(
            "closer_to_train_share",
            closer <= closer_limit,
            f"{100 * closer:.1f}% of synthetic rows are closer to a training row than to any "
            f"holdout row; {100 * expected:.0f}% is expected when nothing was memorized.",
            closer,
            expected,
            f"at most {100 * closer_limit:.1f}%",
        ),
        _verdict(
            "near_copy_share",
            s["near_copy_share"] <= near_limit,
            f"{100 * s['near_copy_share']:.1f}% of synthetic rows are nearer a training row "
            f"than 95% of real holdout rows are; a real sample gives "
            f"{100 * s['near_copy_baseline']:.1f}%.",
            s["near_copy_share"],
            s["near_copy_baseline"],
            f"at most {100 * near_limit:.1f}%",
        ),
        _verdict(
            "exact_copy_rate",
            s["exact_copy_rate"] <= exact_limit,
            f"{100 * s['exact_copy_rate']:.2f}% of synthetic rows are exact copies of a training "
            f"row; {100 * s['exact_copy_baseline']:.2f}% of real holdout rows also appear in "
            "training (natural duplicates).",
            s["exact_copy_rate"],
            s["exact_copy_baseline"],
            f"at most {100 * exact_limit:.2f}%",
        ),
        _verdict(
            "dcr_train_p5",
            s["dcr_train_p5"] >= t.dcr_p5_ratio * s["dcr_holdout_p5"],
            f"the closest 5% of synthetic rows are within {s['dcr_train_p5']:.3f} of a training "
            f"row; for real holdout rows that distance is {s['dcr_holdout_p5']:.3f}.",
            s["dcr_train_p5"],
            s["dcr_holdout_p5"],
            f"at least {t.dcr_p5_ratio:g} x baseline",
        ),
        _verdict(
            "nndr_median",
            s["nndr_median"] >= t.nndr_ratio * s["nndr_holdout_median"],
            f"median nearest/second-nearest training-row distance ratio {s['nndr_median']:.2f} "
            f"(near 0: rows sit on one particular training record); real holdout rows: "
            f"{s['nndr_holdout_median']:.2f}.",
            s["nndr_median"],
            s["nndr_holdout_median"],
            f"at least {t.nndr_ratio:g} x baseline",
        ),
        _verdict(
            "membership_auc",
            s["membership_auc"] <= t.membership_auc,
            f"an attacker holding the synthetic rows tells training rows from holdout rows with "
            f"ROC AUC {s['membership_auc']:.3f} (0.5: no better than a coin).",
            s["membership_auc"],
            0.5,
            f"at most {t.membership_auc:g}",
        ),
    ]
    return verdicts


def _se(p: float, n: int, p0: float | None = None, n0: int | None = None) -> float:
    """Standard error of a share ``p`` of ``n`` rows, or of its difference from ``p0``."""
    var = p * (1 - p) / n
    if p0 is not None:
        var += p0 * (1 - p0) / n0
    return float(np.sqrt(var))


def _nndr(d: np.ndarray) -> np.ndarray:
    if d.shape[1] < 2:
        return np.ones(len(d))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = d[:, 0] / d[:, 1]
    return np.where(d[:, 1] > 0, r, 0.0)


def attribute_inference(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    metadata: Metadata,
    sensitive: str,
    thresholds: PrivacyThresholds,
    queries: int = 5_000,
    seed: int = 0,
) -> tuple[dict[str, float], dict]:
    """An attacker knows every other column of a person and reads ``sensitive`` off the
    nearest synthetic row. The risk is how much better that works for training rows than for
    holdout rows (what the attacker would get from the population anyway)."""
    kind = metadata.columns[sensitive]
    known = Metadata({c: k for c, k in metadata.columns.items() if c != sensitive})
    encoder = RowEncoder(known).fit(train, seed)
    nn = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(encoder.distances(synthetic))
    rng = np.random.default_rng(seed)
    m = min(queries, len(train), len(holdout))

    if kind in CATEGORY_KINDS:
        guess_from = as_labels(synthetic[sensitive])

        def correct(rows: pd.DataFrame) -> np.ndarray:
            idx = nn.kneighbors(encoder.distances(rows), return_distance=False)[:, 0]
            return guess_from[idx] == as_labels(rows[sensitive])

        how = "exact category"
    else:
        guess_from = as_numbers(synthetic[sensitive])
        ref = as_numbers(train[sensitive])
        tol = 0.05 * (np.nanquantile(ref, 0.99) - np.nanquantile(ref, 0.01))

        def correct(rows: pd.DataFrame) -> np.ndarray:
            idx = nn.kneighbors(encoder.distances(rows), return_distance=False)[:, 0]
            return np.abs(guess_from[idx] - as_numbers(rows[sensitive])) <= tol

        how = f"within {tol:.4g}"
    acc_members = float(correct(train.iloc[rng.choice(len(train), m, replace=False)]).mean())
    acc_others = float(correct(holdout.iloc[rng.choice(len(holdout), m, replace=False)]).mean())
    excess = acc_members - acc_others
    scores = {
        "attribute_inference_members": acc_members,
        "attribute_inference_holdout": acc_others,
        "attribute_inference_excess": excess,
    }
    verdict = _verdict(
        "attribute_inference_excess",
        excess <= thresholds.attribute_inference_excess,
        f"guessing {sensitive!r} ({how}) from the nearest synthetic row is right for "
        f"{100 * acc_members:.1f}% of training rows and {100 * acc_others:.1f}% of holdout rows.",
        excess,
        0.0,
        f"at most {100 * thresholds.attribute_inference_excess:.0f} points more for training rows",
    )
    return scores, verdict
