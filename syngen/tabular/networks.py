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
        self, parts: list[torch.Tensor], layer: nn.Linear, cond: torch.Tensor | None
    ) -> torch.Tensor:
        out, col = None, 0
        for part in parts:
            w = layer.weight[:, col : col + part.shape[1]]
            out = (
                torch.nn.functional.linear(part, w, layer.bias)
                if out is None
                else torch.addmm(out, part, w.t())
            )
            col += part.shape[1]
        if cond is not None:
            out = out + layer.weight.t()[col + cond]
        return out

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """``z``: noise rows; ``cond``: per row, the position of the 1 in its conditional
        vector (None when the model has no conditional vector)."""
        parts = [z]
        for block in self.blocks:
            parts.insert(0, torch.relu(block.bn(self._linear(parts, block.fc, cond))))
        return self._linear(parts, self.out, cond)


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
        self.register_buffer(
            "segment_start", torch.tensor(starts, dtype=torch.long), persistent=False
        )

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

        The arg-max of a Gumbel-softmax is the arg-max of logits plus Gumbel noise, whatever
        the temperature: sampling skips the softmax and never builds the dense rows."""
        u = torch.rand(x.shape[0], len(self.soft_idx), device=x.device, generator=generator)
        noisy = x[:, self.soft_idx] - torch.log(-torch.log(u.clamp_min(1e-10)))
        if bias is not None:
            noisy = noisy + bias
        # Arg-max within each span for the whole batch at once: the span maxima, then the
        # (last) position that reaches its span's maximum, minus the span's first position.
        top = self._segment_max(noisy)
        position = torch.arange(noisy.shape[1], device=x.device).expand_as(noisy)
        hit = torch.where(noisy == top[:, self.segment], position, -1)
        seg = self.segment.expand(x.shape[0], -1)
        first = torch.full_like(top, -1, dtype=torch.long).scatter_reduce(1, seg, hit, "amax")
        codes = first - self.segment_start
        return codes, torch.tanh(x[:, self.tanh_idx])
