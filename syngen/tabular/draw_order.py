"""The draw order in training: the generator's output rows tanh first, then the softmax spans
grouped by width (``OutputLayout.draw_order``).

In that order each group of the activation is one contiguous block of the transposed output,
so the training step runs no gather (nor its scatter in the backward pass). This file is every
place that order reaches the tabular model's training: the output layer held in it for the
fit and put back in layout order after, the real rows built in it, and the condition loss's
class rows read in it. Sampling folds the same order into its plan (``OutputLayout.sampling_head``).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch

from ..output_layout import OutputLayout
from ..transform import EncodedTable, TableTransformer
from .critics import ConditionLoss
from .generator import Generator


@contextmanager
def output_in_draw_order(generator: Generator, layout: OutputLayout):
    """The generator's output layer with its rows in draw order for the duration, back in
    layout order after, however the block ends: the order of the model file and of sampling."""
    out = generator.out
    with torch.no_grad():
        for p in (out.weight, out.bias):
            p.copy_(p[layout.draw_order])
    try:
        yield
    finally:
        with torch.no_grad():
            for p in (out.weight, out.bias):
                p.copy_(p[layout.unpermute])


class RealRows:
    """Dense real rows in draw order, built per batch from the table's compact encoding (the
    codes and scalars stay on the device; a dense matrix of the table is never made)."""

    def __init__(
        self,
        encoded: EncodedTable,
        transformer: TableTransformer,
        layout: OutputLayout,
        device: torch.device,
    ) -> None:
        self.codes = torch.from_numpy(encoded.codes).to(device)
        self.scalars = torch.from_numpy(encoded.scalars).to(device)
        in_draw_order = layout.unpermute
        self.tanh_pos = in_draw_order[torch.from_numpy(transformer.tanh_positions).to(device)]
        self.soft_start = in_draw_order[torch.from_numpy(transformer.softmax_starts).to(device)]
        self.dim = transformer.output_dim_
        self.device = device

    def __call__(self, rows: np.ndarray) -> torch.Tensor:
        idx = torch.from_numpy(rows).to(self.device)
        out = torch.zeros(len(rows), self.dim, device=self.device)
        out[:, self.tanh_pos] = self.scalars[idx]
        return out.scatter_(1, self.soft_start + self.codes[idx].long(), 1.0)


def condition_loss(transformer: TableTransformer, layout: OutputLayout) -> ConditionLoss:
    """The condition loss over each conditional column's class rows as training holds them
    (transposed, draw order)."""
    in_draw_order = layout.unpermute.tolist()
    return ConditionLoss(
        [
            [in_draw_order[s.start + k] for k in range(s.width)]
            for _, s in transformer.category_spans()
        ]
    ).to(layout.unpermute.device)
