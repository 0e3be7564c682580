"""Mode-specific normalization of a continuous column (CTGAN, Xu et al. 2019).

A value ``x`` is represented by the mixture component ("mode") it was drawn from, as a one-hot,
and its position inside that mode, ``(x - mean_k) / (4 * std_k)`` in [-1, 1]. The mixture is a
1-D Gaussian mixture fitted by EM on a bounded sample; components whose weight falls under
``weight_threshold`` are pruned, which is what the variational mixture of the paper achieves
with its sparse prior, at a small fraction of the cost.

Values that make up a large share of the column on their own (the 0 of a zero-inflated amount,
the 40 of weekly hours), and values far more frequent than their neighbours (the 15,024 of
Adult's capital gains, a price of 9.99), become point modes of zero width: they come back
exactly, where a Gaussian mode would smear them into a cloud that no real row has -- a cloud
that a detection classifier finds at once, and that blurs what the spike says about other
columns (on Adult, 98-99% of the rows with a capital gain of 7,000 or more earn >50K).

A value fewer than ``MIN_POINT_ROWS`` rows hold is never a point mode: it would come back
verbatim, a copy of those few rows' value (the one non-zero amount of a 99%-zeros column).
When such values are all that is left besides the point modes, they get a Gaussian mode wide
enough (``RARE_SPREAD`` of their scale) that no sample lands on them, and ``widened_`` is the
range the caller must let its values reach (a clip to the real range would put them back).
"""

from __future__ import annotations

import numpy as np

from .base import stored_array, stored_number

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)
MIN_POINT_ROWS = 5
RARE_SPREAD = 0.05


