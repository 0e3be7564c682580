import warnings

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
import torch
from conftest import make_coded
from torch import nn

import syngen
from syngen import TabularGAN
from syngen.privacy.accountant import (
    PrivacyLedger,
    Release,
    TrainingBudget,
    composed_epsilon,
    gaussian_noise_for,
    sgd_noise_for,
)
from syngen.privacy.config import DPConfig
from syngen.privacy.dp_sgd import DPStep
from syngen.tabular.dp_trainer import RowCritic, wgan_gp_unit_loss


# ---- the accountant ---------------------------------------------------------------------------
@pytest.mark.parametrize(("epsilon", "rate", "steps"), [(1.0, 0.01, 3000), (3.0, 0.05, 400)])
def test_noise_multiplier_and_spent_epsilon_agree_with_opacus(epsilon, rate, steps):
    from opacus.accountants import RDPAccountant
    from opacus.accountants.utils import get_noise_multiplier

    ours = sgd_noise_for(epsilon, 1e-5, rate, steps, [])
    theirs = get_noise_multiplier(
        target_epsilon=epsilon,
        target_delta=1e-5,
        sample_rate=rate,
        steps=steps,
        accountant="rdp",
        epsilon_tolerance=0.001,
    )
    assert ours == pytest.approx(theirs, rel=0.005)
    accountant = RDPAccountant()
    for _ in range(steps):
        accountant.step(noise_multiplier=ours, sample_rate=rate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spent = accountant.get_epsilon(1e-5)
    assert spent <= epsilon
    assert composed_epsilon([Release("training", ours, rate, steps)], 1e-5) == pytest.approx(
        spent, rel=1e-6
    )


def test_releases_compose_in_renyi_dp_to_less_than_their_sum():
    sigma = gaussian_noise_for(0.2, 1e-5, queries=10)
    alone = composed_epsilon([Release("pre", sigma, 1.0, 10)], 1e-5)
    assert alone == pytest.approx(0.2, rel=0.01)
    ledger = PrivacyLedger(1e-5)
    ledger.add(Release("pre", sigma, 1.0, 10))
    training = Release("training", 1.5, 0.02, 500)
    both = ledger.epsilon(training)
    assert both < alone + composed_epsilon([training], 1e-5)
    assert both > max(alone, composed_epsilon([training], 1e-5))


def test_the_budget_refuses_the_step_that_would_overspend():
    ledger = PrivacyLedger(1e-5)
    ledger.add(Release("pre", gaussian_noise_for(0.2, 1e-5, 3), 1.0, 3))
    sigma = sgd_noise_for(1.0, 1e-5, 0.05, 200, ledger.releases)
    budget = TrainingBudget(ledger, sigma, 0.05, 1.0)
    while budget.allows_step():
        budget.step()
    # The plan's 200 steps fit (the search rounds the noise up); one step more than the
    # budget allows would not.
    assert 200 <= budget.steps < 260
    assert budget.spent() <= 1.0 < budget.spent(budget.steps + 1)
    budget.close()
    assert ledger.epsilon() == pytest.approx(budget.spent())


def test_a_budget_the_preprocessing_alone_exceeds_is_refused():
    ledger = [Release("pre", gaussian_noise_for(0.9, 1e-5, 3), 1.0, 3)]
    with pytest.raises(ValueError, match="preprocessing alone spends"):
        sgd_noise_for(0.5, 1e-5, 0.05, 100, ledger)


# ---- DP-SGD -------------------------------------------------------------------------------------
def _tiny_critic_step(noise: float = 0.0, clip: float = 1.0):
    torch.manual_seed(0)
    critic = RowCritic(3, 2, (6,))
    opt = torch.optim.SGD(critic.parameters(), lr=1.0)
    step = DPStep(
        critic,
        opt,
        wgan_gp_unit_loss,
        noise_multiplier=noise,
        max_grad_norm=clip,
        expected_batch_size=4,
    )
    real, fake = torch.randn(4, 3), torch.randn(4, 3)
    cond = nn.functional.one_hot(torch.tensor([0, 1, 1, 0]), 2).float()
    alpha = torch.rand(4)
    return critic, step, (real, fake, cond, alpha)


def test_per_row_gradients_equal_a_loop_of_single_row_backward_passes():
    critic, step, (real, fake, cond, alpha) = _tiny_critic_step()
    grads, losses = step.per_unit_gradients(real, fake, cond, alpha)
    for i in range(4):
        critic.zero_grad()
        mixed = (alpha[i] * real[i] + (1 - alpha[i]) * fake[i])[None].requires_grad_(True)
        (g,) = torch.autograd.grad(critic(mixed, cond[i : i + 1]).sum(), mixed, create_graph=True)
        penalty = 10 * (torch.sqrt(g.square().sum() + 1e-12) - 1) ** 2
        loss = critic(fake[i : i + 1], cond[i : i + 1]) - critic(real[i : i + 1], cond[i : i + 1])
        (loss.sum() + penalty).backward()
        assert losses[i] == pytest.approx(float(loss.sum() + penalty), rel=1e-5)
        for name, p in critic.named_parameters():
            torch.testing.assert_close(grads[name][i], p.grad, rtol=1e-4, atol=1e-6)


def test_each_rows_gradient_is_clipped_before_the_sum():
    clip = 0.05
    critic, step, batch = _tiny_critic_step(noise=0.0, clip=clip)
    grads, _ = step.per_unit_gradients(*batch)
    norms = torch.stack([g.flatten(1).square().sum(1) for g in grads.values()]).sum(0).sqrt()
    assert (norms > clip).all()  # the test means something: every row is clipped
    scale = (clip / (norms + 1e-6)).clamp(max=1.0)
    expected = {k: (g * scale.view(-1, *[1] * (g.dim() - 1))).sum(0) / 4 for k, g in grads.items()}
    before = {k: p.detach().clone() for k, p in critic.named_parameters()}
    step.step(*batch)  # SGD with lr 1: the parameters move by the clipped mean gradient
    for name, p in critic.named_parameters():
        torch.testing.assert_close(before[name] - p.detach(), expected[name], rtol=1e-4, atol=1e-6)


# ---- DP fits ------------------------------------------------------------------------------------
def _coupled(n: int = 800, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], n)
    return pd.DataFrame(
        {"group": group, "amount": np.where(group == "a", 10.0, 40.0) + rng.normal(0, 2, n)}
    )


