"""The report's scores mean something: orderings on a real bundled table, not fixed numbers.

The Adult sample is cut into train / holdout / another real sample. "Synthetic" tables with a
known answer are scored against it: the training rows themselves (a perfect copy), another
real sample (what a generator that memorized nothing looks like), each column resampled on
its own, and uniform noise.
"""

import base64
import json
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import make_mixed

from syngen import datasets
from syngen.cli import main
from syngen.report import PrivacyThresholds, Report, ReportConfig, evaluate, independent_baseline


def _noise(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Each numeric column uniform over its range, each category uniform over its levels."""
    rng = np.random.default_rng(seed)
    out = {}
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_numeric_dtype(s):
            out[c] = rng.uniform(s.min(), s.max(), len(df)).round()
        else:
            out[c] = rng.choice(s.dropna().unique(), len(df))
    return pd.DataFrame(out)


@pytest.fixture(scope="module")
def split():
    df = datasets.load("adult_sample")
    idx = np.random.default_rng(0).permutation(len(df))
    part = [df.iloc[i].reset_index(drop=True) for i in (idx[:1500], idx[1500:3000], idx[3000:])]
    return dict(zip(("train", "holdout", "other"), part, strict=True))


@pytest.fixture(scope="module")
def reports(split):
    train, holdout = split["train"], split["holdout"]
    synthetic = {
        "identity": train,
        "other": split["other"],
        "independent": independent_baseline(train, 1000, seed=0),
        "noise": _noise(train),
    }
    return {
        name: evaluate(train, syn, holdout=holdout, target="income", sensitive="marital_status")
        for name, syn in synthetic.items()
    }


def test_identity_copy_is_faithful_and_fails_every_privacy_check(reports):
    r = reports["identity"]
    s = r.scores
    assert s["fidelity.quality"] > 0.99
    assert s["fidelity.quality"] >= max(x.scores["fidelity.quality"] for x in reports.values())
    assert s["privacy.closer_to_train_share"] > 0.95
    assert s["privacy.exact_copy_rate"] > 0.95
    assert s["privacy.near_copy_share"] > 0.9
    assert s["privacy.membership_auc"] > 0.95
    assert s["privacy.nndr_median"] < 0.1
    assert s["privacy.attribute_inference_excess"] > 0.1
    assert r.privacy_passed is False
    assert not any(v["passed"] for v in r.verdicts)
    # Twins with opposite labels are kept in one fold: a copy reads as chance, not below it.
    assert abs(r.details["detection"]["detection_auc_raw"] - 0.5) < 0.02


def test_another_real_sample_is_faithful_and_passes_privacy(reports):
    s = reports["other"].scores
    assert s["fidelity.quality"] > reports["independent"].scores["fidelity.quality"]
    assert s["fidelity.detection_auc"] < 0.6
    assert abs(s["privacy.closer_to_train_share"] - 0.5) < 0.06
    assert s["privacy.closer_to_train_expected"] == 0.5
    assert s["privacy.exact_copy_rate"] <= s["privacy.exact_copy_baseline"] + 0.01
    assert abs(s["privacy.near_copy_share"] - s["privacy.near_copy_baseline"]) < 0.03
    assert abs(s["privacy.membership_auc"] - 0.5) < 0.05
    assert reports["other"].privacy_passed is True
    assert 0.9 < s["utility.roc_auc_ratio"] < 1.1


def test_independent_columns_keep_shapes_but_lose_pairs_and_are_detected(reports):
    ind, other = reports["independent"].scores, reports["other"].scores
    assert ind["fidelity.column_shapes"] > other["fidelity.column_shapes"] - 0.03
    assert ind["fidelity.column_pair_trends"] < other["fidelity.column_pair_trends"] - 0.1
    assert ind["fidelity.detection_auc"] > other["fidelity.detection_auc"] + 0.2
    assert ind["utility.tstr_roc_auc"] < other["utility.tstr_roc_auc"] - 0.1


def test_noise_scores_lowest(reports):
    noise = reports["noise"].scores
    for name in ("identity", "other", "independent"):
        s = reports[name].scores
        assert noise["fidelity.column_shapes"] < s["fidelity.column_shapes"] - 0.2
        assert noise["fidelity.quality"] < s["fidelity.quality"]
    assert noise["fidelity.detection_auc"] > 0.95


def test_copies_are_found_even_when_train_is_large_and_queries_few(split):
    # Only 200 synthetic rows are looked up, but against every training row: all are copies.
    train = pd.concat([split["train"], split["other"]], ignore_index=True)
    r = evaluate(train, train, holdout=split["holdout"], config=ReportConfig(privacy_queries=200))
    assert r.scores["privacy.closer_to_train_share"] > 0.95
    assert r.scores["privacy.closer_to_train_expected"] == pytest.approx(2500 / 4000)
    assert r.scores["privacy.membership_auc"] > 0.95


def test_partial_copying_is_measured_in_proportion(split):
    train, other = split["train"], split["other"]
    half = pd.concat([train.iloc[:500], other.iloc[:500]], ignore_index=True)
    s = evaluate(train, half, holdout=split["holdout"]).scores
    assert 0.4 < s["privacy.exact_copy_rate"] < 0.6
    assert 0.4 < s["privacy.near_copy_share"] < 0.65


def test_unequal_train_and_holdout_expect_their_size_ratio(split):
    s = evaluate(split["train"], split["other"], holdout=split["holdout"].iloc[:500]).scores
    assert s["privacy.closer_to_train_expected"] == pytest.approx(0.75)
    assert abs(s["privacy.closer_to_train_share"] - 0.75) < 0.07


def test_thresholds_can_be_overridden(split):
    strict = ReportConfig(thresholds=PrivacyThresholds(membership_auc=0.0))
    r = evaluate(split["train"], split["other"], holdout=split["holdout"], config=strict)
    verdict = {v["score"]: v for v in r.verdicts}["membership_auc"]
    assert not verdict["passed"] and verdict["text"].startswith("FAIL")
    assert r.sampling["thresholds"]["membership_auc"] == 0.0


def test_same_seed_same_scores_and_other_tasks(split):
    train, other = split["train"], split["other"]
    a = evaluate(train, other, target="age", sensitive=None, config=ReportConfig(seed=3))
    b = evaluate(train, other, target="age", sensitive=None, config=ReportConfig(seed=3))
    assert a.scores == b.scores
    assert "utility.tstr_r2" in a.scores and a.scores["utility.trtr_r2"] > 0
    m = evaluate(train, other, target="race").scores
    assert 0 <= m["utility.tstr_macro_f1"] <= 1
    numeric = evaluate(train, other, holdout=split["holdout"], sensitive="hours_per_week")
    assert abs(numeric.scores["privacy.attribute_inference_excess"]) < 0.05


def test_without_holdout_privacy_is_not_judged(split):
    r = evaluate(split["train"], split["train"])
    assert r.verdicts == [] and r.privacy_passed is None
    assert r.scores["privacy.exact_copy_rate"] == 1.0
    assert "membership_auc" not in " ".join(r.scores)


def test_json_round_trip_is_versioned_and_strict(tmp_path, reports):
    r = reports["other"]
    r.to_json(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["schema"] == "syngen-report" and data["version"] == 1
    assert data["sampling"]["seed"] == 0 and data["sampling"]["privacy_queries"] == 5000
    assert Report.from_json(tmp_path / "r.json").to_dict() == r.to_dict()
    (tmp_path / "foreign.json").write_text('{"hello": 1}')
    with pytest.raises(ValueError, match="not a syngen report"):
        Report.from_json(tmp_path / "foreign.json")


def test_html_is_self_contained_and_shows_every_section(tmp_path, reports, split):
    reports["identity"].to_html(tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "<link" not in page
    for heading in (
        "Privacy",
        "Utility",
        "Fidelity",
        "Distance to closest record",
        "Associations between columns",
    ):
        assert f">{heading}<" in page
    assert "FAIL" in page and "may reveal training records" in page
    for column in split["train"].columns:
        assert column in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) >= split["train"].shape[1] + 3
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)


def _browser():
    return next(
        (
            shutil.which(b)
            for b in ("chromium", "chromium-browser", "google-chrome")
            if shutil.which(b)
        ),
        None,
    )


@pytest.mark.skipif(_browser() is None, reason="no headless Chromium here")
def test_html_renders_in_headless_chromium(tmp_path, reports):
    import matplotlib.image

    reports["other"].to_html(tmp_path / "r.html")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            _browser(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1280,1600",
            f"--screenshot={shot}",
            (tmp_path / "r.html").as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (1600, 1280)
    # A rendered page, not a blank one: many distinct colours (text, cards, plots).
    assert len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 50


def test_bad_inputs_name_the_problem(split):
    train = split["train"]
    with pytest.raises(ValueError, match=r"lacks the real table's columns \['age'\]"):
        evaluate(train, train.drop(columns=["age"]))
    with pytest.raises(ValueError, match=r"columns the real table does not: \['Unnamed: 0'\]"):
        evaluate(train, train.assign(**{"Unnamed: 0": 1}))
    with pytest.raises(ValueError, match="column 'age' of synthetic holds values that are not"):
        evaluate(train, train.assign(age="old"))
    with pytest.raises(ValueError, match="column 'age' of holdout holds inf"):
        evaluate(train, train, holdout=train.assign(age=np.inf))
    with pytest.raises(ValueError, match="synthetic has no rows"):
        evaluate(train, train.iloc[:0])
    with pytest.raises(ValueError, match="target column 'nope' is not in the real table"):
        evaluate(train, train, target="nope")
    with pytest.raises(ValueError, match="sensitive needs a holdout"):
        evaluate(train, train, sensitive="sex")
    with pytest.raises(TypeError, match="synthetic must be a pandas DataFrame"):
        evaluate(train, train.to_numpy())
    with pytest.raises(ValueError, match="quality_rows must be an integer"):
        ReportConfig(quality_rows=0)


def test_cli_report_from_csv_matches_the_api(tmp_path, split):
    train, other, holdout = split["train"], split["other"], split["holdout"]
    for name, df in (("train", train), ("other", other), ("holdout", holdout)):
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    result = CliRunner().invoke(
        main,
        [
            "report",
            str(tmp_path / "train.csv"),
            str(tmp_path / "other.csv"),
            "--holdout",
            str(tmp_path / "holdout.csv"),
            "--target",
            "income",
            "-o",
            str(tmp_path / "r.html"),
            "--json",
            str(tmp_path / "r.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output and "quality" in result.output
    assert (tmp_path / "r.html").stat().st_size > 10_000
    from_csv = Report.from_json(tmp_path / "r.json").scores
    from_frames = evaluate(train, other, holdout=holdout, target="income").scores
    assert from_csv == pytest.approx(from_frames)


def test_cli_strict_exits_2_when_privacy_fails_and_writes_nothing_on_error(tmp_path, split):
    split["train"].to_csv(tmp_path / "train.csv", index=False)
    split["holdout"].to_csv(tmp_path / "holdout.csv", index=False)
    args = [
        "report",
        str(tmp_path / "train.csv"),
        str(tmp_path / "train.csv"),
        "--holdout",
        str(tmp_path / "holdout.csv"),
        "-o",
        str(tmp_path / "r.html"),
    ]
    result = CliRunner().invoke(main, [*args, "--strict"])
    assert result.exit_code == 2 and "FAIL" in result.output
    lenient = CliRunner().invoke(
        main, [*args, "--json", str(tmp_path / "r.json"), "--threshold", "membership_auc=1.0"]
    )
    assert lenient.exit_code == 0, lenient.output
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["sampling"]["thresholds"]["membership_auc"] == 1.0
    assert {v["score"]: v["passed"] for v in saved["verdicts"]}["membership_auc"] is True
    typo = CliRunner().invoke(main, [*args, "--threshold", "membership=0.5"])
    assert typo.exit_code == 2 and "membership_auc" in typo.output
    bad = CliRunner().invoke(main, [*args[:-1], str(tmp_path / "bad.html"), "--target", "x"])
    assert bad.exit_code == 1 and "target column 'x'" in bad.output
    assert "Traceback" not in bad.output and not (tmp_path / "bad.html").exists()


def test_mixed_kinds_nulls_and_an_all_null_synthetic_column(mixed):
    other, holdout = make_mixed(400, seed=1), make_mixed(300, seed=2)
    good = evaluate(mixed, other, holdout=holdout, target="group", sensitive="amount")
    assert good.privacy_passed is True
    assert good.inputs["excluded_columns"] == ["customer_id"]
    labels = good.details["distributions"]["city"]["labels"]
    assert "(null)" in labels and not any("\x00" in str(x) for x in labels)
    broken = evaluate(mixed, other.assign(amount=np.nan, group="zzz"), holdout=holdout)
    assert broken.details["coverage"]["missing"]["amount"] < 0.2
    assert broken.scores["fidelity.missing_values"] < good.scores["fidelity.missing_values"]
    assert broken.details["coverage"]["category"]["group"] == 0.0


def test_small_tables_do_not_fail_on_sampling_noise(mixed):
    # One datetime column with 365 values: most rows, real or not, repeat a training row.
    cols = ["opened"]
    r = evaluate(mixed[cols], make_mixed(400, seed=1)[cols], holdout=make_mixed(300, seed=2)[cols])
    assert r.scores["privacy.exact_copy_baseline"] > 0.5
    assert r.privacy_passed is True


def test_a_tiny_holdout_and_an_emptied_column_are_warned_about(tmp_path):
    from syngen import evaluate
    from syngen.report import Report

    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.normal(size=300), "g": rng.choice(["a", "b"], 300)})
    synthetic = real.assign(x=np.nan)
    report = evaluate(real, synthetic, holdout=real.iloc[:3])
    assert any("the holdout has 3 rows" in w for w in report.warnings)
    assert any("'x' is all null" in w for w in report.warnings)
    assert ("warning", f"WARN: {report.warnings[0]}", False) in report.summary()
    report.to_json(tmp_path / "r.json")
    assert Report.from_json(tmp_path / "r.json").warnings == report.warnings
    fine = evaluate(real.iloc[:200], real.iloc[200:], holdout=real.iloc[200:])
    assert fine.warnings == []


def test_fidelity_and_utility_get_verdicts_that_tell_a_copy_from_noise(reports, tmp_path):
    """A real sample passes both; uniform noise fails both; the thresholds can be moved."""
    by = {n: {v["family"]: v for v in r.quality_verdicts} for n, r in reports.items()}
    assert by["other"]["fidelity"]["passed"] and by["other"]["utility"]["passed"]
    assert not by["noise"]["fidelity"]["passed"] and not by["noise"]["utility"]["passed"]
    assert by["noise"]["utility"]["text"].startswith("FAIL: a model trained on the synthetic")
    assert by["noise"]["utility"]["baseline"] == reports["noise"].scores["utility.trtr_roc_auc"]
    # Separate from the privacy verdicts: privacy_passed reads those alone.
    assert reports["other"].privacy_passed is True
    assert any("overall quality" in line[1] for line in reports["noise"].summary())
    path = tmp_path / "r.json"
    reports["noise"].to_json(path)
    assert Report.from_json(path).quality_verdicts == reports["noise"].quality_verdicts
    page = tmp_path / "r.html"
    reports["noise"].to_html(page)
    assert "Utility: FAIL" in page.read_text()


def test_quality_thresholds_move_the_verdicts(split):
    from syngen.report import QualityThresholds

    train, holdout = split["train"], split["holdout"]
    strict = ReportConfig(quality_thresholds=QualityThresholds(quality=0.999, utility_gap=0.0))
    r = evaluate(train, split["other"], holdout=holdout, target="income", config=strict)
    assert not any(v["passed"] for v in r.quality_verdicts if v["family"] == "fidelity")
    assert r.sampling["thresholds"]["quality"] == 0.999
