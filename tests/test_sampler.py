import numpy as np
import pytest

from syngen.tabular.sampler import ConditionSampler


def make(seed=0):
    rng = np.random.default_rng(seed)
    codes = np.stack(
        [rng.integers(0, 3, 5000), rng.choice(5, 5000, p=[0.9, 0.05, 0.03, 0.01, 0.01])], axis=1
    )
    return codes, ConditionSampler.from_codes(codes, [3, 5]), rng


def test_training_rows_hold_the_drawn_class():
    codes, sampler, rng = make()
    column, g, rows = sampler.sample_train(50_000, rng)
    assert (codes[rows, column] == g - sampler.offsets[column]).all()
    assert set(np.unique(column)) == {0, 1}


def test_training_uses_log_frequency_and_sampling_the_real_frequency():
    codes, sampler, rng = make()
    real = np.bincount(codes[:, 1], minlength=5) / len(codes)
    column, g = sampler.sample_mixture(200_000, rng)
    share = np.bincount(g[column == 1] - 3, minlength=5) / (column == 1).sum()
    assert np.allclose(share, real, atol=0.01)
    column, g, _ = sampler.sample_train(200_000, rng)
    share = np.bincount(g[column == 1] - 3, minlength=5) / (column == 1).sum()
    log_share = np.log1p(real * len(codes)) / np.log1p(real * len(codes)).sum()
    assert np.allclose(share, log_share, atol=0.01)
    assert share[4] > 5 * real[4]  # rare classes are seen far more often in training


def test_classes_are_positions_in_the_cond_vector_and_empty_sampler():
    _, sampler, rng = make()
    column, g = sampler.sample_mixture(1000, rng)
    assert g.dtype.kind == "i" and 0 <= g.min() and g.max() < sampler.cond_dim == 8
    # Each column's classes occupy their own block of the conditional vector.
    assert (g >= sampler.offsets[column]).all()
    assert (g < sampler.offsets[column] + sampler.widths[column]).all()
    empty = ConditionSampler.from_codes(np.zeros((5, 0), dtype="int32"), [])
    assert empty.cond_dim == 0


@pytest.mark.parametrize("training", [True, False])
def test_generator_matches_the_plain_concatenating_network(training):
    """The cond gather, the split products and (in eval mode) the folded batch norm compute
    exactly CTGAN's residual network on [z, one-hot cond]."""
    import torch

    from syngen.tabular.generator import Generator

    torch.manual_seed(0)
    G = Generator(noise_dim=6, cond_dim=5, dims=(7, 4), out_dim=3)
    for block in G.blocks:  # batch-norm statistics and affine terms far from the identity
        block.bn.running_mean.normal_()
        block.bn.running_var.uniform_(0.5, 2.0)
        torch.nn.init.normal_(block.bn.weight)
        torch.nn.init.normal_(block.bn.bias)
    G.train(training)
    z, g = torch.randn(9, 6), torch.randint(0, 5, (9,))
    x = torch.cat([z, torch.nn.functional.one_hot(g, 5).float()], 1)
    for block in G.blocks:
        x = torch.cat([torch.relu(block.bn(block.fc(x))), x], 1)
    with torch.no_grad():
        assert torch.allclose(G(z, g), G.out(x), atol=1e-5)


def interleaved_layout():
    """A scalar, two 3-class spans (one width group) and a 2-class span, interleaved."""
    from syngen.output_layout import OutputLayout
    from syngen.transform import Span

    return OutputLayout(
        [
            Span("a", 0, 3, "softmax", "category"),
            Span("x", 3, 1, "tanh", "value"),
            Span("b", 4, 2, "softmax", "category"),
            Span("c", 6, 3, "softmax", "category"),
        ]
    )