@pytest.fixture(scope="module")
def dp_model():
    return TabularGAN(epochs=3, seed=0, dp=DPConfig(epsilon=2.0)).fit(make_coded(900))


def test_a_dp_fit_spends_its_budget_and_says_so(dp_model):
    p = dp_model.privacy_
    assert p["unit"] == "row" and p["accountant"] == "rdp"
    assert p["epsilon"] <= p["target_epsilon"] == 2.0
    assert p["epsilon"] > 1.9  # the plan uses the budget
    assert p["delta"] == pytest.approx(1 / 9000)  # 1 / (10 n) unless given
    assert p["delta_split"]["renyi"] + p["delta_split"]["category_selection"] == pytest.approx(
        p["delta"]
    )
    # The preprocessing spends its declared share; the components compose to the total.
    parts = p["epsilon_by_component"]
    assert parts["preprocessing"] == pytest.approx(0.2 * 2.0, rel=0.01)
    assert max(parts.values()) < p["epsilon"] < sum(parts.values())
    assert p["steps"] == p["planned_steps"] > 0
    assert dp_model.config_.pac == 1 and dp_model.config_.refine_share == 0
    assert sorted(p["paid_columns"]) == ["code", "income", "label", "region"]
    # The critic's losses on real rows are not released in the history.
    assert {r["discriminator_loss"] for r in dp_model.history_} == {None}


