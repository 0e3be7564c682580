"""Sharded sampling: parts with seeds of their own from one seed, written alone or together,
ids that never collide, and a manifest written last."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from syngen import DoppelGANger, TabularGAN
from syngen.cli import main
from syngen.shards import MANIFEST, ShardPlan, write_shards


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({
        "customer_id": np.arange(n),
        "amount": rng.gamma(2.0, 50.0, n),
        "segment": rng.choice(["a", "b", "c"], n),
    })  # fmt: skip
    return TabularGAN(epochs=1, seed=0).fit(df, metadata={"customer_id": "id"})


def test_a_plan_splits_rows_evenly_and_spawns_distinct_seeds():
    plan = ShardPlan(10, 3, seed=7)
    assert plan.sizes() == [4, 3, 3] and sum(plan.sizes()) == 10
    assert len(set(plan.seeds())) == 3 and plan.seeds() == ShardPlan(10, 3, seed=7).seeds()
    assert plan.seeds() != ShardPlan(10, 3, seed=8).seeds()
    assert plan.first_ids(False) == [0, 4, 7]
    with pytest.raises(ValueError, match="shards must be a positive integer"):
        ShardPlan(10, 0, seed=1)


def test_parts_do_not_repeat_each_other_and_ids_run_on(model, tmp_path):
    manifest = write_shards(model, ShardPlan(3000, 3, seed=1), tmp_path / "out")
    assert manifest is not None and manifest["total_rows"] == 3000
    # The folder reads as a Parquet dataset: the manifest and sidecars are skipped.
    rows = pd.read_parquet(tmp_path / "out")
    assert len(rows) == 3000 and list(rows.columns) == ["customer_id", "amount", "segment"]
    assert rows["customer_id"].is_unique
    parts = [pd.read_parquet(tmp_path / "out" / p["file"]) for p in manifest["parts"]]
    amounts = [set(p["amount"]) for p in parts]
    # Other draws, not the same stream: only values at the clipped ends recur.
    for a, b in ((0, 1), (1, 2), (0, 2)):
        assert len(amounts[a] & amounts[b]) < 0.02 * len(amounts[a])


def test_parts_written_alone_in_any_order_give_the_same_folder(model, tmp_path):
    plan = ShardPlan(2000, 3, seed=5)
    write_shards(model, plan, tmp_path / "all")
    alone = tmp_path / "alone"
    assert write_shards(model, plan, alone, only=[2]) is None
    assert not (alone / MANIFEST).exists()  # incomplete: no manifest yet
    assert write_shards(model, plan, alone, only=[0]) is None
    manifest = write_shards(model, plan, alone, only=[1])
    assert manifest is not None and (alone / MANIFEST).exists()
    for i in range(3):
        a = (tmp_path / "all" / f"part-0000{i}.parquet").read_bytes()
        assert a == (alone / f"part-0000{i}.parquet").read_bytes()
    assert json.loads((alone / MANIFEST).read_text()) == json.loads(
        (tmp_path / "all" / MANIFEST).read_text()
    )


def test_a_part_of_another_plan_does_not_complete_a_folder(model, tmp_path):
    write_shards(model, ShardPlan(600, 2, seed=1), tmp_path, only=[0])
    assert write_shards(model, ShardPlan(600, 2, seed=2), tmp_path, only=[1]) is None
    assert write_shards(model, ShardPlan(600, 2, seed=2), tmp_path, only=[0]) is not None


def test_series_parts_keep_entity_ids_apart(tmp_path):
    rng = np.random.default_rng(0)
    rows = [(e, t, float(np.sin(t / 2 + e)) + rng.normal(0, 0.1)) for e in range(40)
            for t in range(6)]  # fmt: skip
    series = DoppelGANger(epochs=1, seed=0).fit(
        pd.DataFrame(rows, columns=["id", "t", "v"]), entity="id", time="t"
    )
    manifest = write_shards(series, ShardPlan(30, 2, seed=3), tmp_path)
    assert manifest["unit"] == "entity" and [p["units"] for p in manifest["parts"]] == [15, 15]
    out = pd.read_parquet(tmp_path)
    assert out["id"].nunique() == 30


def test_under_torchrun_each_rank_writes_its_own_parts(model, tmp_path, monkeypatch):
    from syngen.shards import rank_shards

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert rank_shards(ShardPlan(100, 5, seed=0)) == [1, 3]
    runner = CliRunner()
    path = tmp_path / "m.syngen"
    model.save(path)
    result = runner.invoke(main, ["sample", str(path), "-n", "500", "-o", str(tmp_path / "o"),
                                  "--shards", "4"])  # fmt: skip
    assert result.exit_code == 2 and "need --seed" in result.output
    result = runner.invoke(main, ["sample", str(path), "-n", "500", "-o", str(tmp_path / "o"),
                                  "--shards", "4", "--seed", "3"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "o").glob("*.parquet")) == [
        "part-00001.parquet", "part-00003.parquet"
    ]  # fmt: skip
    assert not (tmp_path / "o" / MANIFEST).exists()


def test_the_cli_writes_a_folder_and_refuses_what_it_cannot_do(model, tmp_path):
    path = tmp_path / "m.syngen"
    model.save(path)
    runner = CliRunner()
    base = ["sample", str(path), "-n", "900", "-o", str(tmp_path / "out")]
    result = runner.invoke(main, [*base, "--shards", "3", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert "complete: 900 rows in 3 parts" in result.output
    assert len(pd.read_parquet(tmp_path / "out")) == 900
    result = runner.invoke(main, [*base, "--shards", "3", "--shard", "1"])
    assert result.exit_code == 2 and "need --seed" in result.output
    result = runner.invoke(main, [*base, "--shards", "3", "--shard", "3", "--seed", "2"])
    assert result.exit_code == 2 and "not one of the 3 parts" in result.output
    result = runner.invoke(main, [*base, "--shard", "1"])
    assert result.exit_code == 2 and "--shard needs --shards" in result.output
    result = runner.invoke(main, ["sample", str(path), "-n", "5", "-o", str(tmp_path / "x.txt")])
    assert result.exit_code == 2  # a single output is still a .csv or .parquet file
