import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import syngen
from syngen import DoppelGANger, ModelFileError, TimeSeriesConfig
from syngen.timeseries.features import StepFeatureEncoder
from syngen.timeseries.sequences import Sequences

SMALL = dict(
    attribute_dims=(32, 32),
    feature_hidden=32,
    discriminator_dims=(64, 64),
    aux_discriminator_dims=(64, 64),
    batch_size=20,
    device="cpu",
)


def make_sines(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Noisy sines: lengths 5 or 20, an amplitude and a category per entity, a numeric feature
    with nulls, a categorical feature with nulls, hourly datetime steps."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        length = int(rng.choice([5, 20]))
        amp = float(np.round(rng.uniform(1, 5), 2))
        t = np.arange(length)
        y = amp * np.sin(t / 3 + rng.uniform(0, 6)) + rng.normal(0, 0.1, length)
        y[rng.random(length) < 0.05] = np.nan
        frames.append(
            pd.DataFrame(
                {
                    "sensor": 100 + i,
                    "ts": pd.Timestamp("2024-01-01")
                    + pd.Timedelta(hours=int(rng.integers(48)))
                    + pd.to_timedelta(t, unit="h"),
                    "amp": amp,
                    "site": rng.choice(["north", "south"], p=[0.7, 0.3]),
                    "y": y,
                    "state": rng.choice(["on", "off", None], length, p=[0.6, 0.3, 0.1]),
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    return df.sample(frac=1, random_state=0).reset_index(drop=True)  # order must not matter


@pytest.fixture(scope="module")
def sines() -> pd.DataFrame:
    return make_sines()


@pytest.fixture(scope="module")
def model(sines) -> DoppelGANger:
    return DoppelGANger(epochs=150, seed=0, **SMALL).fit(sines, entity="sensor", time="ts")


def _lengths(df: pd.DataFrame, entity: str) -> pd.Series:
    return df.groupby(entity).size()


# ---- long <-> arrays ----------------------------------------------------------------------
def test_long_to_arrays_round_trip(sines):
    seq = Sequences.from_long(sines, "sensor", "ts")
    assert list(seq.attributes.columns) == ["amp", "site"]  # detected: constant per entity
    assert set(seq.features) == {"y", "state"}
    assert len(seq.entities) == 60 and seq.max_len == 20
    assert set(seq.lengths) == {5, 20}
    assert (seq.steps == pd.Timedelta(hours=1).value).all()
    back = seq.to_long()
    expected = sines.sort_values(["sensor", "ts"]).reset_index(drop=True)
    pdt.assert_frame_equal(back, expected)


def test_integer_time_and_window_cut_one_series():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"step": np.arange(103, dtype="int32"), "x": rng.normal(size=103)})
    seq = Sequences.from_long(df.iloc[::-1], "window", "step", window=10)
    assert len(seq.entities) == 11 and list(seq.lengths[:10]) == [10] * 10 and seq.lengths[-1] == 3
    back = seq.to_long()
    assert list(back.columns) == ["window", "step", "x"]
    pdt.assert_frame_equal(back[["step", "x"]], df)
    assert back["step"].dtype == "int32"


@pytest.mark.parametrize("per_entity", [True, False])
def test_feature_encoding_scales_and_flags_lengths(sines, per_entity):
    seq = Sequences.from_long(sines, "sensor", "ts")
    enc = StepFeatureEncoder().fit(seq, {"y": "numerical", "state": "categorical"}, per_entity)
    feats, additional = enc.encode(seq)
    n_lengths = seq.lengths.max() - seq.lengths.min() + 1
    assert feats.shape == (60, 20, enc.dim_)
    assert additional.shape == (60, 2 * per_entity + n_lengths)
    length = additional[:, -n_lengths:]  # the length one-hot closes the additional attributes
    assert (length.argmax(axis=1) + seq.lengths.min() == seq.lengths).all()
    assert feats.min() >= -1 and feats.max() <= 1 and additional.min() >= -1
    flag = feats[:, :, -2:]
    assert (flag.sum(axis=2) == (np.arange(20) < seq.lengths[:, None])).all()
    assert (flag[np.arange(60), seq.lengths - 1, 1] == 1).all()  # "stop" on the last real step
    out = enc.decode(feats, additional, seq.lengths)
    np.testing.assert_allclose(out["y"], seq.features["y"], atol=1e-5)
    assert (out["state"] == seq.features["state"]).all()
    back = StepFeatureEncoder.from_dict(enc.to_dict())
    np.testing.assert_array_equal(back.decode(feats, additional, seq.lengths)["y"], out["y"])


def test_auto_normalization_is_chosen_per_column():
    """Per-entity scaling for a column whose entities sit at different levels (prices over
    years), global scaling for one whose entities all span its range (sines)."""
    rng = np.random.default_rng(0)
    n, t = 40, 30
    level = np.repeat(rng.uniform(100, 1000, n), t)
    df = pd.DataFrame(
        {
            "id": np.repeat(np.arange(n), t),
            "step": np.tile(np.arange(t), n),
            "price": level + rng.normal(0, 5, n * t),
            "wave": np.sin(np.tile(np.arange(t), n) / 3 + np.repeat(rng.uniform(0, 6, n), t)),
        }
    )
    seq = Sequences.from_long(df, "id", "step")
    enc = StepFeatureEncoder().fit(seq, {"price": "numerical", "wave": "numerical"})
    assert enc.per_entity_ == ["price"] and enc.additional_dim == 2


def test_per_entity_levels_are_encoded_on_uniform_decorrelated_axes():
    """Skewed, co-moving levels (two prices over years) become additional attributes that fill
    [-1, 1] evenly, and decode back exactly; a file written before this encoding (linear
    min/max scaling, no rotation) still decodes as it was written."""
    rng = np.random.default_rng(0)
    n, t = 200, 12
    level = np.exp(rng.normal(5, 1, n))  # log-normal: most entities low, a long upper tail
    steps = np.tile(np.arange(t), n)
    df = pd.DataFrame(
        {
            "id": np.repeat(np.arange(n), t),
            "step": steps,
            "a": np.repeat(level, t) + rng.normal(0, 1, n * t),
            "b": np.repeat(2 * level + 50, t) + rng.normal(0, 1, n * t),
        }
    )
    seq = Sequences.from_long(df, "id", "step")
    enc = StepFeatureEncoder().fit(seq, {"a": "numerical", "b": "numerical"}, per_entity=True)
    feats, additional = enc.encode(seq)
    assert additional.shape == (n, 4)
    assert np.allclose(additional.min(axis=0), -1) and np.allclose(additional.max(axis=0), 1)
    assert np.abs(np.median(additional, axis=0)).max() < 0.05  # quantiles: no pile at -1
    out = StepFeatureEncoder.from_dict(enc.to_dict()).decode(feats, additional, seq.lengths)
    for name in ("a", "b"):
        np.testing.assert_allclose(out[name], seq.features[name], rtol=1e-5)  # float32

    # Format 1 encoders without quantiles were guessed at; now they are refused (the model file
    # refuses format 1 as a whole, with the fix: refit).
    legacy = enc.to_dict()
    del legacy["quantiles"], legacy["rotation"]
    with pytest.raises(KeyError, match="quantiles"):
        StepFeatureEncoder.from_dict(legacy)


# ---- fit and sample -----------------------------------------------------------------------
def test_sample_columns_dtypes_ids_attributes_and_time(sines, model):
    out = model.sample(50, seed=0)
    assert list(out.columns) == list(sines.columns)
    pdt.assert_series_equal(out.dtypes, sines.dtypes)
    assert out["sensor"].nunique() == 50
    assert out["sensor"].min() > sines["sensor"].max()  # new ids, after the real ones
    per_entity = out.groupby("sensor")
    assert (per_entity[["amp", "site"]].nunique(dropna=False) == 1).all().all()
    assert per_entity["ts"].apply(lambda t: t.is_monotonic_increasing and t.is_unique).all()
    steps = per_entity["ts"].diff().dropna()
    assert (steps == pd.Timedelta(hours=1)).all()
    assert set(out["site"]) <= {"north", "south"}
    assert set(out["state"].dropna()) <= {"on", "off"}
    assert out["amp"].between(1, 5).all()


def test_variable_lengths_are_learned(model):
    lengths = _lengths(model.sample(200, seed=0), "sensor")
    assert lengths.between(5, 20).all()
    assert lengths.nunique() > 1
    # Both real lengths (5 and 20) show up in numbers.
    assert (lengths <= 8).mean() > 0.1 and (lengths >= 17).mean() > 0.1


def test_sample_is_deterministic_under_a_seed(model):
    pdt.assert_frame_equal(model.sample(20, seed=3), model.sample(20, seed=3))
    assert not model.sample(20, seed=3).equals(model.sample(20, seed=4))


def test_fit_is_deterministic_under_a_seed(sines):
    a = DoppelGANger(epochs=3, seed=1, **SMALL).fit(sines, entity="sensor", time="ts")
    b = DoppelGANger(epochs=3, seed=1, **SMALL).fit(sines, entity="sensor", time="ts")
    pdt.assert_frame_equal(a.sample(10, seed=0), b.sample(10, seed=0))


@pytest.mark.parametrize(
    "options",
    [
        {"sample_len": 4, "auto_normalize": False, "difference_weight": 0.0},
        {"sample_len": 3, "auto_normalize": True, "difference_weight": 5.0},
    ],
)
def test_generator_variants_fit_sample_and_reload(sines, tmp_path, options):
    """Several steps per cell (sample_len, not dividing the longest length), both scalings, with
    and without the step differences shown to the critic."""
    model = DoppelGANger(epochs=3, seed=2, **SMALL, **options)
    model.fit(sines, entity="sensor", time="ts")
    out = model.sample(30, seed=0)
    lengths = _lengths(out, "sensor")
    assert len(lengths) == 30 and lengths.between(5, 20).all()
    assert out["y"].notna().any() and out["state"].notna().any()
    model.save(tmp_path / "m.syngen")
    pdt.assert_frame_equal(DoppelGANger.load(tmp_path / "m.syngen").sample(30, seed=0), out)


def test_save_load_round_trip(model, tmp_path):
    path = tmp_path / "ts.syngen"
    model.save(path)
    for loaded in (DoppelGANger.load(path), syngen.load(path)):
        assert isinstance(loaded, DoppelGANger)
        pdt.assert_frame_equal(loaded.sample(25, seed=7), model.sample(25, seed=7))


def test_start_times_follow_the_real_ones_without_storing_them(sines, model):
    assert "starts" not in model.schema_ and len(model.schema_["start_quantiles"]) == 101
    real_starts = sines.groupby("sensor")["ts"].min()
    starts = model.sample(300, seed=2).groupby("sensor")["ts"].min()
    assert starts.between(real_starts.min(), real_starts.max()).all()
    # On the data's hourly grid, and spread like the real starts (not one value).
    assert ((starts - real_starts.min()) % pd.Timedelta(hours=1) == pd.Timedelta(0)).all()
    assert starts.nunique() > 10
    assert abs(
        (starts - real_starts.min()).mean() - (real_starts - real_starts.min()).mean()
    ) < pd.Timedelta(hours=8)


def test_tabular_loader_refuses_a_timeseries_file(model, tmp_path):
    path = tmp_path / "ts.syngen"
    model.save(path)
    with pytest.raises(ModelFileError, match="timeseries"):
        syngen.TabularGAN.load(path)


def test_conditional_sampling_on_an_attribute(model):
    out = model.sample(30, attributes={"site": "south"}, seed=0)
    assert out["sensor"].nunique() == 30
    assert (out["site"] == "south").all()
    with pytest.raises(ValueError, match="not seen"):
        model.sample(5, attributes={"site": "west"})
    with pytest.raises(ValueError, match="only attributes"):
        model.sample(5, attributes={"y": 1.0})


def test_sample_zero_entities_keeps_schema(sines, model):
    out = model.sample(0)
    assert len(out) == 0 and list(out.columns) == list(sines.columns)
    pdt.assert_series_equal(out.dtypes, sines.dtypes)


def test_window_fit_on_one_integer_series():
    rng = np.random.default_rng(0)
    t = np.arange(240)
    df = pd.DataFrame({"t": t, "load": np.sin(t / 5) + rng.normal(0, 0.05, 240)})
    model = DoppelGANger(epochs=2, seed=0, sample_len=5, **SMALL)  # 24 steps: 5 cells of 5
    model.fit(df, entity="window", time="t", window=24)
    out = model.sample(4, seed=0)
    assert list(out.columns) == ["window", "t", "load"]
    assert out["t"].dtype == df["t"].dtype and out["window"].nunique() == 4
    assert (out.groupby("window")["t"].diff().dropna() == 1).all()


def test_uncommon_dtypes_one_row_entities_and_metadata_override():
    rng = np.random.default_rng(0)
    frames = []
    for i in range(30):
        n = int(rng.integers(1, 8))  # one-row entities are allowed
        start = pd.Timestamp("2024-03-01", tz="Europe/Paris") + pd.Timedelta(days=i % 5)
        counts = rng.integers(0, 9, n).astype(float)
        counts[rng.random(n) < 0.2] = np.nan
        frames.append(
            pd.DataFrame(
                {
                    "who": f"u{i}",
                    "t": pd.date_range(start, periods=n, freq="D"),
                    "cnt": pd.array(counts, dtype="Int64"),
                    "flag": rng.random(n) < 0.5,
                    "f32": rng.normal(size=n).astype("float32"),
                }
            )
        )
    df = pd.concat(frames, ignore_index=True).astype({"who": "string"})
    meta = syngen.Metadata.detect(df, overrides={"cnt": "categorical"})
    model = DoppelGANger(epochs=2, seed=0, sample_len=3, **SMALL)
    model.fit(df, entity="who", time="t", attributes=[], metadata=meta)
    assert model.features_.numeric_ == ["f32"] and "cnt" in model.features_.categories_
    out = model.sample(6, seed=0)
    pdt.assert_series_equal(out.dtypes, df.dtypes)
    assert out["who"].str.startswith("syn-").all()


# ---- errors -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "mutate, kwargs, match",
    [
        (lambda d: d.iloc[:0], {}, "no rows"),
        (lambda d: d.drop(columns="sensor"), {}, "entity column 'sensor'"),
        (lambda d: d.drop(columns="ts"), {}, "time column 'ts'"),
        (lambda d: d, {"attributes": ["amp", "y"]}, "attribute 'y' varies within entity"),
        (lambda d: d, {"attributes": ["nope"]}, "'nope' is not a column"),
        (lambda d: pd.concat([d, d.iloc[:1]]), {}, "has two rows at ts="),
        (lambda d: d.drop_duplicates("sensor"), {}, "nothing sequential to learn"),
        (lambda d: d.assign(ts=d["ts"].astype(str)), {}, "convert it with pd.to_datetime"),
        (lambda d: d.assign(sensor=d["sensor"].where(d.index > 0)), {}, "'sensor' has nulls"),
    ],
)
def test_bad_input_errors(sines, mutate, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        DoppelGANger(epochs=1).fit(mutate(sines), entity="sensor", time="ts", **kwargs)


def test_config_errors_and_unfitted_model():
    with pytest.raises(TypeError, match="unknown DoppelGANger option"):
        DoppelGANger(epoch=3)
    with pytest.raises(ValueError, match="sample_len"):
        TimeSeriesConfig(sample_len=0)
    with pytest.raises(ValueError, match="difference_weight"):
        TimeSeriesConfig(difference_weight=-1.0)
    with pytest.raises(ValueError, match="ema_decay"):
        TimeSeriesConfig(ema_decay=1.0)
    with pytest.raises(RuntimeError, match="not fitted"):
        DoppelGANger().sample(3)


def test_a_window_that_leaves_one_sequence_is_refused():
    df = pd.DataFrame({"step": np.arange(30), "x": np.arange(30.0)})
    with pytest.raises(ValueError, match="window=20 cuts the series' 30 rows into fewer than two"):
        Sequences.from_long(df, "window", "step", window=20)


def test_sampling_streams_entities_in_batches_with_ids_running_on(sines, tmp_path):
    model = DoppelGANger(epochs=1, seed=0).fit(sines, entity="sensor", time="ts")
    frames = list(model.iter_samples(25, seed=0, batch_size=10))
    assert [f["sensor"].nunique() for f in frames] == [10, 10, 5]
    ids = pd.concat(frames)["sensor"]
    assert ids.nunique() == 25 and not set(frames[0]["sensor"]) & set(frames[1]["sensor"])
    rows = model.sample_to(tmp_path / "s.parquet", 25, seed=0, batch_size=10)
    written = pd.read_parquet(tmp_path / "s.parquet")
    assert rows == len(written) and written["sensor"].nunique() == 25
    pdt.assert_frame_equal(written, model.sample(25, seed=0, batch_size=10))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.sample(3, batch_size=0)
