"""DPConfig: the differential-privacy settings of a fit -- the one (epsilon, delta) that covers
everything read from the real rows, and how it is spent."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class DPConfig:
    """``epsilon`` and ``delta`` bound the whole pipeline for one privacy unit, a row.

    ``delta=None`` takes ``1 / (10 n)`` for a table of n rows (below 1/n, as DP needs).
    ``preprocessing_share`` of epsilon pays for the statistics the transformer fits (category
    sets, ranges, modes, null rates, class counts: ``syngen.privacy.preprocessing``); the rest
    goes to DP-SGD on the critic, composed with it in one Renyi accountant. Columns whose
    domain is given in ``public_bounds`` (column -> (low, high)) or ``public_categories``
    (column -> values) need nothing from the data; with a share of 0 every modelled column
    must have one. ``max_grad_norm`` is the per-row clipping norm of DP-SGD.

    Under DP a fit takes fewer, noisier steps, and its own defaults: ``learning_rate`` for the
    critic and the generator, a smaller critic (``critic_dims``); docs/experiments.md.
    ``refine_share``: the last share of the epochs trains the generator against a classifier of
    single rows (the refinement phase), itself trained by DP-SGD on the same budget; 0 turns
    it off.
    """

    epsilon: float = 1.0
    delta: float | None = None
    preprocessing_share: float = 0.2
    max_grad_norm: float = 1.0
    learning_rate: float = 1e-3
    critic_dims: tuple[int, ...] = (128, 128)
    refine_share: float = 0.0
    public_bounds: dict = field(default_factory=dict)
    public_categories: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.epsilon, bool) or not (
            isinstance(self.epsilon, int | float)
            and math.isfinite(self.epsilon)
            and self.epsilon > 0
        ):
            raise ValueError(f"epsilon must be a positive number, got {self.epsilon!r}")
        if self.delta is not None and not 0.0 < self.delta < 1.0:
            raise ValueError(f"delta must be in (0, 1), got {self.delta!r}")
        if not 0.0 <= self.preprocessing_share < 1.0:
            raise ValueError(
                f"preprocessing_share must be in [0, 1), got {self.preprocessing_share!r}"
            )
        if not self.max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be positive, got {self.max_grad_norm!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}")
        if not 0.0 <= self.refine_share < 1.0:
            raise ValueError(f"refine_share must be in [0, 1), got {self.refine_share!r}")
        self.critic_dims = tuple(int(d) for d in self.critic_dims)
        if not self.critic_dims or min(self.critic_dims) < 1:
            raise ValueError(f"critic_dims must be positive layer widths, got {self.critic_dims}")
        self.public_bounds = {str(k): tuple(v) for k, v in dict(self.public_bounds).items()}
        for column, bounds in self.public_bounds.items():
            if len(bounds) != 2:
                raise ValueError(f"public_bounds[{column!r}] must be (low, high), got {bounds}")
        self.public_categories = {str(k): list(v) for k, v in dict(self.public_categories).items()}

    def resolved_delta(self, n_rows: int) -> float:
        """``delta``, or ``1 / (10 n)``: below one over the number of rows."""
        return self.delta if self.delta is not None else 1.0 / (10 * n_rows)
