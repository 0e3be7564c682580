"""PrivacyLedger: every release computed from the real rows, composed into one (epsilon, delta).

Each entry is a (subsampled) Gaussian mechanism on a query of L2 sensitivity 1 with respect
to adding or removing one privacy unit (a row): ``noise_multiplier`` is the noise's standard
deviation over that sensitivity, ``sample_rate`` the Poisson sampling rate (1 for a query of
the whole table) and ``steps`` how often it ran. The ledger composes all of them in Renyi DP
with Opacus's analysis of the sampled Gaussian mechanism (``opacus.accountants.analysis.rdp``)
and converts once to (epsilon, delta): DP-SGD's steps and the preprocessing's noisy counts are
one accountant, not a sum of epsilons. The argument is in docs/privacy.md.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from opacus.accountants.analysis import rdp as rdp_analysis

# Opacus's RDPAccountant orders, and larger ones: converting RDP to (epsilon, delta) costs
# about log(1/delta) / (order - 1), so a small epsilon (a preprocessing share) needs orders in
# the thousands, where DP-SGD's optimum lies among Opacus's own.
ORDERS = (
    [1 + x / 10.0 for x in range(1, 100)]
    + list(range(12, 64))
    + [64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192]
)


@dataclass(frozen=True)
class Release:
    """One Gaussian mechanism, run ``steps`` times at ``sample_rate``, under a name."""

    component: str
    noise_multiplier: float
    sample_rate: float = 1.0
    steps: int = 1

    def rdp(self) -> np.ndarray:
        if self.steps == 0:
            return np.zeros(len(ORDERS))
        return np.asarray(
            rdp_analysis.compute_rdp(
                q=self.sample_rate,
                noise_multiplier=self.noise_multiplier,
                steps=self.steps,
                orders=ORDERS,
            )
        )


class PrivacyLedger:
    """The releases made so far, and what they cost at ``delta``."""

    def __init__(self, delta: float) -> None:
        if not 0.0 < delta < 1.0:
            raise ValueError(f"delta must be in (0, 1), got {delta}")
        self.delta = delta
        self.releases: list[Release] = []

    def add(self, release: Release) -> None:
        self.releases.append(release)

    def epsilon(self, extra: Release | None = None) -> float:
        """The epsilon of every release composed (and of ``extra`` too, if given)."""
        return composed_epsilon([*self.releases, *([extra] if extra else [])], self.delta)

    @staticmethod
    def epsilon_of(releases: list[Release], delta: float) -> float:
        """The epsilon of ``releases`` alone, composed."""
        return composed_epsilon(releases, delta)

    def by_component(self) -> dict[str, float]:
        """Each component's epsilon had it run alone (they compose to less than their sum)."""
        names = dict.fromkeys(r.component for r in self.releases)
        return {
            name: composed_epsilon([r for r in self.releases if r.component == name], self.delta)
            for name in names
        }


class TrainingBudget:
    """DP-SGD's steps at one (noise multiplier, sample rate) after the ledger's releases, checked
    before every step: ``allows_step()`` is False once one more step would spend more than
    ``epsilon``. A step's RDP is computed once; the check is a sum and one conversion."""

    def __init__(
        self, ledger: PrivacyLedger, noise_multiplier: float, sample_rate: float, epsilon: float
    ) -> None:
        self.ledger, self.epsilon = ledger, epsilon
        self.noise_multiplier, self.sample_rate = noise_multiplier, sample_rate
        self.steps = 0
        self._before = sum((r.rdp() for r in ledger.releases), np.zeros(len(ORDERS)))
        self._step = Release("training", noise_multiplier, sample_rate, 1).rdp()

    def spent(self, steps: int | None = None) -> float:
        """The epsilon of the releases before training and ``steps`` (default: done) steps."""
        steps = self.steps if steps is None else steps
        if steps == 0 and not self.ledger.releases:
            return 0.0
        return _to_epsilon(self._before + steps * self._step, self.ledger.delta)

    def allows_step(self) -> bool:
        return self.spent(self.steps + 1) <= self.epsilon

    def step(self) -> None:
        self.steps += 1

    def close(self) -> None:
        """Write the steps taken into the ledger."""
        self.ledger.add(Release("training", self.noise_multiplier, self.sample_rate, self.steps))


def composed_epsilon(releases: list[Release], delta: float) -> float:
    """(epsilon at ``delta``) of ``releases`` composed in RDP; 0 for none."""
    if not releases or all(r.steps == 0 for r in releases):
        return 0.0
    return _to_epsilon(sum(r.rdp() for r in releases), delta)


def _to_epsilon(rdp: np.ndarray, delta: float) -> float:
    """RDP at ``ORDERS`` to epsilon at ``delta`` (Opacus's conversion). Its warning that the
    optimum lies at an end of the orders is expected while a search tries extreme noise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        eps, _ = rdp_analysis.get_privacy_spent(orders=ORDERS, rdp=rdp, delta=delta)
    return float(eps)


def gaussian_noise_for(epsilon: float, delta: float, queries: int = 1) -> float:
    """The noise multiplier at which ``queries`` Gaussian mechanisms of sensitivity 1, composed,
    cost ``epsilon`` at ``delta``."""
    if epsilon <= 0:
        raise ValueError(f"epsilon must be positive, got {epsilon}")
    return _search(lambda sigma: composed_epsilon([Release("q", sigma, 1.0, queries)], delta),
                   epsilon)  # fmt: skip


def sgd_noise_for(
    epsilon: float, delta: float, sample_rate: float, steps: int, before: list[Release]
) -> float:
    """The smallest DP-SGD noise multiplier whose ``steps`` at ``sample_rate``, composed with
    the releases ``before`` (the preprocessing), keep the total within ``epsilon``."""
    if composed_epsilon(before, delta) >= epsilon:
        raise ValueError(
            f"the preprocessing alone spends epsilon {composed_epsilon(before, delta):.3g} of "
            f"{epsilon:g}: give more budget or a smaller preprocessing share"
        )

    def total(sigma: float) -> float:
        return composed_epsilon([*before, Release("training", sigma, sample_rate, steps)], delta)

    return _search(total, epsilon)


def _search(cost, epsilon: float, low: float = 0.05, high: float = 1e4) -> float:
    """The smallest noise multiplier (to 0.1%) whose ``cost`` is at most ``epsilon``; cost
    falls as the noise grows."""
    if cost(high) > epsilon:
        raise ValueError(f"epsilon {epsilon:g} cannot be met even with noise multiplier {high:g}")
    if cost(low) <= epsilon:
        return low
    while high / low > 1.001:
        mid = (low * high) ** 0.5
        low, high = (low, mid) if cost(mid) <= epsilon else (mid, high)
    return high
