"""OutputLayout: the span layout of a model's rows as index tensors -- tanh on scalar spans, a
(Gumbel-)softmax or a class draw per softmax span -- shared by the tabular and the time-series
generators."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .transform import Span


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


def pad_rows(weight: torch.Tensor, bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``weight`` and ``bias`` with zero rows appended up to a multiple of 16 rows.

    On AVX2 CPUs, MKL's sgemm runs faster when the output width is a multiple of 16
    (docs/experiments.md); the extra outputs are cut off after the product.
    """
    pad = -len(bias) % 16
    if not pad:
        return weight, bias
    return F.pad(weight, (0, 0, 0, pad)), F.pad(bias, (0, pad))