def test_the_privacy_block_round_trips_and_shows_in_the_cli(dp_model, tmp_path):
    from click.testing import CliRunner

    from syngen.cli import main

    path = tmp_path / "dp.syngen"
    dp_model.save(path)
    back = syngen.load(path)
    assert back.privacy_ == dp_model.privacy_
    pdt.assert_frame_equal(back.sample(200, seed=1), dp_model.sample(200, seed=1))
    out = tmp_path / "rows.csv"
    result = CliRunner().invoke(main, ["sample", str(path), "-n", "50", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "differential privacy for each row" in result.output


def test_a_dp_fit_is_reproducible_under_a_seed():
    df = _coupled(300)
    a = TabularGAN(epochs=2, seed=3, dp=DPConfig(epsilon=3.0)).fit(df)
    b = TabularGAN(epochs=2, seed=3, dp=DPConfig(epsilon=3.0)).fit(df)
    pdt.assert_frame_equal(a.sample(300, seed=1), b.sample(300, seed=1))
    assert a.privacy_ == b.privacy_


def test_no_preprocessing_budget_and_no_public_metadata_is_refused():
    with pytest.raises(ValueError, match=r"preprocessing_share is 0.*'group'.*public_categories"):
        TabularGAN(epochs=1, dp=DPConfig(epsilon=1.0, preprocessing_share=0.0)).fit(_coupled())


def test_public_metadata_costs_nothing_and_is_honoured():
    df = _coupled()
    df.loc[0, "group"] = "z"  # a real value outside the public list
    dp = DPConfig(
        epsilon=3.0,
        preprocessing_share=0.0,
        public_bounds={"amount": (0.0, 30.0)},
        public_categories={"group": ["a", "b", "c"]},
    )
    model = TabularGAN(epochs=2, seed=0, dp=dp).fit(df)
    p = model.privacy_
    assert p["epsilon_by_component"]["preprocessing"] == 0.0
    assert p["public_columns"] == ["amount", "group"] and p["paid_columns"] == []
    out = model.sample(3000, seed=0)
    assert out["amount"].between(0.0, 30.0).all()  # real values up to ~46 were clipped
    assert set(out["group"]) <= {"a", "b", "c"}


def test_the_plain_dp_fit_releases_what_it_reads_and_the_generator_follows_conditions():
    df = _coupled(4000)
    model = TabularGAN(epochs=8, seed=0, dp=DPConfig(epsilon=5.0)).fit(df)
    assert set(model.sample(500, seed=0)["group"]) == {"a", "b"}
    low = model.sample(1000, conditions={"group": "a"}, seed=1)["amount"].mean()
    high = model.sample(1000, conditions={"group": "b"}, seed=1)["amount"].mean()
    # Real means are 10 and 40: the condition moves the other column.
    assert high - low > 8


def test_refinement_under_dp_trains_a_private_classifier_on_the_same_budget():
    df = _coupled(4000)
    dp = DPConfig(epsilon=5.0, refine_share=0.5)
    model = TabularGAN(epochs=8, seed=0, dp=dp).fit(df)
    phases = [r["phase"] for r in model.history_]
    assert phases == ["dp"] * 4 + ["dp-refine"] * 4
    # The classifier's first epoch teaches nothing: no generator loss.
    assert [r["generator_loss"] is None for r in model.history_] == [False] * 4 + [True] + [
        False
    ] * 3
    p = model.privacy_
    assert p["steps"] == p["planned_steps"] and p["epsilon"] <= 5.0
    low = model.sample(1000, conditions={"group": "a"}, seed=1)["amount"].mean()
    high = model.sample(1000, conditions={"group": "b"}, seed=1)["amount"].mean()
    assert high - low > 8
    with pytest.raises(ValueError, match="refine_share"):
        DPConfig(refine_share=1.0)


def test_dp_is_refused_for_a_constant_column_and_checked_at_the_boundary():
    df = _coupled().assign(country="FR")
    with pytest.raises(ValueError, match="'country' is declared constant"):
        TabularGAN(epochs=1, dp=DPConfig()).fit(
            df, metadata={"group": "categorical", "amount": "numerical", "country": "constant"}
        )
    for bad in ({"epsilon": 0}, {"epsilon": float("inf")}, {"delta": 1.5}):
        with pytest.raises(ValueError):
            DPConfig(**bad)
    with pytest.raises(TypeError, match="^dp must be a DPConfig"):
        TabularGAN(dp=3)


def test_the_report_of_a_dp_models_rows_states_its_guarantee(dp_model, tmp_path):
    import json

    from click.testing import CliRunner

    from syngen.cli import main
    from syngen.report import Report

    model, real, syn = tmp_path / "dp.syngen", tmp_path / "real.csv", tmp_path / "syn.csv"
    dp_model.save(model)
    make_coded(900).to_csv(real, index=False)
    dp_model.sample(600, seed=2).to_csv(syn, index=False)
    page, scores = tmp_path / "r.html", tmp_path / "r.json"
    args = ["report", str(real), str(syn), "--model", str(model), "-o", str(page)]
    result = CliRunner().invoke(main, [*args, "--json", str(scores)])
    assert result.exit_code == 0, result.output
    block = json.loads(scores.read_text())["differential_privacy"]
    assert block == json.loads(json.dumps(dp_model.privacy_))
    assert Report.from_json(scores).privacy == block
    html = page.read_text()
    assert "differential privacy for each row of the training table" in html
    assert f"{dp_model.privacy_['steps']} of {dp_model.privacy_['planned_steps']}" in html


def test_a_dp_fit_keeps_every_columns_dtype():
    from conftest import make_mixed

    df = make_mixed(3000)
    model = TabularGAN(epochs=1, seed=0, dp=DPConfig(epsilon=5.0)).fit(df)
    out = model.sample(400, seed=0)
    pdt.assert_series_equal(out.dtypes, df.dtypes)
    assert out["opened"].dt.tz is not None


def test_the_cli_fits_under_dp_and_refuses_options_that_do_not_apply(tmp_path):
    from click.testing import CliRunner

    from syngen.cli import main

    data, model = tmp_path / "t.csv", tmp_path / "m.syngen"
    _coupled(600).to_csv(data, index=False)
    runner = CliRunner()
    base = ["fit", str(data), "-o", str(model), "--epochs", "1", "--quiet", "--seed", "0"]
    result = runner.invoke(main, [*base, "--epsilon", "2", "--delta", "1e-5"])
    assert result.exit_code == 0, result.output
    assert ", 1e-05)-differential privacy for each row" in result.output
    assert syngen.load(model).privacy_["delta"] == 1e-5
    result = runner.invoke(main, [*base, "--epsilon", "2", "--pac", "5"])
    assert result.exit_code == 2 and "do not apply with --epsilon" in result.output
    result = runner.invoke(main, [*base, "--delta", "1e-5"])
    assert result.exit_code == 2 and "need --epsilon" in result.output


def test_released_categories_come_in_an_order_that_hides_their_counts():
    from syngen import Metadata
    from syngen.privacy.preprocessing import release_histograms

    s = pd.Series(["b"] * 900 + ["c"] * 600 + ["a"] * 300, name="k")
    hists, releases = release_histograms(
        s.to_frame(),
        Metadata({"k": "categorical"}),
        noise_multiplier=1.0,
        delta_threshold=1e-6,
        public_bounds={},
        public_categories={},
        rng=np.random.default_rng(0),
    )
    assert hists[0].keys == ["a", "b", "c"]  # not b, c, a: the ranking by count
    np.testing.assert_allclose(hists[0].counts, [300, 900, 600], atol=6)
    assert [(r.noise_multiplier, r.steps) for r in releases] == [(1.0, 1)]


def test_a_dp_fit_refuses_a_dtype_syngen_does_not_model_as_a_plain_fit_does():
    from syngen import MetadataError

    df = _coupled(200).assign(wait=pd.to_timedelta(np.arange(200), unit="s"))
    with pytest.raises(MetadataError, match=r"'wait' has dtype timedelta64.*total_seconds"):
        TabularGAN(epochs=1, dp=DPConfig()).fit(df)
