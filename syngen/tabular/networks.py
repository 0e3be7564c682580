"""Generator (residual MLP) and PacGAN discriminator of CTGAN, and the output activation."""

from __future__ import annotations

import torch
from torch import nn

from ..transform import Span


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
    ) -> torch.Tensor:
        width = sum(p.shape[1] for p in parts)
        if cond is None:
            out = bias
        else:
            # The bias plus the weight column of each row's hot entry: one gather from a small
            # (cond_dim, out) table, whose gradient is a small index_add.
            table = (weight[:, width:] + bias[:, None]).t().contiguous()
            out = table.index_select(0, cond)
        col = 0
        for part in parts:
            w = weight[:, col : col + part.shape[1]].t()
            # In place after the first product: addmm's gradient does not need its input.
            out = torch.addmm(out, part, w) if col == 0 else out.addmm_(part, w)
            col += part.shape[1]
        return out

    def _block_weights(self, block: Residual) -> tuple[torch.Tensor, torch.Tensor]:
        """The block's linear map; in eval mode with its batch norm folded in, which makes
        sampling one matrix product and a ReLU per block."""
        if self.training:
            return block.fc.weight, block.fc.bias
        bn = block.bn
        scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
        return block.fc.weight * scale[:, None], (block.fc.bias - bn.running_mean) * scale + bn.bias

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """``z``: noise rows; ``cond``: per row, the position of the 1 in its conditional
        vector (None when the model has no conditional vector)."""
        parts = [z]
        for block in self.blocks:
            h = self._linear(parts, *self._block_weights(block), cond)
            parts.insert(0, torch.relu(block.bn(h)) if self.training else h.relu_())
        return self._linear(parts, self.out.weight, self.out.bias, cond)