def test_layout_activation_in_draw_order():
    """Training's path -- the raw output transposed, rows in draw order -- gives tanh on the
    scalar and a Gumbel-softmax on each span (with the noise ``activate`` draws), as computed
    span by span in layout order."""
    import torch

    out = interleaved_layout()
    torch.manual_seed(0)
    x = torch.randn(5, 9)
    rows = x.t()[out.draw_order]
    gumbel = torch.Generator().manual_seed(3)
    active = out.activate_rows(rows, tau=0.5, generator=gumbel)
    assert active.shape == (9, 5)
    assert torch.allclose(
        out.activate(x, 0.5, torch.Generator().manual_seed(3)), active.t()[:, out.unpermute]
    )
    layout_order = active.t()[:, out.unpermute]
    assert torch.allclose(layout_order[:, 3], torch.tanh(x[:, 3]))
    spans = [(0, 3), (4, 6), (6, 9)]
    for a, b in spans:
        assert torch.allclose(layout_order[:, a:b].sum(1), torch.ones(5))
    # With the noise drawn as activate_rows draws it, the spans are softmax((x + g) / tau).
    u = torch.rand(8, 5, generator=torch.Generator().manual_seed(3))
    noise = -torch.log(-torch.log(u.clamp_min(1e-10)))
    noisy = x.clone()
    noisy.t()[out.draw_order[1:]] += noise  # rows 1.. of draw order are the softmax columns
    for a, b in spans:
        assert torch.allclose(
            layout_order[:, a:b], torch.softmax(noisy[:, a:b] / 0.5, 1), atol=1e-6
        )


def test_condition_loss_is_the_cross_entropy_of_each_rows_conditioned_span():
    """Spans a (3 classes) and b (2) are conditional, c is not: each row's loss is the
    cross-entropy of the span its column names against the asked class, whatever the padding
    of the narrower span; the gradient reaches only that span's rows."""
    import torch
    import torch.nn.functional as F

    from syngen.tabular.critics import ConditionLoss

    out = interleaved_layout()
    where = out.unpermute.tolist()  # layout column -> row in draw order
    loss = ConditionLoss([[where[k] for k in (0, 1, 2)], [where[k] for k in (4, 5)]])
    torch.manual_seed(0)
    x = torch.randn(6, 9)
    rows = x.t()[out.draw_order].requires_grad_()
    column = torch.tensor([0, 1, 1, 0, 0, 1])
    g = torch.tensor([2, 3, 4, 0, 1, 3])  # global class: a's classes are 0-2, b's 3-4
    got = loss(rows, column, g)
    spans, first = [(0, 3), (4, 6)], [0, 3]
    expected = torch.stack(
        [
            F.cross_entropy(x[i, slice(*spans[c])][None], torch.tensor([g[i] - first[c]]))
            for i, c in enumerate(column.tolist())
        ]
    ).mean()
    assert torch.allclose(got, expected)
    got.backward()
    grad = rows.grad.t()[:, out.unpermute]  # back to layout order
    assert torch.all(grad[:, 3] == 0) and torch.all(grad[:, 6:] == 0)
    assert torch.all(grad[column == 0][:, 4:6] == 0) and torch.all(grad[column == 1][:, :3] == 0)


def test_hard_activation_is_one_hot_with_the_soft_gradient():
    """Straight-through: each span is the one-hot of the soft sample's arg-max, the scalars are
    untouched, and the gradient is the soft sample's."""
    import torch

    out = interleaved_layout()
    torch.manual_seed(0)
    rows = torch.randn(9, 64)[out.draw_order].requires_grad_()
    weight = torch.randn(9, 64)
    soft = out.activate_rows(rows, 0.5, torch.Generator().manual_seed(1))
    hard = out.activate_rows(rows, 0.5, torch.Generator().manual_seed(1), hard=True)
    layout_soft, layout_hard = soft.t()[:, out.unpermute], hard.t()[:, out.unpermute]
    assert torch.equal(layout_hard[:, 3], layout_soft[:, 3])
    for a, b in [(0, 3), (4, 6), (6, 9)]:
        span = layout_hard[:, a:b].detach()
        assert torch.equal(span.sum(1), torch.ones(64)) and set(span.unique().tolist()) == {0, 1}
        assert torch.equal(span.argmax(1), layout_soft[:, a:b].argmax(1))
    (grad_soft,) = torch.autograd.grad((soft * weight).sum(), rows)
    (grad_hard,) = torch.autograd.grad((hard * weight).sum(), rows)
    assert torch.allclose(grad_hard, grad_soft)


