"""Entity-level differential privacy for DoppelGANger: an entity with all its rows is one unit of
clipping and sampling, the preprocessing releases what the encoders read, and the privacy
block says what the fit spent and survives the model file."""

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
import torch

import syngen
from syngen import DoppelGANger
from syngen.privacy.config import DPConfig
from syngen.timeseries.dp_trainer import CriticPair, entity_unit_loss
from syngen.timeseries.networks import Critic
from syngen.timeseries.private_fit import entity_summary
from syngen.timeseries.sequences import Sequences


def _panel(n: int = 160, seed: int = 0) -> pd.DataFrame:
    """Entities of 6-10 steps: a level per entity and group, a sine on top, a status code."""
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(n):
        group = "a" if e % 2 else "b"
        level = (10.0 if group == "a" else 30.0) + rng.normal(0, 1)
        for t in range(int(rng.integers(6, 11))):
            status = "on" if rng.random() < 0.7 else "off"
            rows.append((e, t, group, level + np.sin(t / 2) + rng.normal(0, 0.1), status))
    return pd.DataFrame(rows, columns=["id", "t", "group", "value", "status"])


@pytest.fixture(scope="module")
def dp_series():
    model = DoppelGANger(epochs=4, seed=0, dp=DPConfig(epsilon=3.0))
    return model.fit(_panel(400), entity="id", time="t", attributes=["group"])


# ---- one entity, one unit ---------------------------------------------------------------------
def _unit_gradients(pair, real, fake, alpha, alpha_aux, static_dim):
    """Per-entity gradients of both critics, flattened side by side: (entities, parameters)."""
    from torch.func import functional_call, grad, vmap

    params = {k: v.detach() for k, v in pair.named_parameters()}

    def loss(p, *unit):
        def call(*inputs):
            return functional_call(pair, p, inputs)

        return entity_unit_loss(call, *unit, static_dim=static_dim, penalty=10.0, aux_weight=1.0)

    grads = vmap(grad(loss), in_dims=(None, 0, 0, 0, 0))(params, real, fake, alpha, alpha_aux)
    return torch.cat([g.flatten(1) for g in grads.values()], 1)


def test_one_entity_with_many_rows_moves_the_clipped_gradient_sum_by_at_most_the_clip_norm():
    torch.manual_seed(0)
    static_dim, steps, dim = 3, 40, 2
    width = static_dim + steps * dim
    pair = CriticPair(Critic(width, (16,)), Critic(static_dim, (16,)))
    real, fake = torch.randn(5, width), torch.randn(5, width)
    alpha, alpha_aux = torch.rand(5), torch.rand(5)
    # The fifth entity holds 40 steps, scaled up: alone, a large gradient.
    real[4, static_dim:] *= 50
    without = _unit_gradients(pair, real[:4], fake[:4], alpha[:4], alpha_aux[:4], static_dim)
    with_it = _unit_gradients(pair, real, fake, alpha, alpha_aux, static_dim)
    # The other entities' gradients do not change: nothing mixes entities.
    torch.testing.assert_close(with_it[:4], without, rtol=1e-5, atol=1e-6)
    clip = 1.0
    norms = with_it.norm(dim=1)
    assert norms[4] > 10 * clip  # the test means something: that entity is clipped hard
    clipped = with_it * (clip / (norms + 1e-6)).clamp(max=1.0)[:, None]
    moved = clipped.sum(0) - clipped[:4].sum(0)
    assert float(moved.norm()) <= clip + 1e-5


def test_the_unit_loss_holds_both_critics_terms():
    torch.manual_seed(1)
    pair = CriticPair(Critic(6, (8,)), Critic(2, (8,)))
    real, fake = torch.randn(6), torch.randn(6)

    def call(*inputs):
        return pair(*inputs)

    both = entity_unit_loss(
        call, real, fake, torch.tensor(0.5), torch.tensor(0.5),
        static_dim=2, penalty=0.0, aux_weight=1.0,
    )  # fmt: skip
    main = pair.main.net(fake[None]) - pair.main.net(real[None])
    aux = pair.aux.net(fake[None, :2]) - pair.aux.net(real[None, :2])
    assert float(both.detach()) == pytest.approx(float((main + aux).detach()), rel=1e-5)


