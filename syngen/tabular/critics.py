"""What the generator is trained against: the PacGAN critic with its hand-written WGAN-GP
backward, the refinement phase's classifier of single rows, and the condition loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PackCritic(nn.Module):
    """CTGAN's PacGAN critic: packs of ``pac`` rows, each hidden layer Linear -> LeakyReLU(0.2)
    -> Dropout(0.5). No BatchNorm, so every output depends only on its own pack -- what DP-SGD
    needs to clip per example.

    A row enters as its ``data_dim`` encoded values and the index of the 1 in its one-hot
    conditional vector. The first layer's weight is kept in two parts: a matrix for the values
    of the pack and a table with one row per (position in the pack, condition class) for the
    conditional vectors. The one-hot block is never multiplied: each row's entry of the table
    is gathered, as ``Generator._linear`` does: that block can be a large part of the input
    width (a table with many categories), and the first layer most of the critic's arithmetic.

    LeakyReLU and dropout both multiply each unit by a factor that is constant almost
    everywhere (0.2 or 1, times 0 or 2), so a hidden layer is written as ``h * factor``. That
    makes the gradient penalty's input gradient a closed form -- the weight matrices with the
    factors between them -- which autograd differentiates once, instead of differentiating its
    own backward pass through the whole forward graph.
    """

    def __init__(self, data_dim: int, cond_dim: int, dims: tuple[int, ...], pac: int) -> None:
        super().__init__()
        self.pac = pac
        self.first = nn.Linear(pac * data_dim, dims[0])
        self.cond_table = nn.Parameter(torch.empty(pac * cond_dim, dims[0]))
        # The initial weights of one Linear over the whole input (values and one-hot blocks).
        bound = 1.0 / ((data_dim + cond_dim) * pac) ** 0.5
        for p in (self.first.weight, self.first.bias, self.cond_table):
            nn.init.uniform_(p, -bound, bound)
        pairs = zip(dims[:-1], dims[1:], strict=True)
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in pairs)
        self.out = nn.Linear(dims[-1], 1)
        # Where row j of a pack finds condition class g in the table: j * cond_dim + g.
        self.register_buffer("position", torch.arange(pac) * cond_dim, persistent=False)
        self.register_buffer("bit", torch.arange(32, dtype=torch.int32), persistent=False)

    def _first(self, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """The first layer's pre-activation, one row per pack: ``x`` (rows, data_dim), ``cond``
        the index of each row's condition class (None without a conditional vector)."""
        pre = self.first(x.reshape(-1, self.first.in_features))
        if cond is None:
            return pre
        return pre + F.embedding_bag(self._table_index(cond), self.cond_table, mode="sum")

    def _table_index(self, cond: torch.Tensor) -> torch.Tensor:
        """(packs, pac): the table row of each row's condition class."""
        return cond.view(-1, self.pac) + self.position

    def _factor(self, h: torch.Tensor) -> torch.Tensor:
        """LeakyReLU's slope at ``h`` times the dropout mask (scaled by 1 / (1 - 0.5))."""
        # sign(h) + 1.5 is 2.5 or 0.5; times 0.4, the slope (1 or 0.2). On these small CPU
        # tensors a comparison and torch.where cost 3x what sign and two in-place ops do.
        factor = torch.sign(h).add_(1.5)
        if not self.training:
            return factor.mul_(0.4)
        # Dropout at 0.5 needs one random bit per unit: 32 of them from each random int32,
        # a seventh of the cost of bernoulli_ on these small layers.
        n = h.numel()
        words = torch.randint(
            -(2**31), 2**31 - 1, ((n + 31) // 32,), dtype=torch.int32, device=h.device
        )
        bits = ((words[:, None] >> self.bit) & 1).reshape(-1)[:n].view_as(h)
        return factor.mul_(bits).mul_(0.8)

    def _rest(self, pre: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The score from the first layer's pre-activation, and each hidden layer's factor."""
        factors = [self._factor(pre.detach())]
        h = pre * factors[0]
        for layer in self.hidden:
            h = layer(h)
            factors.append(self._factor(h.detach()))
            h = h * factors[-1]
        return self.out(h), factors

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """One score per pack of ``x`` (rows, data_dim) with condition classes ``cond``."""
        return self._rest(self._first(x, cond))[0]

    def critic_backward(
        self,
        fake: torch.Tensor,
        real: torch.Tensor,
        fake_cond: torch.Tensor | None,
        real_cond: torch.Tensor | None,
        weight: float,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A critic step's losses, with their gradients accumulated into the parameters:
        (Wasserstein loss, gradient penalty), detached. The loss is the mean score of the fake
        packs minus that of the real ones; the penalty is WGAN-GP on interpolates of the two,
        one mixing weight per pack: ``weight * (|grad| - 1)^2``, grad the score's gradient
        with respect to the pack (values and conditional vectors).

        The first layer's gradient is written out rather than left to autograd. Its weight
        gets one term from the scores, ``d_pre.T @ x``, and one from the penalty,
        ``penalty_grad.T @ d_v``; with 100 and 50 packs, each product is thin and slow, and
        autograd adds the two full-size results. Stacked, they are one product over 150 rows.
        The conditional table's terms are the penalty's product plus a scatter of ``d_pre``
        into it, where autograd would zero a table, scatter into it and add.
        """
        x = torch.cat([fake, real]).reshape(-1, self.first.in_features)
        both = None if fake_cond is None else torch.cat([fake_cond, real_cond])
        index = None if both is None else self._table_index(both)
        with torch.no_grad():  # one pass over fake and real packs
            pre = self._first(x, both)
        pre.requires_grad_(True)
        scores = self._rest(pre)[0]
        packs = len(scores) // 2
        loss = scores[:packs].mean() - scores[packs:].mean()
        alpha = torch.rand(packs, 1, device=pre.device)
        with torch.no_grad():
            # The first layer is affine, so at an interpolate of two packs its pre-activation
            # is the interpolate of theirs: the interpolates are never built nor multiplied.
            factors = self._rest(torch.lerp(pre[:packs], pre[packs:], alpha))[1]
        grad = self.out.weight.expand(packs, -1)
        for layer, factor in zip(reversed(self.hidden), reversed(factors[1:]), strict=True):
            grad = (grad * factor) @ layer.weight
        grad = grad * factors[0]
        v = grad @ self.first.weight.detach()  # the penalty's gradient at the pack's values
        v.retain_grad()
        norm2 = v.square().sum(1)
        if index is not None:
            v_cond = grad @ self.cond_table.detach().t()  # ... and at its conditional vectors
            v_cond.retain_grad()
            norm2 = norm2 + v_cond.square().sum(1)
        penalty = weight * ((norm2.sqrt() - 1) ** 2).mean()
        (loss + penalty).backward()
        with torch.no_grad():
            d_pre, grad = pre.grad, grad.detach()
            _accumulate(self.first.weight, torch.cat([d_pre, grad]).t() @ torch.cat([x, v.grad]))
            _accumulate(self.first.bias, d_pre.sum(0))
            if index is not None:
                d_table = v_cond.grad.t() @ grad
                d_table.index_add_(0, index.flatten(), d_pre.repeat_interleave(self.pac, 0))
                _accumulate(self.cond_table, d_table)
        return loss.detach(), penalty.detach()


class RowClassifier(nn.Module):
    """The refinement phase's critic: a real-vs-generated classifier of single rows (logistic
    loss), with no packs and no dropout, fed hard samples (``activate_rows(hard=True)``).

    The WGAN-GP pack critic leaves conditional errors (a class's share of the target among
    rows of another class) that a plain classifier of rows finds at once. Trained against this
    classifier for the last part of a fit, the generator corrects them (see
    ``TabularConfig.refine_share``; docs/experiments.md has the figures)."""

    def __init__(self, data_dim: int, dims: tuple[int, ...]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width in dims:
            layers += [nn.Linear(data_dim, width), nn.LeakyReLU(0.2)]
            data_dim = width
        self.net = nn.Sequential(*layers, nn.Linear(data_dim, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One logit per row of ``x``: high for rows that look real."""
        return self.net(x).squeeze(1)

    def loss(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """Binary cross-entropy over the rows of both: real is 1, generated 0."""
        logits = self(torch.cat([fake, real]))
        return F.softplus(torch.cat([logits[: len(fake)], -logits[len(fake) :]])).mean()

    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        """The generator's non-saturating loss: -log of the probability that a row is real."""
        return F.softplus(-self(fake)).mean()


def _accumulate(parameter: nn.Parameter, grad: torch.Tensor) -> None:
    """Add ``grad`` to ``parameter.grad`` as autograd would (set it when there is none)."""
    if parameter.grad is None:
        parameter.grad = grad
    else:
        parameter.grad += grad


class ConditionLoss(nn.Module):
    """The generator's conditional cross-entropy (CTGAN's condition loss): for each row, the
    softmax span of the column its conditional vector names, against the class it asks for.

    ``rows[c]`` lists where conditional column ``c``'s classes sit in the raw output as training
    holds it (transposed, draw order). Each row's span is gathered into a block as wide as the
    widest column, the padding masked with -inf: one gather and one cross-entropy per batch
    whatever the number of columns, where a log-sum-exp of every span, then a pick of each
    row's, would reduce every span of every row.
    """

    def __init__(self, rows: list[list[int]]) -> None:
        super().__init__()
        widest = max((len(r) for r in rows), default=1)
        index = torch.zeros(len(rows), widest, dtype=torch.long)
        mask = torch.full((len(rows), widest), float("-inf"))
        for c, r in enumerate(rows):
            index[c, : len(r)] = torch.tensor(r, dtype=torch.long)
            mask[c, : len(r)] = 0.0
        widths = torch.tensor([len(r) for r in rows], dtype=torch.long)
        self.register_buffer("index", index, persistent=False)
        self.register_buffer("mask", mask, persistent=False)
        # The global class index of each column's first class (ConditionSampler's offsets).
        self.register_buffer("offset", torch.cumsum(widths, 0) - widths, persistent=False)

    def forward(self, raw: torch.Tensor, column: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy; ``raw`` (output rows, batch), ``column`` the conditioned column
        and ``g`` the global index of the asked class, per row of the batch."""
        logits = raw.gather(0, self.index.index_select(0, column).t())
        logits = logits + self.mask.index_select(0, column).t()
        return F.cross_entropy(logits.t(), g - self.offset.index_select(0, column))
