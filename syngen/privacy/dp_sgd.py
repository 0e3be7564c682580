"""DPStep: one DP-SGD update of a network from per-unit losses -- per-unit gradients by
``torch.func``, clipped, summed and noised by Opacus's ``DPOptimizer``.

The per-unit gradients are exact and computed in one pass: ``vmap(grad(unit_loss))`` over the
units of a batch, each unit's loss a function of its own inputs only, including a gradient
penalty's gradient of a gradient (which Opacus's hooks, working from detached layer inputs,
would miss). They go into ``p.grad_sample`` (Opacus's ``grad_sample_mode="no_op"`` contract);
``DPOptimizer`` clips each unit's whole gradient to ``max_grad_norm``, adds Gaussian noise of
``noise_multiplier * max_grad_norm`` to the sum, divides by the expected batch size and steps
the wrapped optimizer. Nothing else writes the network's gradients: Opacus's noise step
overwrites ``p.grad``, so a gradient from outside the per-unit path would be dropped anyway.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from opacus.optimizers import DPOptimizer
from torch import nn
from torch.func import functional_call, grad, vmap


class DPStep:
    """DP-SGD on ``module``'s parameters with ``optimizer`` (a torch optimizer over them).

    ``unit_loss(call, *unit)`` is one unit's loss, where ``call(*inputs)`` runs ``module``
    with the parameters being differentiated; ``*unit`` are the unit's slices of the batch.
    """

    def __init__(
        self,
        module: nn.Module,
        optimizer: torch.optim.Optimizer,
        unit_loss: Callable,
        *,
        noise_multiplier: float,
        max_grad_norm: float,
        expected_batch_size: float,
        generator: torch.Generator | None = None,
    ) -> None:
        self.module = module
        self.unit_loss = unit_loss
        self.optimizer = DPOptimizer(
            optimizer,
            noise_multiplier=noise_multiplier,
            max_grad_norm=max_grad_norm,
            expected_batch_size=expected_batch_size,
            loss_reduction="mean",
            generator=generator,
        )
        self.names = [name for name, p in module.named_parameters() if p.requires_grad]

    def per_unit_gradients(
        self, *batch: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """{parameter name: (units, *shape) gradients} and the per-unit losses."""
        params = {k: v.detach() for k, v in self.module.named_parameters() if k in self.names}

        def loss(p: dict, *unit: torch.Tensor):
            def call(*inputs: torch.Tensor) -> torch.Tensor:
                return functional_call(self.module, p, inputs)

            value = self.unit_loss(call, *unit)
            return value, value.detach()

        units = len(batch[0])
        if units == 0:  # Poisson sampling can draw no row: the step still adds its noise
            zeros = {k: v.new_zeros((0, *v.shape)) for k, v in params.items()}
            return zeros, torch.zeros(0)
        grads, values = vmap(
            grad(loss, has_aux=True), in_dims=(None, *[0] * len(batch)), randomness="different"
        )(params, *batch)
        return grads, values

    def step(self, *batch: torch.Tensor) -> torch.Tensor:
        """One update from the units of ``batch``; the mean unit loss (0 for an empty batch)."""
        grads, values = self.per_unit_gradients(*batch)
        for name, p in self.module.named_parameters():
            if name in grads:
                p.grad_sample = grads[name]
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return values.mean() if len(values) else torch.zeros(())