# ---- the fit ----------------------------------------------------------------------------------
def test_a_dp_fit_spends_its_budget_per_entity_and_says_so(dp_series):
    p = dp_series.privacy_
    assert p["unit"] == "entity" and p["accountant"] == "rdp"
    assert 2.9 < p["epsilon"] <= p["target_epsilon"] == 3.0
    assert p["delta"] == pytest.approx(1 / (10 * 400))  # 1 / (10 entities)
    assert p["steps"] == p["planned_steps"] > 0
    assert p["sample_rate"] == pytest.approx(40 / 400)  # a tenth of the entities
    parts = p["epsilon_by_component"]
    assert parts["preprocessing"] == pytest.approx(0.2 * 3.0, rel=0.01)
    assert max(parts.values()) < p["epsilon"] < sum(parts.values())
    # What the encoders read, released: one histogram per summary column.
    assert sorted(p["paid_columns"]) == sorted(
        ["group", "<length>", "<start>", "<step>", "value:min", "value:max", "<nulls>",
         "status:mode"]
    )  # fmt: skip
    assert dp_series.schema_["entity_start"] == 0  # not the largest real id + 1
    assert {r["discriminator_loss"] for r in dp_series.history_} == {None}


def test_the_time_series_privacy_block_round_trips_through_the_model_file(dp_series, tmp_path):
    path = tmp_path / "series.syngen"
    dp_series.save(path)
    back = syngen.load(path)
    assert back.privacy_ == dp_series.privacy_
    assert back.config_.dp == dp_series.config_.dp
    pdt.assert_frame_equal(back.sample(12, seed=2), dp_series.sample(12, seed=2))


def test_dp_samples_keep_the_schema_and_dtypes(dp_series):
    real = _panel(400)
    out = dp_series.sample(30, seed=0)
    assert list(out.columns) == list(real.columns)
    assert dict(out.dtypes) == dict(real.dtypes)
    assert out["id"].nunique() == 30
    assert set(out["group"]) <= {"a", "b"} and set(out["status"]) <= {"on", "off"}


def test_an_outlying_entity_leaves_no_trace_in_the_released_domain():
    """A value one entity alone holds (a huge reading, a category of its own) is not read into
    the model: its histogram count does not clear the noise."""
    df = _panel(400, seed=3)
    df.loc[df["id"] == 7, "value"] = 1e9
    df.loc[df["id"] == 9, "status"] = "secret-status"
    model = DoppelGANger(epochs=1, seed=0, dp=DPConfig(epsilon=5.0))
    model.fit(df, entity="id", time="t", attributes=["group"])
    assert model.features_.ranges_["value"].value_hi < 1e6
    assert "secret-status" not in model.features_.categories_["status"]
    # The ordinary fit does read them.
    plain = DoppelGANger(epochs=1, seed=0).fit(df, entity="id", time="t", attributes=["group"])
    assert plain.features_.ranges_["value"].value_hi == 1e9


def test_a_dp_fit_is_reproducible_under_a_seed():
    df = _panel(200)
    fit = dict(entity="id", time="t", attributes=["group"])
    a = DoppelGANger(epochs=2, seed=4, dp=DPConfig(epsilon=8.0)).fit(df, **fit)
    b = DoppelGANger(epochs=2, seed=4, dp=DPConfig(epsilon=8.0)).fit(df, **fit)
    pdt.assert_frame_equal(a.sample(10, seed=1), b.sample(10, seed=1))


def test_windows_of_one_series_under_dp_keep_the_window_length():
    rng = np.random.default_rng(0)
    days = pd.date_range("2020-01-01", periods=600, freq="D")
    df = pd.DataFrame({"day": days, "price": 100 + np.cumsum(rng.normal(0, 1, 600))})
    # 30 windows: too few to release their range, public as a price's domain often is.
    public = {"day": ("2019-06-01", "2022-01-01"), "price": (0.0, 200.0)}
    model = DoppelGANger(epochs=2, seed=0, dp=DPConfig(epsilon=5.0, public_bounds=public))
    model.fit(df, entity="window", time="day", window=20)
    assert "<length>" not in model.privacy_["paid_columns"]  # public: the window's
    assert model.schema_["max_len"] == model.schema_["min_len"] == 20
    # The released step is put back on the calendar: whole days.
    assert model.schema_["step"] == 86_400 * 10**9
    out = model.sample(5, seed=0)
    assert out.groupby("window").size().eq(20).all()
    assert (out["day"].dt.floor("D") == out["day"]).all()


def test_public_bounds_of_a_feature_cost_nothing_for_its_range():
    df = _panel(300)
    dp = DPConfig(epsilon=6.0, public_bounds={"value": (0.0, 50.0)})
    model = DoppelGANger(epochs=1, seed=0, dp=dp).fit(
        df, entity="id", time="t", attributes=["group"]
    )
    assert model.privacy_["public_columns"] == ["value"]
    r = model.features_.ranges_["value"]
    assert 0.0 <= r.value_lo and r.value_hi <= 50.0