def test_row_discriminator_losses_are_logistic():
    import torch
    import torch.nn.functional as F

    from syngen.tabular.critics import RowClassifier

    torch.manual_seed(0)
    critic = RowClassifier(6, (8, 8))
    fake, real = torch.randn(5, 6), torch.randn(7, 6) + 1
    assert critic(fake).shape == (5,)
    labels = torch.cat([torch.zeros(5), torch.ones(7)])
    expected = F.binary_cross_entropy_with_logits(critic(torch.cat([fake, real])), labels)
    assert torch.allclose(critic.loss(fake, real), expected)
    assert torch.allclose(critic.generator_loss(fake), -F.logsigmoid(critic(fake)).mean())


def test_layout_sample_draws_each_span_from_its_softmax():
    import torch

    out = interleaved_layout()
    row = torch.tensor([0.0, 1.0, 2.0, 0.5, -1.0, 1.0, 3.0, 0.0, 0.0])
    x = row.repeat(200_000, 1)

    def draw(class_bias=None):
        # An output layer whose raw output is ``row`` for every input: zero weights, bias row.
        bias = out.sampling_head(torch.zeros(9, 1), row, class_bias)[1]
        return out.sample_rows(bias[:, None].expand(-1, len(x)), generator=gen)

    gen = torch.Generator().manual_seed(0)
    codes, scalars = draw()
    assert codes.shape == (200_000, 3) and scalars.shape == (200_000, 1)
    assert torch.allclose(scalars, torch.tanh(torch.tensor(0.5)))
    for j, (a, b) in enumerate([(0, 3), (4, 6), (6, 9)]):
        want = torch.softmax(row[a:b], 0)
        got = torch.bincount(codes[:, j], minlength=b - a).float() / len(x)
        assert torch.allclose(got, want, atol=0.005), (j, got, want)
    # A class bias shifts the logits it is added to, and only those.
    bias = torch.zeros(8)
    bias[3] = 5.0  # span b's first class
    codes = draw(bias)[0]
    want = torch.softmax(row[4:6] + torch.tensor([5.0, 0.0]), 0)
    assert abs((codes[:, 1] == 0).float().mean() - want[0]) < 0.005
    assert abs((codes[:, 0] == 2).float().mean() - torch.softmax(row[0:3], 0)[2]) < 0.005


@pytest.mark.parametrize("cond_dim", [0, 4])
def test_sampling_head_gives_the_generator_output_reordered_with_the_class_bias(cond_dim):
    """Sampling's path -- output rows in draw order, padded, class bias folded into the bias,
    computed transposed -- gives the training forward's output, rearranged."""
    import torch

    from syngen.tabular.generator import Generator

    out = interleaved_layout()
    torch.manual_seed(0)
    G = Generator(noise_dim=6, cond_dim=cond_dim, dims=(7, 4), out_dim=9).eval()
    z = torch.randn(11, 6)
    g = torch.randint(0, 4, (11,)) if cond_dim else None
    class_bias = torch.randn(out.n_classes)
    weight, bias = out.sampling_head(G.out.weight, G.out.bias, class_bias)
    assert weight.shape == (16, G.out.in_features) and bias.shape == (16,)
    with torch.no_grad():
        rows = G.output_rows(z, g, G.sampling_plan(weight, bias))
        raw = G(z, g)
    assert rows.shape == (16, 11)
    raw[:, [0, 1, 2, 4, 5, 6, 7, 8]] += class_bias  # softmax columns in layout order
    assert torch.allclose(rows[:9], raw.t()[out.draw_order], atol=1e-5)
    assert torch.equal(rows[9:], torch.zeros(7, 11))  # padding rows: zero weights, zero bias
    gen = torch.Generator().manual_seed(1)
    codes, scalars = out.sample_rows(rows, gen)
    assert codes.shape == (11, 3) and torch.allclose(scalars, torch.tanh(raw[:, [3]]))


