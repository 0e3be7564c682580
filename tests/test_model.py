import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
import torch
from conftest import LEVELS, REGIONS, make_coded

import syngen
from syngen import ModelFileError, TabularConfig, TabularGAN
from syngen.tabular.calibration import calibrate, fit_condition_mixture


def test_sample_shapes_and_dtypes(mixed, fitted):
    out = fitted.sample(1234, seed=0)
    assert out.shape == (1234, mixed.shape[1])
    assert list(out.columns) == list(mixed.columns)
    pdt.assert_series_equal(out.dtypes, mixed.dtypes)
    assert out["customer_id"].is_unique
    assert (out["country"] == "FR").all()
    assert set(out["group"].dropna()) <= set(mixed["group"])


def test_uncommon_dtypes_and_index_come_back():
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame(
        {
            "s": pd.Series(rng.choice(["u", "v", "w"], n), dtype="string[pyarrow]"),
            "c": pd.Categorical(
                rng.choice(["p", "q"], n), categories=["p", "q", "r"], ordered=True
            ),
            "f32": rng.normal(size=n).astype("float32"),
            "i8": rng.integers(0, 100, n).astype("int8"),
            "u32": rng.integers(0, 1000, n).astype("uint32"),
            "ts": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), "s"),
            "mixed": rng.choice(["1", "two", "3"], n).astype(object),
        }
    )
    df.index = rng.permutation(n) + 1000
    out = TabularGAN(epochs=2, batch_size=100, seed=0).fit(df).sample(500, seed=0)
    pdt.assert_series_equal(out.dtypes, df.dtypes)
    assert out.index.equals(pd.RangeIndex(500))


def test_numbers_only_table_without_conditions():
    rng = np.random.default_rng(0)
    x = rng.normal(size=600)
    df = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(size=600) * 0.1})
    model = TabularGAN(epochs=2, batch_size=100, seed=0).fit(df)
    assert model.sampler_.cond_dim == 0
    out = model.sample(300, seed=0)
    assert out.shape == (300, 2) and out.notna().all().all()


def test_sample_zero_rows_keeps_schema(mixed, fitted):
    out = fitted.sample(0)
    assert len(out) == 0
    pdt.assert_series_equal(out.dtypes, mixed.dtypes)


def test_sampling_reproduces_original_frequencies():
    # Training draws classes by log-frequency (0.39 / 0.32 / 0.29 here); sampling must give back
    # the real shares (0.70 / 0.20 / 0.10).
    rng = np.random.default_rng(0)
    n = 2000
    kind = rng.choice(["a", "b", "c"], n, p=[0.7, 0.2, 0.1])
    df = pd.DataFrame({"kind": kind, "x": rng.normal(size=n) + (kind == "a") * 3})
    model = TabularGAN(epochs=40, batch_size=200, seed=0).fit(df)
    synth = model.sample(20_000, seed=1)["kind"].value_counts(normalize=True)
    assert abs(synth["a"] - 0.7) < 0.08
    assert synth["a"] > synth["b"] > synth["c"]


