"""Trainer: DoppelGANger's training loop -- WGAN-GP with a critic on whole entities and an
auxiliary critic on their (additional) attributes alone, one named step at a time."""

from __future__ import annotations

import numpy as np
import torch

from ..training import EpochLoop, WeightAverage
from .config import TimeSeriesConfig
from .networks import Critic, SequenceGenerator


def with_difference(parts: list[torch.Tensor], weight: float) -> list[torch.Tensor]:
    """The critic's inputs: the parts [attributes, additional attributes, features], and each
    step's change times ``weight`` (see ``TimeSeriesConfig.difference_weight``; 0: none)."""
    if not weight:
        return parts
    f = parts[2]
    # Within the sequence only: the drop to the zero padding is no change of the data
    # (scaled up, it would drown the length in the critic's input).
    alive = (f[:, 1:, -2] + f[:, 1:, -1])[..., None]
    return [*parts, weight * (f[:, 1:] - f[:, :-1]) * alive]


class Trainer:
    """Trains ``generator`` on the encoded entities ``(attributes, additional, features)``,
    drawing batches from ``rng`` and every other random number from torch's (seeded)
    generators."""

    def __init__(
        self,
        generator: SequenceGenerator,
        cfg: TimeSeriesConfig,
        encoded: tuple[np.ndarray, np.ndarray, np.ndarray],
        rng: np.random.Generator,
        device: torch.device,
    ) -> None:
        self.G, self.cfg, self.rng, self.dev = generator, cfg, rng, device
        self.real = [torch.from_numpy(x).float().to(device) for x in encoded]
        self.n, self.b = len(encoded[0]), cfg.batch_size
        static_dim = generator.attribute_dim + generator.additional_dim
        steps, dim = encoded[2].shape[1], encoded[2].shape[2]
        with_diff = cfg.difference_weight > 0
        self.D = Critic(
            static_dim + (steps + (steps - 1) * with_diff) * dim, cfg.discriminator_dims
        )
        self.D_aux = Critic(static_dim, cfg.aux_discriminator_dims) if static_dim else None
        self.critics = [self.D] + ([self.D_aux] if self.D_aux is not None else [])
        for c in self.critics:
            c.to(device)
        self.opt_g = torch.optim.Adam(
            generator.parameters(), lr=cfg.generator_lr, betas=(0.5, 0.999)
        )
        self.opt_d = torch.optim.Adam(
            [p for c in self.critics for p in c.parameters()],
            lr=cfg.discriminator_lr,
            betas=(0.5, 0.999),
        )
        self.average = WeightAverage(generator, cfg.ema_decay) if cfg.ema_decay else None

    def run(self, epochs: EpochLoop) -> None:
        """Train for the loop's epochs, each a pass over the entities in a new order; the
        weight average is the generator kept."""
        for _ in epochs:
            sum_g = torch.zeros((), device=self.dev)  # summed on the device: no sync per step
            sum_d = torch.zeros((), device=self.dev)
            order = self.rng.permutation(self.n)
            steps = max(1, self.n // self.b)
            for k in range(steps):
                idx = torch.from_numpy(order[k * self.b : (k + 1) * self.b]).to(self.dev)
                fake = self.generate()
                sum_d += self.critic_step([x[idx] for x in self.real], fake)
                sum_g += self.generator_step(fake)
            epochs.record(
                generator_loss=float(sum_g) / steps, discriminator_loss=float(sum_d) / steps
            )
        if self.average is not None:
            self.average.copy_to(self.G)

    def generate(self, rows: int | None = None) -> list[torch.Tensor]:
        """``rows`` (default: a batch) generated entities: [attributes, additional attributes,
        features]."""
        tau = self.cfg.gumbel_tau
        attributes = self.G.generate_attributes(self.b if rows is None else rows, tau)
        additional, features, _ = self.G(attributes, tau)
        return [attributes, additional, features]

    def with_difference(self, parts: list[torch.Tensor]) -> list[torch.Tensor]:
        return with_difference(parts, self.cfg.difference_weight)

    def score(self, parts: list[torch.Tensor]) -> torch.Tensor:
        """The critics' mean score: the main critic plus ``aux_weight`` times the auxiliary
        critic on the static parts."""
        out = self.D(*parts).mean()
        if self.D_aux is None:
            return out
        return out + self.cfg.aux_weight * self.D_aux(*parts[:2]).mean()

    def critic_step(self, real: list[torch.Tensor], fake: list[torch.Tensor]) -> torch.Tensor:
        """One update of both critics (Wasserstein loss plus gradient penalties); the
        Wasserstein loss, detached."""
        cfg = self.cfg
        real, fake = self.with_difference(real), self.with_difference([x.detach() for x in fake])
        loss_d = self.score(fake) - self.score(real)
        penalty = self.D.gradient_penalty(real, fake, cfg.gradient_penalty)
        if self.D_aux is not None:
            penalty = penalty + cfg.aux_weight * self.D_aux.gradient_penalty(
                real[:2], fake[:2], cfg.gradient_penalty
            )
        self.opt_d.zero_grad(set_to_none=True)
        (loss_d + penalty).backward()
        self.opt_d.step()
        return loss_d.detach()

    def generator_step(self, fake: list[torch.Tensor]) -> torch.Tensor:
        """One generator update against the critics; its loss, detached."""
        for c in self.critics:
            c.requires_grad_(False)
        loss_g = -self.score(self.with_difference(fake))
        for c in self.critics:
            c.requires_grad_(True)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        if self.average is not None:
            self.average.update(self.G)
        return loss_g.detach()
