"""Time-series scores order what they should: a real sample < shuffled steps < noise."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from syngen import evaluate
from syngen.cli import main
from syngen.report import ReportConfig

FAST = ReportConfig(series_iterations=500)


def _sines(n: int, seed: int, steps: int = 24) -> pd.DataFrame:
    """TimeGAN's Sines, one feature: random amplitude (an attribute), frequency and phase."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "sensor": i,
                    "ts": t,
                    "amp": np.round(amp, 2),
                    "y": amp * np.sin(rng.uniform(0.1, 0.5) * t + rng.uniform(0, 6))
                    + rng.normal(0, 0.1, steps),
                }
            )
            for i, amp in enumerate(rng.uniform(1, 5, n))
        ],
        ignore_index=True,
    )


def _shuffle_steps(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Each entity's feature values in a random order: same values, no temporal structure."""
    rng = np.random.default_rng(seed)
    out = df.sort_values(["sensor", "ts"]).reset_index(drop=True)
    out["y"] = out.groupby("sensor")["y"].transform(lambda s: s.to_numpy()[rng.permutation(len(s))])
    return out


@pytest.fixture(scope="module")
def series():
    real, other = _sines(120, seed=0), _sines(120, seed=1)
    return {
        "real": real,
        "other": evaluate(real, other, entity="sensor", time="ts", config=FAST),
        "shuffled": evaluate(real, _shuffle_steps(other), entity="sensor", time="ts", config=FAST),
    }


def test_a_real_sample_beats_shuffled_steps(series):
    other, shuffled = series["other"].scores, series["shuffled"].scores
    assert other["series.discriminative"] < shuffled["series.discriminative"]
    assert shuffled["series.discriminative"] > 0.3
    assert other["series.acf_distance"] < shuffled["series.acf_distance"] - 0.2
    assert other["series.discriminative"] < 0.15
    assert other["series.predictive_mae"] < shuffled["series.predictive_mae"]
    # Shuffling steps keeps the lengths and the attributes.
    assert shuffled["series.length_ks"] == other["series.length_ks"] == 0
    assert shuffled["series.attribute_quality"] == other["series.attribute_quality"] > 0.8


def test_identity_has_no_length_or_autocorrelation_gap(series):
    real = series["real"]
    quick = ReportConfig(series_iterations=100)
    s = evaluate(real, real, entity="sensor", time="ts", config=quick).scores
    assert s["series.length_ks"] == 0 and s["series.acf_distance"] == 0
    assert s["series.discriminative"] < 0.15


def test_series_page_and_cli(tmp_path, series):
    series["other"].to_html(tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert ">Time series<" in page and "discriminative score" in page
    real = _sines(20, seed=2)
    real.to_csv(tmp_path / "real.csv", index=False)
    _shuffle_steps(real).to_csv(tmp_path / "syn.csv", index=False)
    r = CliRunner().invoke(
        main,
        [
            "report",
            str(tmp_path / "real.csv"),
            str(tmp_path / "syn.csv"),
            "--entity-col",
            "sensor",
            "--time-col",
            "ts",
            "-o",
            str(tmp_path / "cli.html"),
            "--json",
            str(tmp_path / "cli.json"),
            "--series-iterations",
            "40",
            "--sample-rows",
            "150",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "discriminative" in r.output
    # The report's time is bounded by the user: fewer GRU steps, run once; fewer rows.
    sampling = json.loads((tmp_path / "cli.json").read_text())["sampling"]
    assert sampling["series_iterations"] == 40 and sampling["series_repeats"] == 1
    assert sampling["quality_rows"] == sampling["detection_rows"] == 150


def test_series_inputs_are_checked(series):
    real = series["real"]
    with pytest.raises(ValueError, match="both entity and time"):
        evaluate(real, real, entity="sensor")
    with pytest.raises(ValueError, match="not supported for time series yet"):
        evaluate(real, real, entity="sensor", time="ts", target="site")
    with pytest.raises(ValueError, match="time column 'nope' is not in the real table"):
        evaluate(real, real, entity="sensor", time="nope")


def test_a_short_doppelganger_fit_on_sines_beats_step_shuffled_real_data(series):
    from syngen import DoppelGANger

    real = _sines(200, seed=0)
    model = DoppelGANger(
        epochs=100,
        seed=0,
        batch_size=50,
        attribute_dims=(64, 64),
        feature_hidden=64,
        discriminator_dims=(128, 128),
        aux_discriminator_dims=(64, 64),
    ).fit(real, entity="sensor", time="ts")
    ours = evaluate(real, model.sample(200, seed=1), entity="sensor", time="ts", config=FAST).scores
    baseline = evaluate(
        real, _shuffle_steps(_sines(200, seed=1)), entity="sensor", time="ts", config=FAST
    ).scores
    assert ours["series.discriminative"] < baseline["series.discriminative"]
    assert ours["series.acf_distance"] < baseline["series.acf_distance"] - 0.2
    assert ours["series.predictive_mae"] < baseline["series.predictive_mae"] / 2
