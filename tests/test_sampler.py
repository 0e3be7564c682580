import numpy as np

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
    column, g = sampler.sample_original(200_000, rng)
    share = np.bincount(g[column == 1] - 3, minlength=5) / (column == 1).sum()
    assert np.allclose(share, real, atol=0.01)
    column, g, _ = sampler.sample_train(200_000, rng)
    share = np.bincount(g[column == 1] - 3, minlength=5) / (column == 1).sum()
    log_share = np.log1p(real * len(codes)) / np.log1p(real * len(codes)).sum()
    assert np.allclose(share, log_share, atol=0.01)
    assert share[4] > 5 * real[4]  # rare classes are seen far more often in training


def test_classes_are_positions_in_the_cond_vector_and_empty_sampler():
    _, sampler, rng = make()
    column, g = sampler.sample_original(1000, rng)
    assert g.dtype.kind == "i" and 0 <= g.min() and g.max() < sampler.cond_dim == 8
    # Each column's classes occupy their own block of the conditional vector.
    assert (g >= sampler.offsets[column]).all()
    assert (g < sampler.offsets[column] + sampler.widths[column]).all()
    empty = ConditionSampler.from_codes(np.zeros((5, 0), dtype="int32"), [])
    assert empty.cond_dim == 0


def test_generator_gathers_the_cond_block_exactly_as_a_one_hot_matmul():
    import torch

    from syngen.tabular.networks import Generator

    torch.manual_seed(0)
    G = Generator(noise_dim=6, cond_dim=5, dims=(7, 4), out_dim=3).eval()
    z, g = torch.randn(9, 6), torch.randint(0, 5, (9,))
    x = torch.cat([z, torch.nn.functional.one_hot(g, 5).float()], 1)
    for block in G.blocks:  # the plain concatenating residual network of CTGAN
        x = torch.cat([torch.relu(block.bn(block.fc(x))), x], 1)
    with torch.no_grad():
        assert torch.allclose(G(z, g), G.out(x), atol=1e-5)