def coupled_columns(n: int = 3000) -> pd.DataFrame:
    """Three categorical columns; b follows a in 4 rows of 5, as Adult's relationship follows
    marital status."""
    rng = np.random.default_rng(0)
    a = rng.choice(list("pqrst"), n, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    b = np.where(rng.random(n) < 0.8, np.char.upper(a.astype(str)), rng.choice(list("PQRST"), n))
    return pd.DataFrame({"a": a, "b": b, "c": rng.choice(list("xyz"), n, p=[0.6, 0.3, 0.1])})


def test_calibration_brings_class_shares_to_the_data_and_stops_there():
    df = coupled_columns()

    def distance(model):
        out = model.sample(20_000, seed=1)
        return {
            c: (out[c].value_counts(normalize=True) - df[c].value_counts(normalize=True))
            .abs()
            .sum()
            / 2
            for c in df
        }

    model = TabularGAN(epochs=3, batch_size=200, seed=0, calibrate=False).fit(df)
    assert max(distance(model).values()) > 0.1  # a short fit's marginals drift
    rounds = []
    source = model._row_source
    model._row_source = lambda gen: rounds.append(1) or source(gen)
    codes = model.transformer_.encode(df, np.random.default_rng(0)).codes
    calibrate(model, codes, np.random.default_rng(1), max_rounds=16, tolerance=0.02)
    assert 1 < len(rounds) < 16  # it stops once every span is within the tolerance
    assert max(distance(model).values()) < 0.02


def test_the_mixture_of_conditions_takes_the_drift_of_a_generator_that_follows_them():
    df = coupled_columns()

    def drift(model):
        out = model.sample(20_000, seed=1)
        shares = [out[c].value_counts(normalize=True) for c in df]
        return sum(
            (s - df[c].value_counts(normalize=True)).abs().sum() / 2
            for c, s in zip(df, shares, strict=True)
        )

    model = TabularGAN(epochs=20, batch_size=200, seed=0, calibrate=False).fit(df)
    before = drift(model)
    assert before > 0.1
    # Whole generated rows reweighted by their condition, no logit bias yet.
    fit_condition_mixture(model, torch.Generator().manual_seed(0))
    assert drift(model) < 0.5 * before
    assert not model.class_bias_.any()


def test_seed_makes_fit_and_sample_reproducible(mixed):
    a = TabularGAN(epochs=2, batch_size=100, seed=7).fit(mixed)
    b = TabularGAN(epochs=2, batch_size=100, seed=7).fit(mixed)
    pdt.assert_frame_equal(a.sample(500, seed=3), b.sample(500, seed=3))
    assert not a.sample(500, seed=3).equals(a.sample(500, seed=4))
    assert a.history_[-1]["generator_loss"] == b.history_[-1]["generator_loss"]


def test_noise_halves_drawn_on_two_threads_are_seeded_standard_normals():
    from concurrent.futures import ThreadPoolExecutor

    import torch

    from syngen.tabular.generation import standard_normal

    def draw(seed):
        with ThreadPoolExecutor(1) as worker:
            return standard_normal(4001, 64, torch.Generator().manual_seed(seed), worker)

    z = draw(0)
    assert torch.equal(z, draw(0)) and not torch.equal(z, draw(1))
    # Without a worker thread, the same values.
    assert torch.equal(z, standard_normal(4001, 64, torch.Generator().manual_seed(0)))
    for half in (z[:2000], z[2000:]):  # each thread's half: mean 0, variance 1, no overlap
        assert abs(half.mean()) < 0.01 and abs(half.var() - 1) < 0.02
    pair = torch.stack([z[:2000].flatten(), z[2000:4000].flatten()])
    assert abs(torch.corrcoef(pair)[0, 1]) < 0.01


_FORKED_MODEL = None


def _sample_in_forked_child(n):
    import torch

    torch.set_num_threads(1)  # torch's own OpenMP threads do not survive a fork either
    return len(_FORKED_MODEL.sample(n, seed=1))


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_can_sample_after_its_parent_did(fitted):
    """multiprocessing forks by default on Linux; the noise thread must not be inherited."""
    import multiprocessing

    global _FORKED_MODEL
    _FORKED_MODEL = fitted
    assert len(fitted.sample(500, seed=0)) == 500
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.map_async(_sample_in_forked_child, [700]).get(timeout=60) == [700]


def test_training_output_order_is_undone_even_when_training_fails(fitted):
    """Training holds the generator's output rows in draw order; the model file and sampling
    expect layout order, which must come back however training ends."""
    import torch

    out = fitted.generator_.out
    weight, bias = out.weight.detach().clone(), out.bias.detach().clone()
    from syngen.tabular.draw_order import output_in_draw_order

    with (
        pytest.raises(KeyboardInterrupt),
        output_in_draw_order(fitted.generator_, fitted.layout_),
    ):
        assert torch.equal(out.weight, weight[fitted.layout_.draw_order])
        assert torch.equal(out.bias, bias[fitted.layout_.draw_order])
        raise KeyboardInterrupt
    assert torch.equal(out.weight, weight) and torch.equal(out.bias, bias)


def test_sample_memory_does_not_depend_on_batching(fitted):
    chunks = list(fitted.iter_samples(2500, seed=0, batch_size=1000))
    assert [len(c) for c in chunks] == [1000, 1000, 500]


def test_conditional_sampling_every_row_matches(fitted):
    out = fitted.sample(300, conditions={"group": "c", "active": False}, seed=0)
    assert len(out) == 300
    assert (out["group"] == "c").all() and (~out["active"]).all()
    nulls = fitted.sample(50, conditions={"city": None}, seed=0)
    assert nulls["city"].isna().all()


def test_derived_columns_always_agree_with_their_source_and_take_conditions():
    m = TabularGAN(epochs=2, batch_size=100, seed=0).fit(make_coded(400))
    assert set(m.transformer_.derived_) == {"label", "region"}
    out = m.sample(1000, seed=0)
    assert (out["label"] == out["code"].map(LEVELS)).all()
    assert (out["region"] == out["code"].map(REGIONS)).all()
    # A condition on a derived value conditions the generator on its source classes (drawn
    # by frequency); every row matches it.
    north = m.sample(300, conditions={"region": "north"}, seed=0)
    assert (north["region"] == "north").all()
    assert set(north["code"]) == {"E1", "E2"}
    assert (m.sample(50, conditions={"label": "master"}, seed=0)["code"] == "E4").all()
    both = m.sample(20, conditions={"code": "E3", "label": "bachelor"}, seed=0)
    assert (both["code"] == "E3").all()
    with pytest.raises(ValueError, match="code='E1' and label='master' contradict"):
        m.sample(10, conditions={"code": "E1", "label": "master"})
    plain = TabularGAN(epochs=1, batch_size=100, seed=0, derive_columns=False)
    assert plain.fit(make_coded(400)).transformer_.derived_ == {}


def test_condition_errors_are_clear(fitted):
    with pytest.raises(ValueError, match=r"column 'group'.*\['zzz'\] were not seen"):
        fitted.sample(10, conditions={"group": "zzz"})
    with pytest.raises(ValueError, match="unknown column 'nope'"):
        fitted.sample(10, conditions={"nope": 1})
    with pytest.raises(ValueError, match="outside the range"):
        fitted.sample(10, conditions={"age": 500})
    with pytest.raises(ValueError, match="id column"):
        fitted.sample(10, conditions={"customer_id": 1})
    with pytest.raises(ValueError, match="too rare"):
        fitted.sample(10, conditions={"amount": 12.3456}, batch_size=500)
    with pytest.raises(ValueError, match="whole numbers only"):
        fitted.sample(10, conditions={"age": 27.5})
    with pytest.raises(ValueError, match="whole numbers only"):
        fitted.sample(10, conditions={"age": "27.5"})


def test_rejection_sampling_gives_up_on_evidence_whatever_n_is():
    from syngen.conditions import too_rare

    floor = 1000
    assert not too_rare(0, floor - 1, 10**7, floor)  # not judged before the floor
    assert too_rare(0, floor, 10, floor) and too_rare(0, floor, 10**7, floor)
    assert not too_rare(500, floor, 10**4, floor)  # half accepted: 20,000 draws will do
    assert too_rare(5, 10**5, 10**4, floor)  # 1 in 20,000: far past 50 n


def test_save_load_gives_identical_samples(fitted, tmp_path):
    path = tmp_path / "model.syngen"
    fitted.save(path)
    loaded = syngen.load(path)
    assert isinstance(loaded, TabularGAN)
    pdt.assert_frame_equal(loaded.sample(700, seed=5), fitted.sample(700, seed=5))
    pdt.assert_frame_equal(
        loaded.sample(100, conditions={"group": "b"}, seed=1),
        fitted.sample(100, conditions={"group": "b"}, seed=1),
    )
    assert loaded.config_ == fitted.config_


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_a_model_trained_on_cuda_loads_and_samples_on_cpu(fitted, tmp_path):
    from syngen.persistence import read_model_file, save_model

    fitted.save(tmp_path / "cpu.syngen")
    header, tensors = read_model_file(tmp_path / "cpu.syngen")
    header = {k: v for k, v in header.items() if k not in ("format", "format_version")}
    header["config"]["device"] = "cuda"  # as written by a fit on a GPU machine
    save_model(tmp_path / "gpu.syngen", header, tensors)
    loaded = syngen.load(tmp_path / "gpu.syngen")
    assert loaded.device_.type == "cpu"
    pdt.assert_frame_equal(loaded.sample(50, seed=2), fitted.sample(50, seed=2))


def test_model_file_holds_no_pickle(fitted, tmp_path):
    path = tmp_path / "model.syngen"
    fitted.save(path)
    raw = path.read_bytes()
    assert b"\x80\x04" not in raw[:16] and raw[8:9] == b"{"  # safetensors: length + JSON header


@pytest.mark.parametrize("content", [b"", b"not a model at all", b"\x00" * 64])
def test_corrupt_model_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.syngen"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="not a syngen model file"):
        syngen.load(path)


def test_truncated_model_file_is_a_clear_error(fitted, tmp_path):
    path = tmp_path / "model.syngen"
    fitted.save(path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ModelFileError):
        syngen.load(path)


def test_model_file_keeps_the_condition_mixture_and_checks_it(fitted, tmp_path):
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    path = tmp_path / "model.syngen"
    fitted.save(path)
    back = syngen.load(path)
    # Calibration moved the mixture off the original frequencies, and the file keeps it.
    assert not np.allclose(fitted.sampler_.mixture, fitted.sampler_.original_mixture())
    np.testing.assert_allclose(back.sampler_.mixture, fitted.sampler_.mixture, rtol=1e-12)
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    tensors = load_file(str(path))
    tensors["condition_mixture"] = -torch.ones_like(tensors["condition_mixture"])
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(ModelFileError, match="inconsistent or corrupt.*non-negative"):
        syngen.load(path)


def test_foreign_safetensors_file_is_refused(tmp_path):
    import torch
    from safetensors.torch import save_file

    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(ModelFileError, match="not one written by syngen"):
        syngen.load(path)


def test_sample_to_streams_and_is_atomic(fitted, tmp_path):
    out = tmp_path / "rows.parquet"
    assert fitted.sample_to(out, 2500, seed=0, batch_size=1000) == 2500
    back = pd.read_parquet(out)
    assert len(back) == 2500 and back["customer_id"].is_unique
    failing = tmp_path / "fail.csv"
    with pytest.raises(ValueError):
        fitted.sample_to(failing, 100, conditions={"group": "zzz"})
    assert list(tmp_path.iterdir()) == [out]


def test_bad_arguments(mixed, fitted):
    with pytest.raises(TypeError, match="DataFrame"):
        TabularGAN().fit(mixed.to_numpy())
    with pytest.raises(TypeError, match="unknown TabularGAN option"):
        TabularGAN(epochz=3)
    with pytest.raises(ValueError, match="batch_size"):
        TabularConfig(batch_size=0)
    with pytest.raises(ValueError, match="multiple of pac"):
        TabularConfig(batch_size=55, pac=10)
    with pytest.raises(ValueError, match="ema_decay"):
        TabularConfig(ema_decay=-0.5)
    with pytest.raises(ValueError, match="non-negative integer"):
        fitted.sample(-1)
    with pytest.raises(RuntimeError, match="not fitted"):
        TabularGAN().sample(5)
    with pytest.raises(ValueError, match="at least pac"):
        TabularGAN(pac=10).fit(mixed.head(5))
    with pytest.raises(ValueError, match="nothing to learn"):
        TabularGAN(epochs=1).fit(
            pd.DataFrame({"id": range(100), "k": 1}), metadata={"id": "id", "k": "constant"}
        )


class EpochClock:
    """A fake clock for the time budget: each epoch takes exactly one second."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def on_epoch(self, epoch: int, record: dict | None) -> None:
        if record is None:  # an epoch starts: one second passes before it ends
            self.now += 1.0


def test_max_seconds_bounds_the_whole_fit(mixed):
    clock = EpochClock()
    model = TabularGAN(epochs=10_000, batch_size=100, max_seconds=4.5, seed=0)
    model.clock = clock
    model.fit(mixed, on_epoch=clock.on_epoch)
    # After 4 one-second epochs another would end at 5 s, past the budget: the fit stops.
    assert model.epochs_trained_ == 4
    assert [r["seconds"] for r in model.history_] == [1.0, 2.0, 3.0, 4.0]


def test_on_epoch_is_called_as_each_epoch_starts_and_ends(mixed):
    calls = []
    model = TabularGAN(epochs=3, batch_size=100, seed=0)
    model.fit(mixed, on_epoch=lambda epoch, record: calls.append((epoch, record)))
    assert [(e, r is None) for e, r in calls] == [(1, True), (1, False), (2, True), (2, False),
                                                  (3, True), (3, False)]  # fmt: skip
    assert [r for _, r in calls if r is not None] == model.history_


def test_the_last_epochs_refine_against_a_row_classifier(mixed, monkeypatch):
    from syngen.tabular.sampler import ConditionSampler

    draws = []
    for name in ("sample_train", "sample_mixture"):
        method = getattr(ConditionSampler, name)

        def spy(self, batch, rng, _method=method, _name=name):
            draws.append(_name)
            return _method(self, batch, rng)

        monkeypatch.setattr(ConditionSampler, name, spy)
    model = TabularGAN(epochs=8, batch_size=100, refine_share=0.25, calibrate=False, seed=0)
    model.fit(mixed)
    phases = [r["phase"] for r in model.history_]
    assert phases == ["gan"] * 6 + ["refine"] * 2
    # 4 steps an epoch: training-by-sampling for the critic, then conditions at their original
    # frequencies, as sampling draws them, for the classifier.
    assert draws == ["sample_train"] * 24 + ["sample_mixture"] * 8
    # The classifier's first epoch trains only the classifier; the second, the generator too.
    assert model.history_[-2]["generator_loss"] == 0.0
    assert model.history_[-1]["generator_loss"] > 0.0
    # Against a logistic classifier the losses are positive, against the pack critic anything.
    assert 0.0 < model.history_[-1]["discriminator_loss"] < 1.5
    plain = TabularGAN(epochs=8, batch_size=100, refine_share=0.0, seed=0).fit(mixed)
    assert {r["phase"] for r in plain.history_} == {"gan"}
    with pytest.raises(ValueError, match="refine_share"):
        TabularConfig(refine_share=1.0)


def test_refinement_takes_the_last_share_of_a_time_budget(mixed):
    cfg = TabularConfig(epochs=10_000, batch_size=100, max_seconds=8, refine_share=0.5, seed=0)
    clock = EpochClock()
    model = TabularGAN(cfg)
    model.clock = clock
    model.fit(mixed, on_epoch=clock.on_epoch)
    # The switch comes once another epoch would overrun half of the budget (4 s): after the
    # fourth one-second epoch; the fit stops once another would overrun 8 s.
    assert [r["phase"] for r in model.history_] == ["gan"] * 4 + ["refine"] * 4


def test_auto_defaults_scale_with_table_size():
    small = TabularConfig().resolved(800)
    large = TabularConfig().resolved(50_000)
    assert (large.batch_size, large.epochs, large.pac) == (500, 300, 10)
    assert small.batch_size < 500 and small.batch_size % small.pac == 0
    assert small.epochs * (800 // small.batch_size) >= 8000


def test_trained_model_beats_independent_columns_on_pair_trends():
    """Quality floor on a real table: a short fit learns dependence between columns."""
    from syngen import datasets
    from syngen.report import independent_baseline, quality_scores

    train = datasets.load("adult_sample", split="train")
    test = datasets.load("adult_sample", split="test")
    model = TabularGAN(epochs=300, seed=0).fit(train)
    meta = model.transformer_.metadata_
    ours = quality_scores(test, model.sample(len(test), seed=0), meta)
    baseline = quality_scores(test, independent_baseline(train, len(test), seed=0), meta)
    assert ours["column_pair_trends"] > baseline["column_pair_trends"]
    assert ours["column_shapes"] > 0.8


def _rewrite_header(path, **changes):
    """Rewrite the JSON header of a model file in place (a file as another writer left it)."""
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(path), "pt") as f:
        header = json.loads(f.metadata()["syngen-model"])
    header.update(changes)
    save_file(load_file(str(path)), str(path), metadata={"syngen-model": json.dumps(header)})


def test_a_file_of_the_older_format_is_refused_with_the_fix(fitted, tmp_path):
    path = tmp_path / "old.syngen"
    fitted.save(path)
    _rewrite_header(path, format_version=1)
    with pytest.raises(
        ModelFileError, match=r"older syngen \(model format 1\).*fit the model again"
    ):
        syngen.load(path)


def test_the_model_kind_decides_the_class_and_an_unknown_kind_is_refused(fitted, tmp_path):
    from syngen.persistence import MODEL_KINDS

    assert MODEL_KINDS == {"tabular": TabularGAN, "timeseries": syngen.DoppelGANger}
    path = tmp_path / "model.syngen"
    fitted.save(path)
    assert type(syngen.load(path)) is TabularGAN
    with pytest.raises(ModelFileError, match="not a timeseries one"):
        syngen.DoppelGANger.load(path)
    _rewrite_header(path, kind="diffusion")
    with pytest.raises(ModelFileError, match="unknown model kind 'diffusion'"):
        syngen.load(path)


def test_a_fit_leaves_the_callers_random_streams_alone(mixed):
    torch.manual_seed(123)
    expected = torch.rand(5)
    torch.manual_seed(123)
    TabularGAN(epochs=1, batch_size=100, seed=0).fit(mixed)
    assert torch.equal(torch.rand(5), expected)


def test_sampling_leaves_no_thread_behind(fitted):
    import threading

    def noise_threads():
        return [t for t in threading.enumerate() if t.name.startswith("syngen-noise")]

    fitted.sample(3000, seed=0)
    assert not noise_threads()
    chunks = fitted.iter_samples(30_000, seed=0, batch_size=1000)
    next(chunks)
    assert noise_threads()  # while a stream is open, its source has one
    chunks.close()
    assert not noise_threads()


@pytest.mark.parametrize("header", [[1, 2], {"format_version": True}, {"format_version": "1"},
                                    {"format_version": 0}, {"format_version": -1},
                                    {"format": "pickle"}])  # fmt: skip
def test_a_forged_header_is_a_model_file_error(fitted, tmp_path, header):
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    path = tmp_path / "model.syngen"
    fitted.save(path)
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    real = json.loads(meta["syngen-model"])
    forged = header if isinstance(header, list) else {**real, **header}
    save_file(load_file(str(path)), str(path), metadata={"syngen-model": json.dumps(forged)})
    with pytest.raises(ModelFileError, match="not a JSON object|positive integer|format must be"):
        syngen.load(path)


def test_the_command_line_starts_without_the_heavy_libraries():
    import subprocess
    import sys

    heavy = "{'torch', 'sklearn', 'sdmetrics', 'pandas'}"
    code = f"import sys, syngen.cli; print(sorted({heavy} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
