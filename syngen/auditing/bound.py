"""The one-run audit's statistics (Steinke, Nasr and Jagielski 2023, "Privacy Auditing with One
(1) Training Run", arXiv 2305.08846): from ``k`` guesses about ``m`` canaries, ``r`` of them
right, the largest epsilon that an (epsilon, delta)-DP claim cannot have at a confidence level.

Each canary is included by a fair coin. Under (epsilon, delta)-DP the number of right guesses
among ``k`` is, up to a delta term, dominated by Binomial(k, q) with ``q = e^eps / (1 + e^eps)``
(the paper's Theorem 3.1 for delta = 0, Theorem 5.2 with delta). A count of right guesses that
such a binomial reaches with probability at most ``1 - confidence`` falsifies the claim; the
lower bound is the largest epsilon so falsified. The formula with delta is the paper's, as
google-deepmind's jax_privacy writes it.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import binom


def one_run_p_value(m: int, k: int, correct: int, epsilon: float, delta: float = 0.0) -> float:
    """The p-value of ``correct`` right guesses out of ``k`` among ``m`` canaries, under the
    hypothesis that training was (epsilon, delta)-DP."""
    if not 0 <= correct <= k <= m:
        raise ValueError(f"need 0 <= correct <= k <= m, got correct={correct}, k={k}, m={m}")
    if correct == 0:
        return 1.0
    q = 1.0 / (1.0 + math.exp(-epsilon))
    beta = float(binom.sf(correct - 1, k, q))  # P[Bin(k, q) >= correct]
    if delta == 0:
        return beta
    i = np.arange(1, correct + 1)
    alpha = float(np.max((binom.sf(correct - i - 1, k, q) - beta) / i, initial=0.0))
    return min(beta + 2 * m * delta * alpha, 1.0)


def epsilon_lower_bound(
    m: int,
    k: int,
    correct: int,
    *,
    delta: float = 0.0,
    confidence: float = 0.95,
    tolerance: float = 1e-4,
    ceiling: float = 50.0,
) -> float:
    """The largest epsilon whose (epsilon, delta)-DP claim these guesses falsify at
    ``confidence``; 0.0 when they falsify none (no evidence of leakage)."""
    if not 0.5 < confidence < 1:
        raise ValueError(f"confidence must be in (0.5, 1), got {confidence}")
    if not 0 <= delta < 1:
        raise ValueError(f"delta must be in [0, 1), got {delta}")
    significance = 1 - confidence
    # The p-value grows with epsilon: bisect for the last epsilon below the significance.
    if one_run_p_value(m, k, correct, 0.0, delta) > significance:
        return 0.0
    lo, hi = 0.0, ceiling
    while hi - lo > tolerance:
        mid = (lo + hi) / 2
        if one_run_p_value(m, k, correct, mid, delta) <= significance:
            lo = mid
        else:
            hi = mid
    return lo
