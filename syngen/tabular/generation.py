"""RowSource: generated rows for given condition classes, as class codes and scalars -- the one
way both sampling and calibration run a trained generator.

The sampling plan (batch norm folded, output rows in draw order, class bias added) is computed
once per source, not per batch: on a CPU the folding's small kernels cost as much as a slice's
products. The noise is drawn on two threads (``standard_normal``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from ..output_layout import OutputLayout
from .generator import Generator

# Rows per generator pass on a CPU: slices small enough for the caches.
_CPU_GENERATE_ROWS = 2048


class RowSource:
    """Generates rows from ``generator`` as it stands when the source is made (later changes
    to the weights or to ``class_bias`` need a new source). Use it as a context manager: the
    noise thread lives as long as the source, no longer."""

    def __init__(
        self,
        generator: Generator,
        layout: OutputLayout,
        class_bias: torch.Tensor,
        noise_dim: int,
        gen: torch.Generator,
    ) -> None:
        self.generator, self.layout, self.noise_dim, self.gen = generator, layout, noise_dim, gen
        self.device = class_bias.device
        with torch.no_grad():
            head = layout.sampling_head(generator.out.weight, generator.out.bias, class_bias)
            self.plan = generator.sampling_plan(*head)
        self._worker: ThreadPoolExecutor | None = None

    def __enter__(self) -> RowSource:
        if self.device.type == "cpu":
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="syngen-noise")
        return self

    def __exit__(self, *exc) -> None:
        if self._worker is not None:
            self._worker.shutdown()
            self._worker = None

    def __call__(self, b: int, g: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(class codes, scalars) of ``b`` generated rows for condition classes ``g``."""
        with torch.no_grad():
            cond = None if g is None else torch.as_tensor(g, dtype=torch.long, device=self.device)
            if self.device.type == "cuda":
                z = torch.randn(b, self.noise_dim, device=self.device, generator=self.gen)
                step = b
            else:
                z = standard_normal(b, self.noise_dim, self.gen, self._worker)
                step = _CPU_GENERATE_ROWS
            parts = [
                self.generator.output_rows(
                    z[i : i + step], None if cond is None else cond[i : i + step], self.plan
                )
                for i in range(0, b, step)
            ]
            codes, scalars = self.layout.sample_rows(torch.cat(parts, 1), generator=self.gen)
        return codes.cpu().numpy(), scalars.cpu().numpy()


def standard_normal(
    rows: int, dim: int, gen: torch.Generator, worker: ThreadPoolExecutor | None = None
) -> torch.Tensor:
    """(rows, dim) standard normals from ``gen``, the second half filled on ``worker``.

    torch draws CPU normals on one core (its Mersenne twister is serial), the largest cost of
    sampling after the matrix products. The second half comes from a generator seeded by
    ``gen``, filled on the worker thread meanwhile (in this thread without one); the values
    depend only on ``gen``, not on the thread count or timing.
    """
    out = torch.empty(rows, dim)
    half = rows // 2
    second = torch.Generator().manual_seed(int(torch.randint(2**62, (1,), generator=gen)))
    if worker is None:
        out[half:].normal_(generator=second)
        out[:half].normal_(generator=gen)
        return out
    job = worker.submit(out[half:].normal_, generator=second)
    out[:half].normal_(generator=gen)
    job.result()
    return out
