"""Generator: CTGAN's residual generator, written as chains of matrix products on column blocks
of each layer's weight, with its sampling-time form (batch norm folded in)."""

from __future__ import annotations

import torch
from torch import nn

from ..output_layout import pad_rows


class Residual(nn.Module):
    """Linear -> BatchNorm -> ReLU, concatenated with its input (CTGAN's generator block)."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)


class Generator(nn.Module):
    """CTGAN's residual generator: each block sees the outputs of all blocks before it and the
    input, ``[h_k, ..., h_1, z, cond]``.

    The concatenations are never materialised: a linear map of concatenated parts is the sum
    of linear maps of the parts, so each layer is a chain of ``addmm`` on column blocks of its
    weight -- the same parameters, without copying the growing feature matrix every layer.
    The conditional vector is one-hot, so its block is not multiplied at all: the generator
    takes the index of each row's hot entry and adds that column of the weight (a gather).
    """

    def __init__(self, noise_dim: int, cond_dim: int, dims: tuple[int, ...], out_dim: int) -> None:
        super().__init__()
        self.cond_dim = cond_dim
        blocks, width = [], noise_dim + cond_dim
        for d in dims:
            blocks.append(Residual(width, d))
            width += d
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Linear(width, out_dim)

    def _linear(
        self,
        parts: list[torch.Tensor],
        weight: torch.Tensor,
        bias: torch.Tensor,
        cond: torch.Tensor | None,
        transposed: bool = False,
    ) -> torch.Tensor:
        """``[parts, one-hot cond] @ weight.T + bias``; (batch, out), or (out, batch) when
        ``transposed``."""
        widths = [p.shape[1] for p in parts]
        # split, not slices: its gradient is one concatenation, where each slice's gradient
        # would be a zero-filled full-size matrix, added into the others.
        *blocks, cond_block = weight.split([*widths, weight.shape[1] - sum(widths)], dim=1)
        if cond is None:
            out, fresh = (bias[:, None] if transposed else bias), False
        else:
            # The bias plus the weight column of each row's hot entry: one gather from a small
            # (out, cond_dim) table, whose gradient is a small index_add.
            table = cond_block + bias[:, None]
            if transposed:
                out = table.index_select(1, cond)
            else:
                out = table.t().contiguous().index_select(0, cond)
            fresh = True
        for part, w in zip(parts, blocks, strict=True):
            a, b = (w, part.t()) if transposed else (part, w.t())
            # In place into a fresh tensor: addmm's gradient does not need its input.
            out = out.addmm_(a, b) if fresh else torch.addmm(out, a, b)
            fresh = True
        return out

    def _features(self, z: torch.Tensor, cond: torch.Tensor | None) -> list[torch.Tensor]:
        """The output layer's input, as its parts ``[h_k, ..., h_1, z]`` (cond apart)."""
        parts = [z]
        for block in self.blocks:
            h = self._linear(parts, block.fc.weight, block.fc.bias, cond)
            parts.insert(0, torch.relu(block.bn(h)))
        return parts

    def forward(
        self, z: torch.Tensor, cond: torch.Tensor | None = None, transposed: bool = False
    ) -> torch.Tensor:
        """``z``: noise rows; ``cond``: per row, the position of the 1 in its conditional
        vector (None when the model has no conditional vector). (batch, out), or (out, batch)
        when ``transposed``."""
        weight, bias = pad_rows(self.out.weight, self.out.bias)
        out = self._linear(self._features(z, cond), weight, bias, cond, transposed)
        n = self.out.out_features
        return out[:n] if transposed else out[:, :n]

    def sampling_plan(
        self, weight: torch.Tensor, bias: torch.Tensor
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The (weight, bias) of each layer at sampling: the blocks with their batch norm folded
        in (running statistics), which makes a block one matrix product and a ReLU, then
        ``weight``/``bias`` as the output layer. Computed once per sampling call, not per
        batch: on a CPU the folding's small kernels cost as much as a slice's products."""
        plan = []
        for block in self.blocks:
            bn = block.bn
            scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
            folded_bias = (block.fc.bias - bn.running_mean) * scale + bn.bias
            plan.append((block.fc.weight * scale[:, None], folded_bias))
        return [*plan, (weight, bias)]

    def output_rows(
        self,
        z: torch.Tensor,
        cond: torch.Tensor | None,
        plan: list[tuple[torch.Tensor, torch.Tensor]],
    ) -> torch.Tensor:
        """(rows, batch): the output layer of ``plan`` (``sampling_plan``), transposed, so that
        each block of rows is a contiguous (rows, batch) slice -- sampling passes the layer's
        rows reordered, padded, with a class bias folded in."""
        parts = [z]
        for weight, bias in plan[:-1]:
            parts.insert(0, self._linear(parts, weight, bias, cond).relu_())
        return self._linear(parts, *plan[-1], cond, transposed=True)
