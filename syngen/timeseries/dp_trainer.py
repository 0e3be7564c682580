"""DPSequenceTrainer: DoppelGANger's training under DP-SGD -- one entity, with all its rows, is
one clipping unit.

The networks that read real entities are the two critics (the main one on whole entities, the
auxiliary one on their attributes and additional attributes); neither mixes entities (no
normalization layers). Each step Poisson-samples the real entities (each with probability
``sample_rate``), pairs each sampled entity with a generated one, and takes as the unit's loss
both critics' WGAN-GP losses of the pair: ``D(fake) - D(real)`` plus the gradient penalty at an
interpolate of the two, and ``aux_weight`` times the same for the auxiliary critic on the
static parts. One entity's rows enter one unit's loss only, so adding or removing an entity
adds or removes one unit and changes no other: the sum of the clipped unit gradients (both
critics' parameters, clipped together) has L2 sensitivity ``max_grad_norm``, however many rows
the entity has (docs/privacy.md). ``DPStep`` computes, clips and noises. The generator sees
the data through the critics only: post-processing.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..privacy.accountant import TrainingBudget
from ..privacy.dp_sgd import DPStep
from ..training import EpochLoop
from .config import TimeSeriesConfig
from .networks import SequenceGenerator
from .trainer import Trainer


class CriticPair(nn.Module):
    """Both critics as one module, so that one unit's gradient over both is clipped as one:
    ``forward(x, static)`` is (main critic on the flattened entity ``x``, auxiliary critic on
    the flattened static parts)."""

    def __init__(self, main: nn.Module, aux: nn.Module | None) -> None:
        super().__init__()
        self.main, self.aux = main, aux

    def forward(self, x: torch.Tensor, static: torch.Tensor):
        aux = self.aux.net(static) if self.aux is not None else static.new_zeros(len(static), 1)
        return self.main.net(x), aux


def _penalty(score, mixed: torch.Tensor) -> torch.Tensor:
    g = torch.func.grad(lambda x: score(x[None]).sum())(mixed)
    return (torch.sqrt(g.square().sum() + 1e-12) - 1) ** 2  # smooth at 0, unlike g.norm()


def entity_unit_loss(
    call, real, fake, alpha, alpha_aux, *, static_dim: int, penalty: float, aux_weight: float
) -> torch.Tensor:
    """One entity's loss: the main critic's WGAN-GP on (real, fake) flattened entities, plus
    ``aux_weight`` times the auxiliary critic's on their first ``static_dim`` values."""
    rs, fs = real[:static_dim], fake[:static_dim]
    main = call(fake[None], fs[None])[0].sum() - call(real[None], rs[None])[0].sum()
    main = main + penalty * _penalty(
        lambda x: call(x, rs[None])[0], alpha * real + (1 - alpha) * fake
    )
    if not static_dim or aux_weight == 0:
        return main
    aux = call(fake[None], fs[None])[1].sum() - call(real[None], rs[None])[1].sum()
    aux = aux + penalty * _penalty(
        lambda s: call(real[None], s)[1], alpha_aux * rs + (1 - alpha_aux) * fs
    )
    return main + aux_weight * aux


class DPSequenceTrainer(Trainer):
    """``Trainer`` with the critics' update replaced by DP-SGD over entities, within
    ``budget``; the generator's update is the ordinary one."""

    def __init__(
        self,
        generator: SequenceGenerator,
        cfg: TimeSeriesConfig,
        encoded: tuple[np.ndarray, np.ndarray, np.ndarray],
        rng: np.random.Generator,
        device: torch.device,
        budget: TrainingBudget,
    ) -> None:
        super().__init__(generator, cfg, encoded, rng, device)
        self.budget = budget
        self.static_dim = generator.attribute_dim + generator.additional_dim
        noise = torch.Generator(device=device)
        noise.manual_seed(int(rng.integers(2**63)))
        static_dim, penalty, aux_weight = self.static_dim, cfg.gradient_penalty, cfg.aux_weight
        self.pair = CriticPair(self.D, self.D_aux)
        self.critic_dp = DPStep(
            self.pair,
            self.opt_d,
            lambda call, *unit: entity_unit_loss(
                call, *unit, static_dim=static_dim, penalty=penalty, aux_weight=aux_weight
            ),
            noise_multiplier=budget.noise_multiplier,
            max_grad_norm=cfg.dp.max_grad_norm,
            expected_batch_size=budget.sample_rate * self.n,
            generator=noise,
        )

    def flat(self, parts: list[torch.Tensor]) -> torch.Tensor:
        """An entity batch as the critics read it: every part (and the step changes) flattened
        side by side, the static parts first."""
        return torch.cat([p.flatten(1) for p in self.with_difference(parts)], 1)

    def run(self, epochs: EpochLoop, steps_per_epoch: int) -> None:  # type: ignore[override]
        """Train until the epochs end or the budget allows no further step."""
        for _ in epochs:
            sum_g = torch.zeros((), device=self.dev)
            done = 0
            for _ in range(steps_per_epoch):
                if not self.budget.allows_step():
                    break
                self.dp_critic_step()
                self.budget.step()
                sum_g += self.generator_step(self.generate())
                done += 1
            if done:
                # The critics' loss is a mean over real entities, never released.
                epochs.record(
                    phase="dp", generator_loss=float(sum_g) / done, discriminator_loss=None
                )
            if done < steps_per_epoch:
                break
        self.budget.close()
        if self.average is not None:
            self.average.copy_to(self.G)

    def dp_critic_step(self) -> torch.Tensor:
        """One DP-SGD step of both critics on a Poisson sample of the real entities."""
        k = int(self.rng.binomial(self.n, self.budget.sample_rate))
        rows = torch.from_numpy(self.rng.choice(self.n, k, replace=False)).to(self.dev)
        with torch.no_grad():
            fake = self.flat(self.generate(k)) if k else None
        real = self.flat([x[rows] for x in self.real])
        if fake is None:
            fake = torch.zeros_like(real)
        alpha = torch.rand(k, device=self.dev)
        alpha_aux = torch.rand(k, device=self.dev)
        return self.critic_dp.step(real, fake, alpha, alpha_aux)
