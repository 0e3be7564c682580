import json

import pandas as pd
import pytest
from click.testing import CliRunner

import syngen
from syngen.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory, mixed):
    d = tmp_path_factory.mktemp("cli")
    data = mixed.drop(columns=["opened"])  # CSV has no tz dtype; covered by the API tests
    data.to_csv(d / "data.csv", index=False)
    mixed.to_parquet(d / "data.parquet")
    return d


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


def test_fit_then_sample_csv_and_parquet(files, mixed):
    for name in ("data.csv", "data.parquet"):
        model = files / f"{name}.syngen"
        r = run(
            "fit",
            files / name,
            "-o",
            model,
            "--epochs",
            2,
            "--batch-size",
            100,
            "--seed",
            0,
            "--quiet",
        )
        assert r.exit_code == 0, r.output
        assert "model written to" in r.output
        out = files / f"{name}.out.parquet"
        r = run("sample", model, "-n", 321, "-o", out, "--seed", 1, "-c", "group=b")
        assert r.exit_code == 0, r.output
        rows = pd.read_parquet(out)
        assert len(rows) == 321 and (rows["group"] == "b").all()
    r = run(
        "sample",
        files / "data.csv.syngen",
        "-n",
        50,
        "-o",
        files / "o.csv",
        "-c",
        "visits=2",
        "-c",
        "active=true",
    )
    assert r.exit_code == 0, r.output
    rows = pd.read_csv(files / "o.csv")
    assert (rows["visits"] == 2).all() and rows["active"].all()


def test_metadata_override_file(files):
    meta = files / "meta.json"
    meta.write_text(json.dumps({"columns": {**{c: None for c in []}}}))
    kinds = {
        "customer_id": "id",
        "group": "categorical",
        "city": "categorical",
        "amount": "numerical",
        "age": "integer",
        "visits": "categorical",
        "active": "boolean",
        "flag": "boolean",
        "country": "constant",
    }
    meta.write_text(json.dumps({"columns": kinds}))
    r = run(
        "fit",
        files / "data.csv",
        "-o",
        files / "m2.syngen",
        "--epochs",
        1,
        "--metadata",
        meta,
        "--no-derive",
        "--quiet",
    )
    assert r.exit_code == 0, r.output
    # "active" is a function of "group": looked up by default, modelled with --no-derive.
    assert syngen.load(files / "m2.syngen").transformer_.derived_ == {}
    r = run(
        "fit",
        files / "data.csv",
        "-o",
        files / "m3.syngen",
        "--epochs",
        1,
        "--metadata",
        meta,
        "--quiet",
    )
    assert "active" in syngen.load(files / "m3.syngen").transformer_.derived_


@pytest.mark.parametrize(
    "args, message",
    [
        (["fit", "{d}/data.txt", "-o", "{d}/m"], "use a .csv or .parquet"),
        (["fit", "{d}/data.csv", "-o", "{d}/m", "--epochs", "0"], "--epochs"),
        (["sample", "{d}/data.csv", "-n", "5", "-o", "{d}/x.csv"], "not a syngen model file"),
        (
            ["sample", "{d}/data.csv.syngen", "-n", "5", "-o", "{d}/x.csv", "-c", "group=zzz"],
            "not seen",
        ),
        (
            ["sample", "{d}/data.csv.syngen", "-n", "5", "-o", "{d}/x.csv", "-c", "nogroup"],
            "COLUMN=VALUE",
        ),
        (["sample", "{d}/data.csv.syngen", "-n", "5", "-o", "{d}/x.json"], "use a .csv"),
    ],
)
def test_bad_input_gives_one_line_error_and_no_output(files, args, message):
    (files / "data.txt").write_text("a,b\n1,2\n")
    r = run(*[a.format(d=files) for a in args])
    assert r.exit_code != 0
    assert message in r.output
    assert "Traceback" not in r.output
    assert not (files / "x.csv").exists() and not (files / "m").exists()


