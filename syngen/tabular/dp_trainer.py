"""DPTrainer: TabularGAN's training under DP-SGD -- one real row is one clipping unit.

The only network that reads real rows is a plain conditional critic of single rows
(``RowCritic``: no packs, no dropout, no batch norm). Each step Poisson-samples the real rows
(each row with probability ``sample_rate``, done by hand as a binomial count and a uniform
subset, the same distribution), and each sampled row i forms one unit with a generated partner:
its condition is the class of a column chosen at random in row i itself, the partner is
generated under that condition from fresh noise, and the unit's loss is the WGAN-GP loss of
the pair, ``D(fake_i) - D(real_i) + penalty(interpolate of the two)``. Adding or removing a row
adds or removes one unit and changes no other, so the sum of the clipped unit gradients has
L2 sensitivity ``max_grad_norm`` (docs/privacy.md). ``DPStep`` computes, clips and noises.

With ``DPConfig.refine_share`` the last epochs replace the critic by the refinement phase's
classifier of single rows (``RowClassifier``), trained by DP-SGD on the same units (row i and
its partner, logistic loss) and the same budget; its first epoch trains the classifier only.

The generator sees the data only through the critic (or the classifier), and its own step
draws conditions from the sampler's mixture, which under DP holds noisy counts:
post-processing all. The budget is
checked before every critic step (``TrainingBudget``); training stops when the next step would
overspend, and the steps taken are written to the ledger.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..privacy.accountant import TrainingBudget
from ..privacy.dp_sgd import DPStep
from ..training import EpochLoop, FusedAdam, WeightAverage
from ..transform import EncodedTable
from .config import TabularConfig
from .critics import RowClassifier
from .draw_order import RealRows, condition_loss
from .trainer import GeneratorUpdate


class RowCritic(nn.Module):
    """A WGAN critic of single rows and their one-hot condition: Linear -> LeakyReLU(0.2)
    layers, nothing that mixes rows, so that each score depends on its own unit only."""

    def __init__(self, data_dim: int, cond_dim: int, dims: tuple[int, ...]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = data_dim + cond_dim
        for d in dims:
            layers += [nn.Linear(width, d), nn.LeakyReLU(0.2)]
            width = d
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, cond], 1)).squeeze(1)


def wgan_gp_unit_loss(call, real, fake, cond, alpha, penalty: float = 10.0) -> torch.Tensor:
    """One unit's critic loss: its pair's Wasserstein term and the gradient penalty at the
    interpolate of the two rows (the condition, shared by both, held fixed)."""
    mixed = alpha * real + (1 - alpha) * fake
    g = torch.func.grad(lambda x: call(x[None], cond[None]).sum())(mixed)
    norm = torch.sqrt(g.square().sum() + 1e-12)  # smooth at 0, unlike g.norm()
    return (
        call(fake[None], cond[None]).sum()
        - call(real[None], cond[None]).sum()
        + penalty * (norm - 1) ** 2
    )


def logistic_unit_loss(call, real, fake) -> torch.Tensor:
    """One unit's classifier loss: real row 1, its generated partner 0 (cross-entropy)."""
    return F.softplus(-call(real[None])).sum() + F.softplus(call(fake[None])).sum()


