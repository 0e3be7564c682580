"""What the GAN training loops share: the epochs with their history and time budget, torch's
generators seeded for one fit, the generator's weight average and the optimizer.

``WeightAverage``: the exponential moving average of a generator's weights (Polyak
averaging). A GAN's generator never settles: each step moves it after the critic, and the
weights at the last step are one point of that orbit. Their moving average sits near its
centre, and samples from it are steadier and closer to the data (docs/experiments.md).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn
from tqdm.auto import tqdm


class WeightAverage:
    """The running average of ``module``'s parameters; ``update`` after each optimizer step,
    ``copy_to`` once training ends. Buffers (batch-norm statistics) are left as trained."""

    def __init__(self, module: nn.Module, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.average = [p.detach().clone() for p in module.parameters()]

    def update(self, module: nn.Module) -> None:
        self.updates += 1
        # The decay warms up (as TensorFlow's ExponentialMovingAverage with num_updates):
        # a short fit's average must not hold on to the random initial weights.
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        with torch.no_grad():
            # One multi-tensor kernel, not one per parameter (as torch.optim.swa_utils does).
            torch._foreach_lerp_(self.average, [p.detach() for p in module.parameters()], 1 - decay)

    def copy_to(self, module: nn.Module) -> None:
        with torch.no_grad():
            for avg, p in zip(self.average, module.parameters(), strict=True):
                p.copy_(avg)


class FusedAdam:
    """Adam with L2 weight decay, as ``torch.optim.Adam(..., fused=True)``: the same fused
    kernel, called directly.

    torch.optim spends a fixed amount of Python per ``step`` (hooks, per-parameter state
    checks, grouping by device) before it reaches that one kernel, which two optimizer steps
    per training step pay on every step. State is not saved: a fit is never resumed.
    """

    def __init__(
        self,
        params,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        weight_decay: float = 0.0,
        eps: float = 1e-8,
    ) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.steps = [torch.zeros((), device=p.device) for p in self.params]
        self.hyper = {
            "lr": lr,
            "beta1": betas[0],
            "beta2": betas[1],
            "weight_decay": weight_decay,
            "eps": eps,
            "amsgrad": False,
            "maximize": False,
        }

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """Update every parameter that has a gradient (as torch.optim, skip the others)."""
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not live:
            return
        steps = [self.steps[i] for i in live]
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(
            [self.params[i] for i in live],
            [self.params[i].grad for i in live],
            [self.exp_avg[i] for i in live],
            [self.exp_avg_sq[i] for i in live],
            [],
            steps,
            **self.hyper,
        )


def over_budget(
    started: float, epoch_started: float, max_seconds: float | None, now: float | None = None
) -> bool:
    """Whether another epoch as long as the last one would overrun ``max_seconds`` (counted
    from ``started``; ``now`` defaults to ``time.perf_counter()``): the budget is a limit that a
    benchmark's equal-time comparison relies on, not a point to pass."""
    if max_seconds is None:
        return False
    now = time.perf_counter() if now is None else now
    return now - started + (now - epoch_started) > max_seconds


class EpochLoop:
    """The epochs of one fit: iterate over it, train, ``record`` the epoch's losses.

    It stops early when another epoch would overrun ``max_seconds`` (``over_budget``: then
    ``stopped_early`` is True), shows a progress bar when ``verbose`` (of seconds against the
    budget when there is one, whose end comes long before the epochs' on a busy machine; else
    of epochs), and calls ``on_epoch(epoch, None)`` as each epoch starts and
    ``on_epoch(epoch, record)`` as it ends (a benchmark's clock, a caller's logging). Every
    record's ``"seconds"`` is the time since ``started``, the start of the fit, in both models.
    """

    def __init__(
        self,
        epochs: int,
        *,
        started: float,
        max_seconds: float | None,
        verbose: bool = False,
        on_epoch: Callable[[int, dict | None], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.epochs = epochs
        self.started = started
        self.max_seconds = max_seconds
        self.on_epoch = on_epoch
        self.clock = clock
        self.history: list[dict] = []
        self.stopped_early = False
        if max_seconds is None:
            self._bar = tqdm(total=epochs, desc="fit", unit="epoch", disable=not verbose)
        else:
            self._bar = tqdm(
                total=round(max_seconds, 1),
                desc=f"fit (budget {max_seconds:g} s, up to {epochs} epochs)",
                unit="s",
                bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s{postfix}",
                disable=not verbose,
            )

    def __iter__(self) -> Iterator[int]:
        try:
            for epoch in range(self.epochs):
                self.epoch_started = self.clock()
                if self.on_epoch is not None:
                    self.on_epoch(epoch + 1, None)
                yield epoch
                if epoch + 1 < self.epochs and self.over_budget(self.max_seconds):
                    self.stopped_early = True
                    if not self._bar.disable:
                        self._bar.write(
                            f"fit: stopped after {epoch + 1} of {self.epochs} epochs: another "
                            f"would overrun the time budget of {self.max_seconds:g} s",
                            file=sys.stderr,
                        )
                    break
        finally:
            self._bar.close()

    def over_budget(self, max_seconds: float | None) -> bool:
        """Whether another epoch like the last would end past ``max_seconds`` into the fit."""
        return over_budget(self.started, self.epoch_started, max_seconds, self.clock())

    def record(self, **values) -> dict:
        """Append the epoch's record (its number, ``values``, the seconds into the fit)."""
        record = {
            "epoch": len(self.history) + 1,
            **values,
            "seconds": round(self.clock() - self.started, 3),
        }
        self.history.append(record)
        if self.max_seconds is None:
            self._bar.update(1)
        else:  # seconds against the budget, the epoch beside them
            self._bar.n = min(record["seconds"], self._bar.total)
        shown = {"epoch": record["epoch"]}
        for key, label in (("generator_loss", "g"), ("discriminator_loss", "d")):
            if isinstance(values.get(key), float):
                shown[label] = f"{values[key]:.3f}"
        self._bar.set_postfix(shown)
        if self.on_epoch is not None:
            self.on_epoch(record["epoch"], record)
        return record


@contextmanager
def seeded(seed: int, device: torch.device):
    """torch's global generators seeded with ``seed`` for the block, the caller's state
    restored after: the CPU generator and, on a GPU, that device's.

    Network initialisation (``nn.Linear``), dropout masks and the training noise draw from
    torch's global generators; forking them confines a fit's draws to the fit, so that a
    caller's own random stream is the same with or without a fit in between, and the same
    seed gives the same fit. ``torch.manual_seed`` is not used: it reseeds every GPU, and only
    the forked one would come back.
    """
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.default_generator.manual_seed(seed)
        if cuda:
            with torch.cuda.device(cuda[0]):
                torch.cuda.manual_seed(seed)
        yield