def test_critic_matches_a_dense_critic_and_autograd_double_backward():
    """The critic with its conditional vectors gathered from a table scores packs as one Linear
    over [values, one-hot condition] per row; its closed-form penalty, taken at interpolated
    pre-activations, and its hand-written first-layer gradients equal (values and parameter
    gradients) autograd's on the dense critic and interpolates with the same dropout masks."""
    import torch

    from syngen.tabular.critics import PackCritic

    torch.manual_seed(0)
    pac, dim, cond_dim, packs = 4, 7, 5, 3
    D = PackCritic(dim, cond_dim, (16, 8), pac)
    real, fake = torch.randn(packs * pac, dim), torch.randn(packs * pac, dim)
    real_g, fake_g = torch.randint(0, cond_dim, (2, packs * pac))
    factors = []
    draw_factor = D._factor
    D._factor = lambda h: factors.append(draw_factor(h)) or factors[-1]
    params = [D.first.weight, D.first.bias, D.cond_table, *D.hidden.parameters(), D.out.weight]
    torch.manual_seed(1)
    loss, penalty = D.critic_backward(fake, real, fake_g, real_g, weight=10.0)
    closed = [p.grad.clone() for p in params]

    # The same critic as dense layers: row j of a pack is [values, one-hot condition].
    w = torch.cat(
        [D.first.weight.view(-1, pac, dim), D.cond_table.view(pac, cond_dim, -1).permute(2, 0, 1)],
        dim=2,
    ).reshape(-1, pac * (dim + cond_dim))
    layers = [(w, D.first.bias)] + [(layer.weight, layer.bias) for layer in D.hidden]

    def dense(x, factors):
        """LeakyReLU(0.2) from the pre-activations here; the dropout masks from ``factors``."""
        h = x.reshape(-1, w.shape[1])
        for (weight, bias), factor in zip(layers, factors, strict=True):
            h = torch.nn.functional.leaky_relu(h @ weight.t() + bias, 0.2) * 2 * (factor != 0)
        return D.out(h)

    def rows(x, g):
        return torch.cat([x, torch.nn.functional.one_hot(g, cond_dim).float()], 1)

    n_layers = len(layers)
    scores = dense(torch.cat([rows(fake, fake_g), rows(real, real_g)]), factors[:n_layers])
    reference_loss = scores[:packs].mean() - scores[packs:].mean()
    assert torch.allclose(loss, reference_loss, atol=1e-6)
    torch.manual_seed(1)  # replay the random draws up to the mixing weights
    for factor in factors[:n_layers]:
        draw_factor(torch.zeros_like(factor))
    alpha = torch.rand(packs, 1, 1)
    mixed = torch.lerp(
        rows(fake, fake_g).view(packs, pac, -1), rows(real, real_g).view(packs, pac, -1), alpha
    ).requires_grad_(True)
    (grad,) = torch.autograd.grad(dense(mixed, factors[n_layers:]).sum(), mixed, create_graph=True)
    reference = 10.0 * ((grad.reshape(packs, -1).norm(2, dim=1) - 1) ** 2).mean()
    expected = torch.autograd.grad(reference_loss + reference, params, allow_unused=True)

    assert torch.allclose(penalty, reference, rtol=1e-5)
    for a, b in zip(closed, expected, strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)
    # A second step's gradients add to those already there, as autograd's do.
    D._factor = draw_factor
    torch.manual_seed(1)
    D.critic_backward(fake, real, fake_g, real_g, weight=10.0)
    for p, a in zip(params, closed, strict=True):
        assert torch.allclose(p.grad, 2 * a, rtol=1e-4, atol=1e-6)


def test_critic_dropout_keeps_half_the_units_scaled_by_two():
    import torch

    from syngen.tabular.critics import PackCritic

    D = PackCritic(3, 0, (8,), pac=1)
    h = torch.ones(1000, 257)  # not a multiple of 32 units
    factor = D._factor(h)
    assert set(factor.unique().tolist()) == {0.0, 2.0}
    assert abs((factor > 0).float().mean().item() - 0.5) < 0.01
    assert (D.eval()._factor(-h) == 0.2).all()


def test_generation_draws_from_the_mixture_it_is_given():
    _, sampler, rng = make()
    weights = np.array([0, 1, 1, 0, 0, 2, 0, 0], dtype=float)  # any scale
    sampler.set_mixture(weights)
    column, g = sampler.sample_mixture(100_000, rng)
    share = np.bincount(g, minlength=8) / len(g)
    assert np.allclose(share, weights / weights.sum(), atol=0.01)
    assert share[[0, 3, 4, 6, 7]].sum() == 0  # a zero weight is never drawn
    assert (column == sampler.column_of[g]).all()
    sampler.set_mixture(None)
    assert np.allclose(sampler.mixture, sampler.original_mixture())
    for bad in (np.ones(7), -weights, np.zeros(8)):
        with pytest.raises(ValueError, match="8 non-negative weights"):
            sampler.set_mixture(bad)