class DPTrainer:
    """Trains ``model.generator_`` under DP-SGD against a ``RowCritic``, within ``budget``."""

    def __init__(
        self,
        model,
        cfg: TabularConfig,
        encoded: EncodedTable,
        rng: np.random.Generator,
        budget: TrainingBudget,
        max_grad_norm: float,
    ) -> None:
        dev = model.device_
        self.cfg, self.rng, self.dev, self.budget = cfg, rng, dev, budget
        self.G, self.layout, self.sampler = model.generator_, model.layout_, model.sampler_
        self.n = len(encoded)
        self.b = cfg.batch_size  # the expected batch: sample_rate * n
        self.real_rows = RealRows(encoded, model.transformer_, self.layout, dev)
        self.condition_loss = condition_loss(model.transformer_, self.layout)
        # The real rows' condition classes, per conditional column (a unit draws its own).
        cat = [j for j, _ in model.transformer_.category_spans()]
        self.codes = encoded.codes[:, cat].astype("int64") + self.sampler.offsets
        self.cond_dim = self.sampler.cond_dim
        dim = model.transformer_.output_dim_
        lr = cfg.dp.learning_rate
        self.D = RowCritic(dim, self.cond_dim, cfg.dp.critic_dims).to(dev)
        noise = torch.Generator(device=dev)
        noise.manual_seed(int(rng.integers(2**63)))
        self.critic_step = DPStep(
            self.D,
            torch.optim.Adam(self.D.parameters(), lr=lr, betas=(0.5, 0.9)),
            lambda call, *unit: wgan_gp_unit_loss(call, *unit, penalty=cfg.gradient_penalty),
            noise_multiplier=budget.noise_multiplier,
            max_grad_norm=max_grad_norm,
            expected_batch_size=budget.sample_rate * self.n,
            generator=noise,
        )
        self.refiner = self.refiner_step = None
        if cfg.dp.refine_share:
            self.refiner = RowClassifier(dim, cfg.dp.critic_dims).to(dev)
            self.refiner_step = DPStep(
                self.refiner,
                torch.optim.Adam(self.refiner.parameters(), lr=lr, betas=(0.5, 0.9)),
                logistic_unit_loss,
                noise_multiplier=budget.noise_multiplier,
                max_grad_norm=max_grad_norm,
                expected_batch_size=budget.sample_rate * self.n,
                generator=noise,
            )
        self.opt_g = FusedAdam(
            self.G.parameters(), lr, (0.5, 0.9), weight_decay=cfg.generator_decay
        )
        self.average = WeightAverage(self.G, cfg.ema_decay) if cfg.ema_decay else None
        self.update = GeneratorUpdate(self.G, self.condition_loss, self.opt_g, self.average)

    def run(self, epochs: EpochLoop, steps_per_epoch: int) -> None:
        """Train until the epochs end or the budget allows no further step."""
        refine_from = self.cfg.epochs - round(self.cfg.dp.refine_share * self.cfg.epochs)
        self.G.train()
        for epoch in epochs:
            refining = self.refiner is not None and epoch >= refine_from
            warming_up = refining and epoch == refine_from  # the classifier learns first
            sum_g = torch.zeros((), device=self.dev)
            done = 0
            for _ in range(steps_per_epoch):
                if not self.budget.allows_step():
                    break
                self.dp_critic_step(refining)
                self.budget.step()
                if not warming_up:
                    sum_g += self.generator_step(refining)
                done += 1
            if done:
                # The critic's loss is a mean over real rows, never released: the history is
                # in the model file. The generator's loss reads only the (private) critic.
                epochs.record(
                    phase="dp-refine" if refining else "dp",
                    generator_loss=None if warming_up else float(sum_g) / done,
                    discriminator_loss=None,
                )
            if done < steps_per_epoch:
                break
        self.budget.close()
        if self.average is not None:
            self.average.copy_to(self.G)

    def _one_hot(self, g: torch.Tensor | None, rows: int) -> torch.Tensor:
        if g is None:
            return torch.zeros(rows, 0, device=self.dev)
        return F.one_hot(g, self.cond_dim).float()

    def _generate(self, g: torch.Tensor | None, rows: int, hard: bool = False):
        z = torch.randn(rows, self.cfg.embedding_dim, device=self.dev)
        raw = self.G(z, g, transposed=True)
        return raw, self.layout.activate_rows(raw, self.cfg.gumbel_tau, hard=hard).t()

    def dp_critic_step(self, refining: bool = False) -> None:
        """One DP-SGD step of the critic (with ``refining``, of the row classifier, on hard
        generated rows) on a Poisson sample of the real rows."""
        k = self.rng.binomial(self.n, self.budget.sample_rate)
        rows = self.rng.choice(self.n, k, replace=False)
        g = None
        if self.cond_dim:
            column = self.rng.integers(0, self.codes.shape[1], k)
            g = torch.from_numpy(self.codes[rows, column]).to(self.dev)
        with torch.no_grad():
            _, fake = self._generate(g, k, hard=refining)
        if refining:
            self.refiner_step.step(self.real_rows(rows), fake)
            return
        alpha = torch.rand(k, device=self.dev)  # one mixing weight per unit
        self.critic_step.step(self.real_rows(rows), fake, self._one_hot(g, k), alpha)

    def generator_step(self, refining: bool = False) -> torch.Tensor:
        """One generator update against the critic (with ``refining``, the row classifier),
        conditions from the (noisy) mixture."""
        g = col = None
        if self.cond_dim:
            col, g = self.sampler.sample_mixture(self.b, self.rng)
            col, g = torch.from_numpy(col).to(self.dev), torch.from_numpy(g).to(self.dev)
        raw, fake = self._generate(g, self.b, hard=refining)
        judge = self.refiner if refining else self.D
        judge.requires_grad_(False)
        if refining:
            loss_g = self.refiner.generator_loss(fake)
        else:
            loss_g = -self.D(fake, self._one_hot(g, self.b)).mean()
        judge.requires_grad_(True)
        return self.update(loss_g, raw, col, g)