def test_dp_time_series_errors_name_the_fix():
    with pytest.raises(ValueError, match="refine_share applies to TabularGAN only"):
        DoppelGANger(dp=DPConfig(epsilon=1.0, refine_share=0.5))
    df = _panel(40)
    with pytest.raises(ValueError, match="public bounds name column 'nope'"):
        DoppelGANger(epochs=1, dp=DPConfig(epsilon=1.0, public_bounds={"nope": (0, 1)})).fit(
            df, entity="id", time="t"
        )


def test_the_summary_has_one_row_per_entity():
    df = _panel(30)
    seq = Sequences.from_long(df, "id", "t", ["group"])
    kinds = {"group": "categorical", "value": "numerical", "status": "categorical"}
    summary, summary_kinds = entity_summary(seq, kinds)
    assert len(summary) == 30 and set(summary_kinds) == set(summary.columns)
    first = df[df["id"] == 0]
    assert summary.loc[0, "value:min"] == first["value"].min()
    assert summary.loc[0, "<length>"] == len(first)
    assert summary.loc[0, "status:mode"] == first["status"].mode().iloc[0] or (
        first["status"].value_counts().iloc[0] == first["status"].value_counts().iloc[-1]
    )


def test_the_cli_fits_a_time_series_under_dp(tmp_path):
    from click.testing import CliRunner

    from syngen.cli import main

    data, model = tmp_path / "s.csv", tmp_path / "s.syngen"
    _panel(300).to_csv(data, index=False)
    base = ["fit", str(data), "-o", str(model), "--kind", "timeseries", "--entity-col", "id"]
    base += ["--time-col", "t", "--attributes", "group", "--epochs", "1", "--quiet"]
    result = CliRunner().invoke(main, [*base, "--epsilon", "8", "--seed", "0"])
    assert result.exit_code == 0, result.output
    assert "differential privacy for each entity" in result.output
    assert syngen.load(model).privacy_["unit"] == "entity"


def test_nulls_of_many_entities_are_released_as_one_pattern_column():
    df = _panel(400, seed=5)
    df.loc[(df["id"] % 3 == 0) & (df["t"] == 2), "value"] = np.nan  # a third of the entities
    model = DoppelGANger(epochs=1, seed=0, dp=DPConfig(epsilon=5.0))
    model.fit(df, entity="id", time="t", attributes=["group"])
    assert "value" in model.features_.nullable_
    assert "<nulls>" in model.privacy_["paid_columns"]
    clean = DoppelGANger(epochs=1, seed=0, dp=DPConfig(epsilon=5.0))
    clean.fit(_panel(400, seed=5), entity="id", time="t", attributes=["group"])
    assert "value" not in clean.features_.nullable_  # noise alone is no evidence of nulls


def test_start_dates_are_released_within_months_not_decades():
    """Timestamps sit in one quarter decade of the public log grid (decades of calendar time):
    the start's range is narrowed once more before its histogram."""
    rng = np.random.default_rng(0)
    rows = []
    for e in range(400):
        start = pd.Timestamp("2021-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
        rows += [(e, start + pd.Timedelta(days=t), rng.normal()) for t in range(6)]
    df = pd.DataFrame(rows, columns=["id", "day", "v"])
    model = DoppelGANger(epochs=1, seed=0, dp=DPConfig(epsilon=8.0)).fit(df, "id", "day")
    starts = pd.to_datetime(np.array(model.schema_["start_quantiles"]))
    assert starts.min() > pd.Timestamp("2019-12-01") and starts.max() < pd.Timestamp("2022-12-01")


def test_a_zone_aware_daily_series_starts_at_the_zones_midnight():
    rng = np.random.default_rng(1)
    rows = []
    for e in range(300):
        start = pd.Timestamp("2021-01-04", tz="America/New_York")
        start += pd.Timedelta(days=int(rng.integers(0, 50)))  # winter: one UTC offset
        rows += [(e, start + pd.Timedelta(days=t), rng.normal()) for t in range(5)]
    df = pd.DataFrame(rows, columns=["id", "day", "v"])
    public = {"day": ("2020-12-01", "2021-04-01")}
    model = DoppelGANger(epochs=1, seed=0, dp=DPConfig(epsilon=8.0, public_bounds=public))
    out = model.fit(df, "id", "day").sample(40, seed=0)
    assert str(out["day"].dt.tz) == "America/New_York"
    assert (out["day"].dt.hour == 0).all()  # not 19:00, UTC's midnight there