def test_empty_and_all_null_inputs(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    r = run("fit", tmp_path / "empty.csv", "-o", tmp_path / "m")
    assert r.exit_code == 1 and "empty" in r.output
    (tmp_path / "nulls.csv").write_text("a,b\n1,\n2,\n3,\n")
    r = run("fit", tmp_path / "nulls.csv", "-o", tmp_path / "m")
    assert r.exit_code == 1 and "'b' is entirely null" in r.output
    assert not (tmp_path / "m").exists()


def test_help_explains_options():
    r = run("fit", "--help")
    assert r.exit_code == 0 and "--epochs" in r.output and "--metadata" in r.output
    r = run("sample", "--help")
    assert "COLUMN=VALUE" in r.output


def test_timeseries_fit_and_sample_from_csv(tmp_path):
    from test_timeseries import make_sines

    make_sines(40).to_csv(tmp_path / "series.csv", index=False)  # times become text in a CSV
    model = tmp_path / "series.syngen"
    r = run(
        "fit",
        tmp_path / "series.csv",
        "-o",
        model,
        "--kind",
        "timeseries",
        "--entity-col",
        "sensor",
        "--time-col",
        "ts",
        "--epochs",
        "3",
        "--seed",
        "0",
        "--quiet",
    )
    assert r.exit_code == 0, r.output
    assert "model written" in r.output
    r = run(
        "sample", model, "-n", "7", "-o", tmp_path / "out.csv", "--seed", "1", "-c", "site=north"
    )
    assert r.exit_code == 0, r.output
    assert "7 entities" in r.output
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["sensor"].nunique() == 7 and (out["site"] == "north").all()
    assert list(out.columns) == ["sensor", "ts", "amp", "site", "y", "state"]
    assert pd.to_datetime(out["ts"]).notna().all()


def test_timeseries_options_are_checked(tmp_path, files):
    r = run(
        "fit",
        files / "data.csv",
        "-o",
        tmp_path / "m",
        "--kind",
        "timeseries",
        "--entity-col",
        "group",
    )
    assert r.exit_code == 2 and "--time-col" in r.output
    r = run(
        "fit",
        files / "data.csv",
        "-o",
        tmp_path / "m",
        "--kind",
        "timeseries",
        "--entity-col",
        "group",
        "--time-col",
        "city",
        "--no-derive",
    )
    assert r.exit_code == 2 and "--no-derive applies to --kind tabular only" in r.output
    r = run("fit", files / "data.csv", "-o", tmp_path / "m", "--window", "10")
    assert r.exit_code == 2 and "--window: only for --kind timeseries" in r.output
    r = run(
        "fit",
        files / "data.csv",
        "-o",
        tmp_path / "m",
        "--kind",
        "timeseries",
        "--entity-col",
        "group",
        "--time-col",
        "city",
        "--quiet",
    )
    assert r.exit_code == 1 and "time column 'city'" in r.output and "Traceback" not in r.output


def test_an_output_that_is_an_input_or_unwritable_is_refused_before_any_work(files, tmp_path):
    data = tmp_path / "data.csv"
    data.write_bytes((files / "data.csv").read_bytes())
    before = data.read_bytes()
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    for args in (
        ["fit", data, "-o", data, "--epochs", 1],
        ["fit", data, "-o", link, "--epochs", 1],
        ["report", data, data, "-o", data],
        ["report", data, data, "-o", tmp_path / "r.html", "--json", tmp_path / "r.html"],
    ):
        r = run(*args)
        assert r.exit_code == 1 and "is also an input" in r.output, args
    assert data.read_bytes() == before
    (tmp_path / "plain").write_text("a file")
    r = run("fit", data, "-o", tmp_path / "plain" / "m.syngen", "--epochs", 1)
    assert r.exit_code == 1 and "is a file, not a folder" in r.output
    r = run("fit", data, "-o", tmp_path, "--epochs", 1)
    assert r.exit_code != 0 and "is a directory" in r.output  # click's own check
    r = run("demo", "-o", tmp_path / "plain")
    assert r.exit_code != 0 and "is a file" in r.output


def test_one_column_conditioned_twice_is_refused(files):
    r = run("sample", files / "data.csv.syngen", "-n", 5, "-o", files / "x.csv",
            "-c", "group=a", "-c", "group=b")  # fmt: skip
    assert r.exit_code != 0 and "conditioned twice" in r.output
    assert not (files / "x.csv").exists()


def test_sigterm_during_sample_leaves_no_partial_file(fitted, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    fitted.save(tmp_path / "m.syngen")
    out = tmp_path / "big.csv"
    command = [sys.executable, "-m", "syngen.cli", "sample", str(tmp_path / "m.syngen"),
               "-n", "50000000", "-o", str(out)]  # fmt: skip
    worker = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    for _ in range(6000):  # polls until the temporary appears (or the worker ends)
        if list(tmp_path.glob(".big.csv.*.tmp")) or worker.poll() is not None:
            break
        time.sleep(0.05)
    assert worker.poll() is None, "sample ended before it began writing"
    os.kill(worker.pid, signal.SIGTERM)
    assert worker.wait(timeout=300) == 128 + signal.SIGTERM
    assert [p.name for p in tmp_path.iterdir()] == ["m.syngen"]


def test_a_partial_metadata_file_names_what_was_detected(files):
    meta = files / "partial.json"
    meta.write_text(json.dumps({"columns": {"visits": "categorical"}}))
    r = run("fit", files / "data.csv", "-o", files / "p.syngen", "--epochs", 1, "--metadata",
            meta, "--quiet")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "kinds detected for the columns" in r.output and "amount (numerical)" in r.output
    assert "visits (" not in r.output.split("does not name:")[1]
    kinds = syngen.load(files / "p.syngen").transformer_.metadata_.columns
    assert kinds["visits"] == "categorical"