class ModeSpecificNormalizer:
    """Fit a 1-D Gaussian mixture to a column; map values to (scalar, mode) and back.

    Point modes: a value whose share of the column is at least ``point_mass_threshold``, or
    at least ``spike_share`` and ``spike_ratio`` times the median count of the 10 distinct
    values on each side of it (the most frequent ``max_modes - 1`` of them). The rest of the
    column gets up to ``max_modes`` minus the point modes Gaussian modes, and never fewer than
    half of ``max_modes``: a column with many spikes keeps a mixture for what lies between.
    """

    def __init__(
        self,
        max_modes: int = 10,
        weight_threshold: float = 0.005,
        point_mass_threshold: float = 0.05,
        spike_share: float = 0.001,
        spike_ratio: float = 10.0,
        sample_size: int = 10_000,
        max_iter: int = 100,
        tol: float = 1e-4,
    ) -> None:
        self.max_modes = max_modes
        self.weight_threshold = weight_threshold
        self.point_mass_threshold = point_mass_threshold
        self.spike_share = spike_share
        self.spike_ratio = spike_ratio
        self.sample_size = sample_size
        self.max_iter = max_iter
        self.tol = tol

    # ---- fit ----------------------------------------------------------------------------
    def fit(self, values: np.ndarray, rng: np.random.Generator) -> ModeSpecificNormalizer:
        x = np.asarray(values, dtype="float64")
        if len(x) > self.sample_size:
            x = rng.choice(x, self.sample_size, replace=False)
        values, counts = np.unique(x, return_counts=True)
        share = counts / len(x)
        point = share >= self.point_mass_threshold
        if len(values) > 1:
            spike = counts >= self.spike_ratio * _neighbour_median(counts)
            point |= spike & (share >= self.spike_share)
        point &= counts >= MIN_POINT_ROWS
        top = np.argsort(-share, kind="stable")
        top = top[point[top]][: self.max_modes - 1]
        points, point_weights = values[top], share[top]
        rest = x[~np.isin(x, points)]
        means, stds, weights = np.zeros(0), np.zeros(0), np.zeros(0)
        self.widened_ = None
        if len(np.unique(rest)) >= 2:
            k = max(self.max_modes - len(points), self.max_modes // 2)
            means, stds, weights = self._fit_gaussians(rest, k, rng)
            weights = weights * len(rest) / len(x)
        elif len(rest) >= MIN_POINT_ROWS or (len(rest) and not len(points)):
            # One value held by enough rows (or the whole column): a point mode.
            points = np.append(points, rest[0])
            point_weights = np.append(point_weights, len(rest) / len(x))
        elif len(rest):
            v = float(rest[0])
            scale = max(abs(v), float(np.abs(points).max()), 1.0)
            means, stds = np.array([v]), np.array([RARE_SPREAD * scale])
            weights = np.array([len(rest) / len(x)])
            self.widened_ = (v - 4 * stds[0], v + 4 * stds[0])
        order = np.argsort(means)
        self.means_ = np.concatenate([points, means[order]])
        self.stds_ = np.concatenate([np.zeros(len(points)), stds[order]])
        self.weights_ = np.concatenate([point_weights, weights[order]])
        self.n_points_ = len(points)
        return self

    def _fit_gaussians(self, x: np.ndarray, k: int, rng: np.random.Generator):
        spread = float(x.std()) or 1.0
        # Floor on a mode's width: repeated values would otherwise give a zero-variance
        # component and infinite densities.
        self.min_std_ = 1e-3 * spread
        k = int(min(k, len(np.unique(x))))
        means = np.unique(np.quantile(x, (np.arange(k) + 0.5) / k))
        k = len(means)
        stds = np.full(k, spread / k)
        weights = np.full(k, 1.0 / k)
        for _ in range(3):  # fit, prune the modes nobody uses, refit
            means, stds, weights = self._em(x, means, stds, weights)
            keep = weights >= self.weight_threshold
            if keep.all():
                break
            means, stds, weights = means[keep], stds[keep], weights[keep] / weights[keep].sum()
        return means, stds, weights

    def _em(self, x, means, stds, weights):
        previous = -np.inf
        for _ in range(self.max_iter):
            log_p = self._log_joint(x, means, stds, weights)
            top = log_p.max(axis=1, keepdims=True)
            resp = np.exp(log_p - top)
            total = resp.sum(axis=1, keepdims=True)
            resp /= total
            log_norm = np.log(total) + top
            nk = resp.sum(axis=0) + 1e-12
            weights = nk / len(x)
            means = (resp * x[:, None]).sum(axis=0) / nk
            var = (resp * (x[:, None] - means) ** 2).sum(axis=0) / nk
            stds = np.maximum(np.sqrt(var), self.min_std_)
            ll = float(log_norm.mean())
            if ll - previous < self.tol:
                break
            previous = ll
        return means, stds, weights

    @staticmethod
    def _log_joint(x, means, stds, weights):
        z = (x[:, None] - means) / stds
        return np.log(weights + 1e-300) - np.log(stds) - _LOG_SQRT_2PI - 0.5 * z * z

    # ---- transform ----------------------------------------------------------------------
    @property
    def n_modes(self) -> int:
        return len(self.means_)

    def transform(self, values: np.ndarray, rng: np.random.Generator):
        """Return (scalar float32 in [-1, 1], mode int32); the mode is drawn from its posterior."""
        x = np.asarray(values, dtype="float64")
        p = self.n_points_
        mode = np.zeros(len(x), dtype="int32")
        scalar = np.zeros(len(x), dtype="float64")
        at_point = np.zeros(len(x), dtype=bool)
        for i, v in enumerate(self.means_[:p]):
            hit = x == v
            mode[hit] = i
            at_point |= hit
        rest = ~at_point
        if rest.any():
            # Values between point modes still go to a Gaussian mode when there is one.
            xr = x[rest]
            if p < self.n_modes:
                m, s, w = self.means_[p:], self.stds_[p:], self.weights_[p:]
                log_p = self._log_joint(xr, m, s, w)
                # Gumbel-max draws one mode per row from the posterior, vectorized.
                k = np.argmax(log_p + rng.gumbel(size=log_p.shape), axis=1)
                mode[rest] = p + k
                scalar[rest] = (xr - m[k]) / (4 * s[k])
            else:
                mode[rest] = np.abs(xr[:, None] - self.means_[None, :]).argmin(axis=1)
        return np.clip(scalar, -0.99, 0.99).astype("float32"), mode

    def inverse_transform(self, scalar: np.ndarray, mode: np.ndarray) -> np.ndarray:
        scalar = np.clip(np.asarray(scalar, dtype="float64"), -1, 1)
        mode = np.asarray(mode, dtype="int64")
        return scalar * 4 * self.stds_[mode] + self.means_[mode]

    # ---- persistence --------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "means": self.means_.tolist(),
            "stds": self.stds_.tolist(),
            "weights": self.weights_.tolist(),
            "n_points": self.n_points_,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ModeSpecificNormalizer:
        self = cls()
        self.means_ = stored_array(data["means"], "normalizer means")
        # A point mode has a std of 0.
        self.stds_ = stored_array(data["stds"], "normalizer stds", nonnegative=True)
        self.weights_ = stored_array(data["weights"], "normalizer weights", nonnegative=True)
        if not len(self.means_) == len(self.stds_) == len(self.weights_):
            raise ValueError("normalizer means, stds and weights differ in length")
        self.n_points_ = stored_number(data["n_points"], "n_points", integer=True, low=0)
        if self.n_points_ > len(self.means_):
            raise ValueError(f"n_points {self.n_points_} exceeds the {len(self.means_)} modes")
        return self


def _neighbour_median(counts: np.ndarray, width: int = 10) -> np.ndarray:
    """For each distinct value (in sorted order, with ``counts``), the median count of the
    ``width`` distinct values on each side of it: the local level that a spike stands above."""
    padded = np.pad(counts.astype("float64"), width, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * width + 1)
    return np.nanmedian(np.delete(windows, width, axis=1), axis=1)
