"""Generator (residual MLP) and PacGAN discriminator of CTGAN, and the output activation."""

from __future__ import annotations

import torch
import torch.nn.functional as F
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
        transposed: bool = False,
    ) -> torch.Tensor:
        """``[parts, one-hot cond] @ weight.T + bias``; (batch, out), or (out, batch) when
        ``transposed``."""
        widths = [p.shape[1] for p in parts]
        # split, not slices: its gradient is one concatenation, where each slice's gradient
        # would be a zero-filled full-size matrix, added into the others.
        *blocks, cond_block = weight.split([*widths, weight.shape[1] - sum(widths)], dim=1)
        if cond is None:
            out, fresh = (bias[:, None] if transposed else bias), False
        else:
            # The bias plus the weight column of each row's hot entry: one gather from a small
            # (out, cond_dim) table, whose gradient is a small index_add.
            table = cond_block + bias[:, None]
            if transposed:
                out = table.index_select(1, cond)
            else:
                out = table.t().contiguous().index_select(0, cond)
            fresh = True
        for part, w in zip(parts, blocks, strict=True):
            a, b = (w, part.t()) if transposed else (part, w.t())
            # In place into a fresh tensor: addmm's gradient does not need its input.
            out = out.addmm_(a, b) if fresh else torch.addmm(out, a, b)
            fresh = True
        return out

    def _features(self, z: torch.Tensor, cond: torch.Tensor | None) -> list[torch.Tensor]:
        """The output layer's input, as its parts ``[h_k, ..., h_1, z]`` (cond apart)."""
        parts = [z]
        for block in self.blocks:
            h = self._linear(parts, block.fc.weight, block.fc.bias, cond)
            parts.insert(0, torch.relu(block.bn(h)))
        return parts

    def forward(
        self, z: torch.Tensor, cond: torch.Tensor | None = None, transposed: bool = False
    ) -> torch.Tensor:
        """``z``: noise rows; ``cond``: per row, the position of the 1 in its conditional
        vector (None when the model has no conditional vector). (batch, out), or (out, batch)
        when ``transposed``."""
        weight, bias = pad_rows(self.out.weight, self.out.bias)
        out = self._linear(self._features(z, cond), weight, bias, cond, transposed)
        n = self.out.out_features
        return out[:n] if transposed else out[:, :n]

    def sampling_plan(
        self, weight: torch.Tensor, bias: torch.Tensor
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The (weight, bias) of each layer at sampling: the blocks with their batch norm folded
        in (running statistics), which makes a block one matrix product and a ReLU, then
        ``weight``/``bias`` as the output layer. Computed once per sampling call, not per
        batch: on a CPU the folding's small kernels cost as much as a slice's products."""
        plan = []
        for block in self.blocks:
            bn = block.bn
            scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
            folded_bias = (block.fc.bias - bn.running_mean) * scale + bn.bias
            plan.append((block.fc.weight * scale[:, None], folded_bias))
        return [*plan, (weight, bias)]

    def output_rows(
        self,
        z: torch.Tensor,
        cond: torch.Tensor | None,
        plan: list[tuple[torch.Tensor, torch.Tensor]],
    ) -> torch.Tensor:
        """(rows, batch): the output layer of ``plan`` (``sampling_plan``), transposed, so that
        each block of rows is a contiguous (rows, batch) slice -- sampling passes the layer's
        rows reordered, padded, with a class bias folded in."""
        parts = [z]
        for weight, bias in plan[:-1]:
            parts.insert(0, self._linear(parts, weight, bias, cond).relu_())
        return self._linear(parts, *plan[-1], cond, transposed=True)


def pad_rows(weight: torch.Tensor, bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``weight`` and ``bias`` with zero rows appended up to a multiple of 16 rows.

    On AVX2 CPUs, MKL's sgemm runs ~20% faster when the output width is a multiple of 16
    (500 x 640 x 175: 137 GFLOPS; x 176: 171); the extra outputs are cut off after the product.
    """
    pad = -len(bias) % 16
    if not pad:
        return weight, bias
    return F.pad(weight, (0, 0, 0, pad)), F.pad(bias, (0, pad))


class Discriminator(nn.Module):
    """CTGAN's PacGAN critic: packs of ``pac`` rows, each hidden layer Linear -> LeakyReLU(0.2)
    -> Dropout(0.5). No BatchNorm, so every output depends only on its own pack -- what DP-SGD
    needs to clip per example.

    A row enters as its ``data_dim`` encoded values and the index of the 1 in its one-hot
    conditional vector. The first layer's weight is kept in two parts: a matrix for the values
    of the pack and a table with one row per (position in the pack, condition class) for the
    conditional vectors. The one-hot block is never multiplied: each row's entry of the table
    is gathered, as ``Generator._linear`` does; on Adult that block is 40% of the critic's
    input width, and the first layer most of its arithmetic.

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


class RowDiscriminator(nn.Module):
    """The refinement phase's critic: a real-vs-generated classifier of single rows (logistic
    loss), with no packs and no dropout, fed hard samples (``activate_rows(hard=True)``).

    The WGAN-GP pack critic leaves errors that a plain classifier of rows finds at once: on
    Adult, the share of income >50K among Federal-gov workers was 0.17 in generated rows and
    0.39 in real ones. Trained against this classifier for the last part of a fit, the
    generator corrects them (see ``TabularConfig.refine_share``)."""

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
    whatever the number of columns. A log-sum-exp of every span, then a pick of each row's,
    cost 3x as much on Adult (2 ms of a ~30 ms step).
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


class OutputLayout(nn.Module):
    """The span layout as index tensors: tanh on scalar spans, a (Gumbel-)softmax or a class
    draw per softmax span, without a Python loop over spans.

    Softmax spans are handled in groups of equal width. Transposed, a group's logits are a
    (spans, width, batch) view, so one softmax covers all its spans and each reduction over a
    span's few classes is vectorized along the batch: a table with a hundred discrete columns
    costs one kernel per distinct width.
    """

    def __init__(self, layout: list[Span]) -> None:
        super().__init__()
        tanh = [s.start for s in layout if s.activation == "tanh"]
        spans = [s for s in layout if s.activation == "softmax"]
        columns = [s.start + j for s in spans for j in range(s.width)]
        by_width: dict[int, list[int]] = {}
        for i, s in enumerate(spans):
            by_width.setdefault(s.width, []).append(i)
        self.groups = [(width, len(members)) for width, members in sorted(by_width.items())]
        grouped = [i for _, members in sorted(by_width.items()) for i in members]
        soft = [spans[i].start + j for i in grouped for j in range(spans[i].width)]
        rank = {c: k for k, c in enumerate(columns)}
        self.n_classes = len(columns)

        def index(values) -> torch.Tensor:
            return torch.tensor(values, dtype=torch.long)

        self.register_buffer("tanh_idx", index(tanh), persistent=False)
        # Where each softmax column, in group order, sits among the softmax columns in layout
        # order (the order of a class bias).
        self.register_buffer("bias_idx", index([rank[c] for c in soft]), persistent=False)
        # From group order back to layout order, of the spans.
        self.register_buffer("span_order", torch.argsort(index(grouped)), persistent=False)
        # The tanh columns, then the softmax columns in group order: the order of the rows that
        # sampling asks the generator for; and back to layout order.
        self.register_buffer("draw_order", index(tanh + soft), persistent=False)
        self.register_buffer("unpermute", torch.argsort(self.draw_order), persistent=False)

    def _per_group(self, y: torch.Tensor):
        """(width, group's rows of ``y`` viewed as (spans, width, batch)) for each group."""
        # split, not slices: one concatenation in the backward pass instead of a zero-filled
        # (rows, batch) gradient per group added into the others.
        chunks = y.split([width * count for width, count in self.groups])
        for (width, count), chunk in zip(self.groups, chunks, strict=True):
            yield width, chunk.view(count, width, y.shape[1])

    def activate_rows(
        self,
        rows: torch.Tensor,
        tau: float,
        generator: torch.Generator | None = None,
        hard: bool = False,
        uniform: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """tanh on scalar spans, Gumbel-softmax(tau) on each softmax span, of the raw output
        transposed with its rows in ``draw_order``; the result has the same rows. Training
        keeps the generator's output layer in this order: each group is then a contiguous
        block, and no gather (nor its scatter in the backward pass) is needed.

        ``hard``: each span is the one-hot of its arg-max, with the soft sample's gradient
        (straight-through), so that a critic cannot tell generated rows by their softness.
        ``uniform``: the Gumbel noise's uniforms, one per class row and batch column; drawn
        here from ``generator`` when None."""
        n_tanh = len(self.tanh_idx)
        logits = rows[n_tanh:]
        u = uniform
        if u is None:
            u = torch.rand(logits.shape, device=rows.device, generator=generator)
        y = (logits - torch.log(-torch.log(u.clamp_min(1e-10)))) / tau
        parts = [torch.tanh(rows[:n_tanh])]
        for _, v in self._per_group(y):
            soft = v.softmax(1)
            if hard:
                # The max compared, not argmax: argmax along a middle dimension is 10-20x
                # slower on a CPU. Ties have probability zero under the Gumbel noise.
                one_hot = (soft == soft.amax(1, keepdim=True)).to(soft.dtype)
                soft = soft + (one_hot - soft).detach()
            parts.append(soft.flatten(0, 1))
        return torch.cat(parts)

    def activate(
        self, x: torch.Tensor, tau: float, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``activate_rows`` on an output ``x`` of shape (batch, dim) in layout order."""
        rows = x.t().index_select(0, self.draw_order)
        return self.activate_rows(rows, tau, generator).index_select(0, self.unpermute).t()

    def sampling_head(
        self, weight: torch.Tensor, bias: torch.Tensor, class_bias: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """An output layer's ``weight`` and ``bias`` with their rows in ``draw_order``, padded
        (``pad_rows``), and ``class_bias`` (one value per softmax column, layout order) added
        to the class logits: what ``Generator.output_rows`` takes and ``sample_rows`` reads."""
        weight, bias = weight[self.draw_order], bias[self.draw_order]
        if class_bias is not None:
            n_tanh = len(self.tanh_idx)
            bias = torch.cat([bias[:n_tanh], bias[n_tanh:] + class_bias[self.bias_idx]])
        return pad_rows(weight, bias)

    def sample_rows(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(class codes, tanh scalars) drawn from ``x``, the raw output transposed with its rows
        in ``draw_order`` (rows beyond those are padding).

        Each span's class is drawn from the softmax of its logits, as the arg-max of a
        Gumbel-softmax would be, by inverting its cumulative distribution: one uniform number
        per span instead of one per class, and the dense rows are never built."""
        n, n_tanh = x.shape[1], len(self.tanh_idx)
        codes = []
        for width, v in self._per_group(x[n_tanh : n_tanh + self.n_classes]):
            cdf = v.softmax(1).cumsum(1)
            u = torch.rand(len(v), 1, n, device=x.device, generator=generator)
            # (cdf < u) counts the classes passed; float rounding may leave cdf[-1] below u.
            codes.append((cdf < u).sum(1).clamp_max(width - 1))
        if not codes:
            codes = torch.zeros(0, n, dtype=torch.long, device=x.device)
        else:
            codes = torch.cat(codes).index_select(0, self.span_order)
        return codes.t(), torch.tanh(x[:n_tanh].t())
