"""Trainer: TabularGAN's training loop, one named step at a time.

Two regimes share the generator step. The GAN regime (``gan_step``) trains the pack critic on
conditions drawn by training-by-sampling and the generator against it; the refinement regime
(``refine_step``, the last ``refine_share`` of the epochs or of the time budget) trains a
classifier of single rows on conditions drawn as sampling draws them, and the generator
against that. Every step adds the condition loss to the generator's. The generator's output
layer is held in draw order meanwhile (``draw_order``).
"""

from __future__ import annotations

import numpy as np
import torch

from ..training import EpochLoop, FusedAdam, WeightAverage
from ..transform import EncodedTable
from .config import TabularConfig
from .critics import PackCritic, RowClassifier
from .draw_order import RealRows, condition_loss

# The refinement classifier learns 5x faster than the pack critic: it must keep up with a
# generator that is already trained when it starts.
REFINER_LR = 1e-3


class GeneratorUpdate:
    """The generator's update, the same in every regime (and under DP): its loss plus the
    condition loss, one optimizer step, then the weight average."""

    def __init__(self, generator, condition_loss, optimizer, average) -> None:
        self.G, self.condition_loss = generator, condition_loss
        self.optimizer, self.average = optimizer, average

    def __call__(self, loss_g: torch.Tensor, raw: torch.Tensor, col, g) -> torch.Tensor:
        """One update on ``loss_g`` (and the condition loss when ``g`` is given); the loss,
        detached."""
        if g is not None:
            loss_g = loss_g + self.condition_loss(raw, col, g)
        self.optimizer.zero_grad()
        loss_g.backward()
        self.optimizer.step()
        if self.average is not None:
            self.average.update(self.G)
        return loss_g.detach()


