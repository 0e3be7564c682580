"""DoppelGANger's networks: attribute, additional-attribute and feature generators, two critics.

The generator runs in three stages (Lin et al. 2020, fig. 5): noise -> attributes (MLP);
(noise, attributes) -> additional attributes: the per-entity midpoint and half-range of each
per-entity scaled numeric feature and, when lengths vary, the sequence length (MLP);
(attributes, additional attributes, per-sequence noise, per-step noise) -> features, an LSTM
whose every cell emits ``sample_len`` time steps ("batch generation"). The [continue, stop]
generation flags are written from the generated length, and the steps after it are zeroed.
All outputs go through ``OutputLayout`` (tanh for scalars, Gumbel-softmax for classes), the
same activation the tabular model uses.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..output_layout import OutputLayout
from ..transform import Span


def mlp(in_dim: int, dims: tuple[int, ...], out_dim: int, slope: float = 0.0) -> nn.Sequential:
    layers, width = [], in_dim
    for d in dims:
        layers += [nn.Linear(width, d), nn.LeakyReLU(slope) if slope else nn.ReLU()]
        width = d
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


class SequenceGenerator(nn.Module):
    def __init__(
        self,
        attribute_layout: list[Span],
        additional_layout: list[Span],
        feature_layout: list[Span],
        max_len: int,
        min_len: int,
        sample_len: int,
        attribute_noise_dim: int,
        feature_noise_dim: int,
        attribute_dims: tuple[int, ...],
        feature_hidden: int,
        feature_layers: int,
    ) -> None:
        super().__init__()
        self.attribute_dim = sum(s.width for s in attribute_layout)
        self.additional_dim = sum(s.width for s in additional_layout)
        self.feature_dim = sum(s.width for s in feature_layout)
        self.max_len, self.min_len, self.sample_len = max_len, min_len, sample_len
        # The length one-hot closes the additional layout when lengths vary.
        lengths = [s for s in additional_layout if s.column == "<length>"]
        self.length_start = lengths[0].start if lengths else None
        self.cells = math.ceil(max_len / sample_len)
        self.attribute_noise_dim, self.feature_noise_dim = attribute_noise_dim, feature_noise_dim
        self.attribute_out = OutputLayout(attribute_layout)
        self.additional_out = OutputLayout(additional_layout)
        # The generation flags (the last span) are written from the length, not generated.
        self.feature_out = OutputLayout(feature_layout[:-1])
        self.value_dim = self.feature_dim - 2
        # No network for an empty output (no attributes, no numeric feature).
        self.attribute_net = (
            mlp(attribute_noise_dim, attribute_dims, self.attribute_dim)
            if self.attribute_dim
            else None
        )
        self.additional_net = (
            mlp(attribute_noise_dim + self.attribute_dim, attribute_dims, self.additional_dim)
            if self.additional_dim
            else None
        )
        # Per-sequence noise besides the per-step noise: without attributes, nothing else would
        # carry a whole sequence's character (a sine's frequency) from step to step.
        self.rnn = nn.LSTM(
            self.attribute_dim + self.additional_dim + 2 * feature_noise_dim,
            feature_hidden,
            num_layers=feature_layers,
            batch_first=True,
        )
        self.feature_net = nn.Linear(feature_hidden, sample_len * self.value_dim)

    def _noise(self, *shape: int, generator: torch.Generator | None) -> torch.Tensor:
        return torch.randn(*shape, device=self.feature_net.weight.device, generator=generator)

    def generate_attributes(
        self, n: int, tau: float, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Stage 1: ``n`` encoded attribute rows (the ``TableTransformer`` layout)."""
        if self.attribute_net is None:
            return self._noise(n, 0, generator=generator)
        raw = self.attribute_net(self._noise(n, self.attribute_noise_dim, generator=generator))
        return self.attribute_out.activate(raw, tau, generator)

    def forward(
        self, attributes: torch.Tensor, tau: float, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Stages 2 and 3 for the given encoded attributes: (additional attributes, features
        (n, max_len, dim) with flags and zeros after each sequence's end, lengths (n,))."""
        n = len(attributes)
        additional = self._noise(n, 0, generator=generator)
        if self.additional_net is not None:
            z = self._noise(n, self.attribute_noise_dim, generator=generator)
            raw = self.additional_net(torch.cat([z, attributes], 1))
            additional = self.additional_out.activate(raw, tau, generator)
        z_sequence = self._noise(n, self.feature_noise_dim, generator=generator)
        cond = torch.cat([attributes, additional, z_sequence], 1)
        z = self._noise(n, self.cells, self.feature_noise_dim, generator=generator)
        hidden, _ = self.rnn(torch.cat([cond[:, None, :].expand(-1, self.cells, -1), z], 2))
        raw = self.feature_net(hidden).reshape(-1, self.value_dim)
        values = self.feature_out.activate(raw, tau, generator)
        values = values.reshape(n, self.cells * self.sample_len, self.value_dim)
        values = values[:, : self.max_len]
        if self.length_start is None:
            lengths = torch.full((n,), self.max_len, device=values.device)
        else:
            lengths = self.min_len + additional[:, self.length_start :].argmax(dim=1)
        step = torch.arange(self.max_len, device=values.device)[None, :]
        alive = step < lengths[:, None]
        last = step == lengths[:, None] - 1
        flags = torch.stack([alive & ~last, last], dim=2).to(values.dtype)
        features = torch.cat([values * alive[..., None], flags], dim=2)
        return additional, features, lengths


class Critic(nn.Module):
    """WGAN critic: an MLP on flattened inputs, no normalization (the gradient penalty needs
    each score to depend on its own row only)."""

    def __init__(self, in_dim: int, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.net = mlp(in_dim, dims, 1, slope=0.2)

    def forward(self, *parts: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([p.flatten(1) for p in parts], 1))

    def gradient_penalty(self, real: list, fake: list, weight: float) -> torch.Tensor:
        """WGAN-GP on random interpolates of the real and fake parts (one weight per row)."""
        real = torch.cat([p.flatten(1) for p in real], 1)
        fake = torch.cat([p.flatten(1) for p in fake], 1)
        alpha = torch.rand(len(real), 1, device=real.device)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(self.net(mixed).sum(), mixed, create_graph=True)
        return weight * ((grad.norm(2, dim=1) - 1) ** 2).mean()
