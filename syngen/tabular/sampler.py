"""Training-by-sampling: conditional vectors and the real rows that match them, vectorized.

For a batch, CTGAN picks a discrete column uniformly, a class of it with probability
proportional to log(1 + count) in training (so rare classes are seen) or to the count itself
when generating (so samples keep the original frequencies), and a real row holding that class.
Here every one of those draws is one array operation for the whole batch. Generation draws
from ``mixture``: those original frequencies until calibration fits its own weights (see
``syngen.tabular.calibration``).
"""

from __future__ import annotations

import numpy as np


class ConditionSampler:
    """Draws conditional vectors over the discrete columns of an encoded table.

    ``codes`` are the class codes of the discrete columns, one column each, and ``widths`` their
    numbers of classes. A condition is identified by its global class index ``g`` in
    ``[0, cond_dim)``: the class offset of its column plus the class code.
    """

    def __init__(self, counts: np.ndarray, widths: list[int], log_frequency: bool = True):
        self.widths = np.asarray(widths, dtype="int64")
        self.offsets = np.cumsum(self.widths) - self.widths
        self.counts = np.asarray(counts, dtype="int64")
        self.cond_dim = int(self.widths.sum())
        self.n_columns = len(self.widths)
        self.log_frequency = log_frequency
        self._train_cdf = self._cdf(np.log1p(self.counts) if log_frequency else self.counts)
        self.column_of = np.repeat(np.arange(self.n_columns), self.widths)
        self.set_mixture(None)
        self._rows = None

    @classmethod
    def from_codes(cls, codes: np.ndarray, widths: list[int], log_frequency: bool = True):
        counts = (
            np.concatenate([np.bincount(codes[:, j], minlength=w) for j, w in enumerate(widths)])
            if len(widths)
            else np.zeros(0, dtype="int64")
        )
        self = cls(counts, widths, log_frequency)
        self._index_rows(codes)
        return self

    def _cdf(self, weights: np.ndarray) -> np.ndarray:
        """(n_columns, max_width) cumulative class probabilities per column, padded with 1."""
        cdf = np.ones((self.n_columns, int(self.widths.max(initial=1))))
        for j, (o, w) in enumerate(zip(self.offsets, self.widths, strict=True)):
            p = weights[o : o + w].astype("float64")
            cdf[j, :w] = np.cumsum(p / p.sum())
        return cdf

    def _index_rows(self, codes: np.ndarray) -> None:
        # Row ids sorted by (column, class): rows holding class g are
        # self._rows[self._start[g] : self._start[g] + counts[g]].
        n = len(codes)
        if self.n_columns == 0:
            self._rows = self._start = np.zeros(0, dtype="int64")
            return
        self._rows = np.concatenate(
            [np.argsort(codes[:, j], kind="stable") for j in range(self.n_columns)]
        ).astype("int64")
        self._start = np.concatenate(
            [
                j * n + np.concatenate([[0], np.cumsum(self.counts[o : o + w])[:-1]])
                for j, (o, w) in enumerate(zip(self.offsets, self.widths, strict=True))
            ]
        ).astype("int64")

    def _draw(self, batch: int, rng: np.random.Generator, cdf: np.ndarray):
        column = rng.integers(0, self.n_columns, batch)
        u = rng.random((batch, 1))
        code = (u > cdf[column]).sum(axis=1)
        code = np.minimum(code, self.widths[column] - 1)
        return column, self.offsets[column] + code

    def sample_train(self, batch: int, rng: np.random.Generator):
        """(column, class g, matching real row) per row, classes by log-frequency."""
        column, g = self._draw(batch, rng, self._train_cdf)
        pick = (rng.random(batch) * self.counts[g]).astype("int64")
        return column, g, self._rows[self._start[g] + pick]

    def original_mixture(self) -> np.ndarray:
        """Per condition class, the chance that generation conditions on it as CTGAN does:
        a column uniformly, then a class by its frequency in the data."""
        totals = np.bincount(self.column_of, weights=self.counts, minlength=self.n_columns)
        return self.counts / np.maximum(totals[self.column_of], 1) / max(self.n_columns, 1)

    def set_mixture(self, weights: np.ndarray | None) -> None:
        """The chances of the condition classes at generation, one per class of the whole
        conditional vector (non-negative, any scale); None restores ``original_mixture``."""
        weights = self.original_mixture() if weights is None else np.asarray(weights, "float64")
        if self.cond_dim == 0 and weights.shape == (0,):
            self.mixture = self._mixture_cdf = weights
            return
        if weights.shape != (self.cond_dim,) or (weights < 0).any() or not weights.sum() > 0:
            raise ValueError(
                f"condition mixture must be {self.cond_dim} non-negative weights with a "
                "positive sum"
            )
        self.mixture = weights / weights.sum()
        self._mixture_cdf = np.cumsum(self.mixture)

    def sample_mixture(self, batch: int, rng: np.random.Generator):
        """(column, class g) per row, classes drawn from ``mixture``."""
        g = np.searchsorted(self._mixture_cdf, rng.random(batch), side="right")
        g = np.minimum(g, self.cond_dim - 1)  # float rounding can leave the cdf under 1
        return self.column_of[g], g