class Discriminator(nn.Module):
    """Scores packs of ``pac`` rows at once (PacGAN); no BatchNorm, so every output depends
    only on its own pack -- what DP-SGD needs to clip per example."""

    def __init__(self, in_dim: int, dims: tuple[int, ...], pac: int) -> None:
        super().__init__()
        self.pac = pac
        layers, width = [], in_dim * pac
        for d in dims:
            layers += [nn.Linear(width, d), nn.LeakyReLU(0.2), nn.Dropout(0.5)]
            width = d
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.reshape(-1, self.pac * x.shape[1]))

    def gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor, weight: float):
        """WGAN-GP on interpolates, one mixing weight per pack."""
        n, dim = real.shape
        alpha = torch.rand(n // self.pac, 1, 1, device=real.device)
        alpha = alpha.expand(-1, self.pac, dim).reshape(n, dim)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(self(mixed).sum(), mixed, create_graph=True)
        norm = grad.reshape(-1, self.pac * dim).norm(2, dim=1)
        return weight * ((norm - 1) ** 2).mean()


class OutputLayout(nn.Module):
    """The span layout as index tensors: activation and per-span softmax without Python loops.

    Softmax spans are handled as segments of one gathered block, so a table with a hundred
    discrete spans costs the same handful of kernels as one with three.
    """

    def __init__(self, layout: list[Span]) -> None:
        super().__init__()
        tanh = [s.start for s in layout if s.activation == "tanh"]
        soft, seg = [], []
        for i, s in enumerate(x for x in layout if x.activation == "softmax"):
            soft += range(s.start, s.start + s.width)
            seg += [i] * s.width
        order = torch.tensor(tanh + soft, dtype=torch.long)
        self.register_buffer("tanh_idx", torch.tensor(tanh, dtype=torch.long), persistent=False)
        self.register_buffer("soft_idx", torch.tensor(soft, dtype=torch.long), persistent=False)
        self.register_buffer("segment", torch.tensor(seg, dtype=torch.long), persistent=False)
        self.register_buffer("unpermute", torch.argsort(order), persistent=False)
        self.n_segments = len(set(seg))
        starts = [i for i in range(len(seg)) if i == 0 or seg[i] != seg[i - 1]]
        # Softmax spans grouped by width: a group's columns, viewed as (spans, width, batch),
        # take one softmax and one draw for all its spans, whatever the number of spans.
        by_width: dict[int, list[int]] = {}
        for i, s in enumerate(x for x in layout if x.activation == "softmax"):
            by_width.setdefault(s.width, []).append(i)
        self.groups = []
        for k, (width, spans) in enumerate(sorted(by_width.items())):
            columns = torch.tensor([starts[i] + j for i in spans for j in range(width)])
            self.register_buffer(f"group_soft{k}", columns, persistent=False)
            self.register_buffer(f"group_raw{k}", self.soft_idx[columns], persistent=False)
            self.register_buffer(f"group_spans{k}", torch.tensor(spans), persistent=False)
            self.groups.append(width)

    def _groups(self):
        """Per width: (width, columns in the raw output, columns among the softmax columns,
        span numbers)."""
        for k, width in enumerate(self.groups):
            yield width, *(getattr(self, f"group_{n}{k}") for n in ("raw", "soft", "spans"))

    def _segment_max(self, x: torch.Tensor) -> torch.Tensor:
        seg = self.segment.expand(x.shape[0], -1)
        init = torch.full((x.shape[0], self.n_segments), -torch.inf, device=x.device)
        return init.scatter_reduce(1, seg, x, "amax").detach()

    def segment_logsumexp(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, n_segments) log-sum-exp of each softmax span of the raw output ``x``."""
        logits = x[:, self.soft_idx]
        top = self._segment_max(logits)
        seg = self.segment.expand(x.shape[0], -1)
        total = torch.zeros_like(top).scatter_add(1, seg, torch.exp(logits - top[:, self.segment]))
        return torch.log(total) + top

    def activate(
        self,
        x: torch.Tensor,
        tau: float,
        generator: torch.Generator | None = None,
        bias: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """tanh on scalar spans, Gumbel-softmax(tau) on each softmax span.

        ``bias`` (one value per softmax column) shifts the class logits; sampling uses it to
        calibrate class frequencies."""
        logits = x[:, self.soft_idx]
        if bias is not None:
            logits = logits + bias
        u = torch.rand(logits.shape, device=x.device, generator=generator)
        y = (logits - torch.log(-torch.log(u.clamp_min(1e-10)))) / tau
        y = torch.exp(y - self._segment_max(y)[:, self.segment])
        seg = self.segment.expand(x.shape[0], -1)
        total = torch.zeros(x.shape[0], self.n_segments, device=x.device).scatter_add(1, seg, y)
        y = y / total[:, self.segment]
        out = torch.cat([torch.tanh(x[:, self.tanh_idx]), y], dim=1)
        return out[:, self.unpermute]

    def sample(
        self, x: torch.Tensor, generator: torch.Generator | None = None, bias=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(class codes, tanh scalars) drawn from the raw output ``x``.

        Each span's class is drawn from the softmax of its logits, as the arg-max of a
        Gumbel-softmax would be, by inverting its cumulative distribution: one uniform number
        per span instead of one per class, and the dense rows are never built. The work runs
        on the transposed logits, so every reduction over a span's few classes is vectorized
        along the batch."""
        n = x.shape[0]
        codes = torch.empty(self.n_segments, n, dtype=torch.long, device=x.device)
        xt = x.t()
        for width, raw, soft, spans in self._groups():
            logits = xt[raw]
            if bias is not None:
                logits += bias[soft, None]
            cdf = logits.view(len(spans), width, n).softmax(1).cumsum(1)
            u = torch.rand(len(spans), 1, n, device=x.device, generator=generator)
            # (cdf < u) counts the classes passed; float rounding may leave cdf[-1] below u.
            codes[spans] = (cdf < u).sum(1).clamp_max(width - 1)
        return codes.t(), torch.tanh(x[:, self.tanh_idx])