class Trainer:
    """Trains ``model.generator_`` on ``encoded`` (the model's own transformer, sampler and
    layout), drawing every random number from ``rng`` and torch's (seeded) generators."""

    def __init__(
        self, model, cfg: TabularConfig, encoded: EncodedTable, rng: np.random.Generator
    ) -> None:
        dev = model.device_
        self.cfg, self.rng, self.dev = cfg, rng, dev
        self.G, self.layout, self.sampler = model.generator_, model.layout_, model.sampler_
        self.n, self.b = len(encoded), cfg.batch_size
        self.real_rows = RealRows(encoded, model.transformer_, self.layout, dev)
        self.condition_loss = condition_loss(model.transformer_, self.layout)
        dim = model.transformer_.output_dim_
        self.D = PackCritic(dim, self.sampler.cond_dim, cfg.discriminator_dims, cfg.pac).to(dev)
        self.opt_g = FusedAdam(
            self.G.parameters(), cfg.generator_lr, (0.5, 0.9), weight_decay=cfg.generator_decay
        )
        self.opt_d = FusedAdam(
            self.D.parameters(),
            cfg.discriminator_lr,
            (0.5, 0.9),
            weight_decay=cfg.discriminator_decay,
        )
        if cfg.refine_share:
            self.refiner = RowClassifier(dim, cfg.discriminator_dims).to(dev)
            self.opt_r = FusedAdam(self.refiner.parameters(), REFINER_LR, (0.5, 0.9))
        self.average = WeightAverage(self.G, cfg.ema_decay) if cfg.ema_decay else None
        self.generator_step = GeneratorUpdate(self.G, self.condition_loss, self.opt_g, self.average)
        self.refined_steps = 0

    # ---- the loop ---------------------------------------------------------------------------
    def run(self, epochs: EpochLoop) -> None:
        """Train for the loop's epochs: the GAN regime, then refinement from the epoch (or the
        share of the budget) where it begins; the weight average is the generator kept."""
        cfg = self.cfg
        steps = max(1, self.n // self.b)
        gan_epochs = cfg.epochs - round(cfg.refine_share * cfg.epochs)
        gan_seconds = None if cfg.max_seconds is None else (1 - cfg.refine_share) * cfg.max_seconds
        refining = False
        self.G.train()
        self.D.train()
        for epoch in epochs:
            sum_g = torch.zeros((), device=self.dev)  # summed on the device: no sync per step
            sum_d = torch.zeros((), device=self.dev)
            for _ in range(steps):
                if refining:
                    loss_g, loss_d, raw, col, g = self.refine_step(
                        warming_up=self.refined_steps < steps
                    )
                else:
                    loss_g, loss_d, raw, col, g = self.gan_step()
                sum_d += loss_d
                if loss_g is not None:
                    sum_g += self.generator_step(loss_g, raw, col, g)
            epochs.record(
                phase="refine" if refining else "gan",
                generator_loss=float(sum_g) / steps,
                discriminator_loss=float(sum_d) / steps,
            )
            if cfg.refine_share and not refining:
                refining = epoch + 1 >= gan_epochs or epochs.over_budget(gan_seconds)
        if self.average is not None:
            self.average.copy_to(self.G)

    # ---- the steps --------------------------------------------------------------------------
    def draw(self, mixture: bool = False):
        """(conditioned column, condition class, real row) per row of a batch: classes by
        log-frequency with real rows that hold them (training-by-sampling), or, with
        ``mixture``, classes as ``sample`` draws them and real rows at random -- generated rows
        as sampling makes them, against the table itself."""
        b, rng = self.b, self.rng
        if self.sampler.cond_dim == 0:
            return None, None, rng.integers(0, self.n, b)
        if mixture:
            col, g = self.sampler.sample_mixture(b, rng)
            rows = rng.integers(0, self.n, b)
        else:
            col, g, rows = self.sampler.sample_train(b, rng)
        return torch.from_numpy(col).to(self.dev), torch.from_numpy(g).to(self.dev), rows

    def generate(self, g: torch.Tensor | None, hard: bool = False):
        """(raw output, activated rows) of a batch for condition classes ``g``, in draw order."""
        z = torch.randn(self.b, self.cfg.embedding_dim, device=self.dev)
        raw = self.G(z, g, transposed=True)
        fake = self.layout.activate_rows(
            raw, self.cfg.gumbel_tau, hard=hard, uniform=self._gumbel_uniforms()
        ).t()
        return raw, fake

    def _gumbel_uniforms(self) -> torch.Tensor | None:
        """The uniforms of a batch's Gumbel noise from the fit's numpy generator on a CPU (twice
        as fast as torch's CPU generator); None draws them on the device."""
        if self.dev.type != "cpu":
            return None
        return torch.from_numpy(self.rng.random((self.layout.n_classes, self.b), dtype=np.float32))

    def gan_step(self):
        """The pack critic's steps, then the generator's loss against it: (generator loss,
        critic loss, raw output, conditioned column, condition class)."""
        cfg, D = self.cfg, self.D
        for k in range(cfg.discriminator_steps):
            # The last critic step's generator pass keeps its graph and serves the generator
            # step too: one generator forward per step instead of two.
            col, g, rows = self.draw()
            with torch.set_grad_enabled(k == cfg.discriminator_steps - 1):
                raw, fake = self.generate(g)
            # As CTGAN: real rows for the batch's conditions shuffled, so that a real pack
            # holds other conditions than the fake pack it is mixed with (b is a multiple of
            # pac: no pack mixes real and fake rows).
            perm = self.rng.permutation(self.b)
            real = self.real_rows(rows[perm])
            real_g = None if g is None else g[torch.from_numpy(perm).to(self.dev)]
            self.opt_d.zero_grad()
            loss_d, _ = D.critic_backward(fake.detach(), real, g, real_g, cfg.gradient_penalty)
            self.opt_d.step()
        D.requires_grad_(False)
        loss_g = -D(fake, g).mean()
        D.requires_grad_(True)
        return loss_g, loss_d, raw, col, g

    def refine_step(self, warming_up: bool):
        """The row classifier's step on hard generated rows against real ones, then the
        generator's loss against it; while ``warming_up`` (the classifier's first epoch: it
        learns before it teaches) no generator loss (None)."""
        col, g, rows = self.draw(mixture=True)
        raw, fake = self.generate(g, hard=True)
        self.opt_r.zero_grad()
        loss_d = self.refiner.loss(fake.detach(), self.real_rows(rows))
        loss_d.backward()
        self.opt_r.step()
        self.refined_steps += 1
        if warming_up:
            return None, loss_d.detach(), raw, col, g
        self.refiner.requires_grad_(False)
        loss_g = self.refiner.generator_loss(fake)
        self.refiner.requires_grad_(True)
        return loss_g, loss_d.detach(), raw, col, g
