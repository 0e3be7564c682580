"""The one-run privacy audit: its bound, its canaries and coins, its verdicts, the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from syngen import DoppelGANger, TabularGAN
from syngen.auditing import audit, epsilon_lower_bound, one_run_p_value
from syngen.auditing.audit import guess_counts
from syngen.cli import main
from syngen.privacy.config import DPConfig

SMALL = {"generator_dims": (32, 32), "discriminator_dims": (32, 32), "calibrate": False}


def _table(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({
        "a": x,
        "b": 2 * x + rng.normal(scale=0.3, size=n),
        "c": rng.choice(["p", "q", "r"], n, p=[0.6, 0.3, 0.1]),
        "d": np.where(x > 0, "hi", "lo"),
    })  # fmt: skip


# ---- the bound ----------------------------------------------------------------------------
def test_all_guesses_right_give_the_papers_ceiling():
    # P[Bin(100, q) >= 100] = q^100 = 0.05 at q = 0.05^(1/100), epsilon = log(q / (1 - q)).
    q = 0.05 ** (1 / 100)
    assert epsilon_lower_bound(100, 100, 100) == pytest.approx(math.log(q / (1 - q)), abs=1e-3)
    assert epsilon_lower_bound(1000, 1000, 1000) == pytest.approx(5.81, abs=0.01)


def test_half_or_none_right_shows_nothing():
    assert epsilon_lower_bound(100, 100, 50) == 0.0
    assert epsilon_lower_bound(100, 100, 0) == 0.0
    assert one_run_p_value(100, 100, 0, 3.0) == 1.0


def test_the_delta_term_matches_a_hand_computed_p_value():
    # m 10, k 4, all 4 right, epsilon 0 (q = 1/2): beta = 1/16; the delta term's alpha is
    # max over i of (P[Bin(4, 1/2) >= 4 - i] - beta) / i = (11/16 - 1/16) / 2 at i = 2.
    assert one_run_p_value(10, 4, 4, 0.0) == pytest.approx(1 / 16)
    assert one_run_p_value(10, 4, 4, 0.0, delta=0.01) == pytest.approx(
        1 / 16 + 2 * 10 * 0.01 * 0.3125
    )
    # A delta makes the same guesses prove less.
    assert epsilon_lower_bound(200, 100, 95, delta=1e-3) < epsilon_lower_bound(200, 100, 95)


def test_the_bound_refuses_impossible_counts_and_levels():
    with pytest.raises(ValueError, match="correct <= k <= m"):
        one_run_p_value(10, 20, 5, 1.0)
    with pytest.raises(ValueError, match="confidence"):
        epsilon_lower_bound(10, 10, 10, confidence=1.5)


def test_guess_counts_are_even_and_within_the_canaries():
    for m in (10, 33, 100, 1000):
        ks = guess_counts(m)
        assert all(k % 2 == 0 and 2 <= k <= m for k in ks) and ks == sorted(set(ks))


# ---- the audit ----------------------------------------------------------------------------
class _Recording(TabularGAN):
    """A TabularGAN that keeps the table it was fitted on."""

    def fit(self, data, metadata=None, **kwargs):
        self.seen = data.copy()
        return super().fit(data, metadata, **kwargs)


def test_canaries_go_in_by_their_coins_and_only_those():
    df = _table(300)
    model = _Recording(epochs=1, seed=0, **SMALL)
    result = audit(df, model, canaries=40, seed=3)
    planted = model.seen[model.seen["c"].str.startswith("canary-")]
    assert len(model.seen) == len(df) + result.included == len(df) + len(result.members)
    assert sorted(int(v.split("-")[1]) for v in planted["c"]) == result.members
    assert (planted["c"] == planted["d"]).all()  # one value of its own per text column
    assert set(df.itertuples(index=False)) <= set(model.seen.itertuples(index=False))
    assert 0 < result.included < 40 and result.canaries == 40
    scores = result.scores["critic"]
    assert len(scores["in"]) == result.included and len(scores["out"]) == 40 - result.included


def test_a_model_without_dp_leaks_and_a_dp_model_stays_below_its_claim():
    """The ordinary pipeline keeps every category it saw, so each canary's own value in the
    model file gives it away; under DP no category seen once is released."""
    df = _table(600)
    plain = audit(df, TabularGAN(epochs=3, seed=0, **SMALL), canaries=60, seed=0)
    private = audit(
        df, TabularGAN(epochs=3, seed=0, dp=DPConfig(epsilon=3), **SMALL), canaries=60, seed=0
    )
    assert plain.claimed_epsilon is None and plain.finding == "leaks"
    assert plain.lower_bound > 1.0 and plain.best["score"] == "vocabulary"
    assert private.claimed_epsilon == 3 and private.finding == "consistent"
    assert private.lower_bound <= 3 and private.lower_bound < plain.lower_bound
    assert not any(private.scores["vocabulary"]["in"])  # no canary's own value released
    assert private.delta > 0 and "does not exceed" in private.verdict


def test_the_same_seed_gives_the_same_audit():
    df = _table(300)
    runs = [audit(df, TabularGAN(epochs=1, seed=0, **SMALL), canaries=20, seed=7) for _ in "ab"]
    first, second = (r.to_dict() for r in runs)
    for d in (first, second):
        d.pop("seconds")
    assert first == second


def test_bad_arguments_are_refused_by_name():
    df = _table(100)
    with pytest.raises(ValueError, match="canaries must be an integer of at least 10"):
        audit(df, canaries=5)
    with pytest.raises(TypeError, match="model must be an unfitted TabularGAN or DoppelGANger"):
        audit(df, model="ctgan")
    with pytest.raises(ValueError, match="needs entity= and time="):
        audit(df, model=DoppelGANger())
    with pytest.raises(ValueError, match="are for auditing a DoppelGANger"):
        audit(df, entity="a", time="b")
    with pytest.raises(TypeError, match="data must be a pandas DataFrame"):
        audit(df.to_numpy())
    with pytest.raises(ValueError, match="confidence"):
        audit(df, confidence=0.3)


# ---- the command --------------------------------------------------------------------------
def test_syngen_audit_writes_its_json_and_page(tmp_path):
    data = tmp_path / "toy.csv"
    _table(300).to_csv(data, index=False)
    out = tmp_path / "audit.json"
    result = CliRunner().invoke(
        main, ["audit", str(data), "--epochs", "2", "--canaries", "20", "--quiet", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "epsilon lower bound" in result.output and "LEAKS" in result.output
    record = json.loads(out.read_text())
    assert record["schema_version"] == 1 and record["claimed_epsilon"] is None
    assert record["lower_bound"] > 0 and record["canaries"] == 20
    assert record["finding"] == "leaks" and len(record["members"]) == record["included"]
    page = (tmp_path / "audit.html").read_text()
    assert "data:image/png;base64" in page and "Privacy audit" in page


def test_syngen_audit_refuses_what_it_cannot_do_before_training(tmp_path):
    data = tmp_path / "toy.csv"
    _table(100).to_csv(data, index=False)
    runner = CliRunner()
    result = runner.invoke(main, ["audit", str(data), "--delta", "1e-5", "-o", "a.json"])
    assert result.exit_code != 0 and "--delta needs --epsilon" in result.output
    result = runner.invoke(main, ["audit", str(data), "-o", str(data)])
    assert result.exit_code != 0 and data.read_text().startswith("a,b,c,d")


def test_syngen_audit_is_the_function_even_with_its_package_imported():
    import syngen
    import syngen.auditing

    assert syngen.audit is syngen.auditing.audit and callable(syngen.audit)


# ---- time series: canary entities -----------------------------------------------------------
def _panel(entities: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(entities):
        group, level = rng.choice(["x", "y", "z"]), rng.normal(10, 3)
        rows += [(e, t, group, level + np.sin(t / 2) + rng.normal(0, 0.1)) for t in range(8)]
    return pd.DataFrame(rows, columns=["id", "t", "group", "v"])


class _RecordingSeries(DoppelGANger):
    def fit(self, data, *args, **kwargs):
        self.seen = data.copy()
        return super().fit(data, *args, **kwargs)


def test_canary_entities_go_in_whole_by_their_coins_and_only_those():
    df = _panel(120)
    model = _RecordingSeries(epochs=1, seed=0)
    result = audit(df, model, entity="id", time="t", attributes=["group"], canaries=30, seed=2)
    seen = model.seen
    planted = seen[seen["id"] > df["id"].max()]
    members = sorted(int(i) - (df["id"].max() + 1) for i in planted["id"].unique())
    assert members == result.members and 0 < result.included < 30
    # Every row of a planted entity goes in: lengths as real entities have them.
    assert set(planted.groupby("id").size()) <= set(df.groupby("id").size())
    assert planted.groupby("id")["group"].nunique().eq(1).all()  # attributes stay static
    assert planted["group"].str.startswith("canary-").all()  # a value of its own
    assert set(df.itertuples(index=False)) <= set(seen.itertuples(index=False))
    assert result.table["kind"] == "timeseries" and result.table["entities"] == 120


def test_a_series_model_without_dp_leaks_and_an_entity_level_dp_one_does_not():
    df = _panel(300)
    where = {"entity": "id", "time": "t", "attributes": ["group"]}
    plain = audit(df, DoppelGANger(epochs=3, seed=0), canaries=60, seed=0, **where)
    private = audit(
        df, DoppelGANger(epochs=2, seed=0, dp=DPConfig(epsilon=5)), canaries=60, seed=0, **where
    )
    assert plain.finding == "leaks" and plain.best["score"] == "vocabulary"
    assert plain.lower_bound > 1.0
    assert private.claimed_epsilon == 5 and private.finding == "consistent"
    assert private.lower_bound < plain.lower_bound
    assert not any(private.scores["vocabulary"]["in"])  # no canary's own value released
    assert set(private.scores) == {"critic", "vocabulary", "distance"}


def test_syngen_audit_takes_a_time_series(tmp_path):
    data = tmp_path / "panel.csv"
    _panel(120).to_csv(data, index=False)
    out = tmp_path / "audit.json"
    base = ["audit", str(data), "--canaries", "20", "--epochs", "1", "--quiet", "-o", str(out)]
    runner = CliRunner()
    result = runner.invoke(main, [*base, "--kind", "timeseries", "--entity-col", "id",
                                  "--time-col", "t", "--attributes", "group"])  # fmt: skip
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())
    assert record["table"]["kind"] == "timeseries" and record["canaries"] == 20
    result = runner.invoke(main, [*base, "--entity-col", "id"])
    assert result.exit_code == 2 and "only for --kind timeseries" in result.output
    result = runner.invoke(main, [*base, "--kind", "timeseries", "--entity-col", "id"])
    assert result.exit_code == 2 and "needs --entity-col and --time-col" in result.output
