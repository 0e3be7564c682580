import pandas as pd
import pytest

from syngen.io import TableWriter, read_table, write_table


def test_round_trip_both_formats(tmp_path):
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", None, "z"]})
    for name in ("t.csv", "t.parquet"):
        write_table(df, tmp_path / name)
        back = read_table(tmp_path / name)
        assert back["a"].tolist() == [1, 2, 3] and back["b"].isna().tolist() == [False, True, False]


def test_writer_leaves_nothing_when_interrupted(tmp_path):
    with pytest.raises(RuntimeError):
        with TableWriter(tmp_path / "out.parquet") as w:
            w.write(pd.DataFrame({"a": [1]}))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_read_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "bad.parquet").write_text("garbage")
    with pytest.raises(ValueError, match="bad.parquet: cannot read it as parquet"):
        read_table(tmp_path / "bad.parquet")


def test_outputs_get_umask_permissions_not_private(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "out.csv")
    finally:
        os.umask(umask)
    assert (tmp_path / "out.csv").stat().st_mode & 0o777 == 0o644


def test_a_csv_with_a_bom_and_semicolons_reads_as_its_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("\ufeffname;amount\nx;1,5\ny;2\n".encode())
    df = read_table(path)
    assert list(df.columns) == ["name", "amount"] and df["name"].tolist() == ["x", "y"]


def test_duplicate_csv_column_names_are_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,a\n1,2,3\n")
    with pytest.raises(ValueError, match="'a' appears more than once"):
        read_table(path)


def test_a_killed_writers_temporary_is_removed_by_the_next_write(tmp_path):
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = tmp_path / f".out.csv.{done.stdout.strip()}.abc.tmp"
    alive = tmp_path / f".out.csv.{os.getppid()}.def.tmp"  # a running process's: kept
    dead.write_text("partial")
    alive.write_text("partial")
    write_table(pd.DataFrame({"a": [1]}), tmp_path / "out.csv")
    assert not dead.exists() and alive.exists()
    assert read_table(tmp_path / "out.csv")["a"].tolist() == [1]


def test_iso_datetimes_in_a_csv_are_read_as_datetimes_with_their_offsets(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame(
        {
            "day": ["2020-01-01", "2020-02-03", None],
            "utc": ["2020-01-01T10:00:00Z", "2020-01-01T11:00:00Z", "2020-01-02T10:00:00Z"],
            "berlin": ["2020-03-28 10:00:00+01:00", "2020-03-30 10:00:00+02:00", None],
            "paris": ["2020-01-01 10:00:00+01:00"] * 3,
            "text": ["x", "2020-01-01", "y"],
        }
    ).to_csv(path, index=False)
    df = read_table(path)
    assert df["day"].dtype == "datetime64[ns]" and df["day"].isna().sum() == 1
    assert str(df["utc"].dt.tz) == "UTC"
    # A zone's summer time mixes offsets: UTC, the instants kept.
    assert str(df["berlin"].dt.tz) == "UTC"
    assert df["berlin"].iloc[1] == pd.Timestamp("2020-03-30 08:00:00", tz="UTC")
    assert str(df["paris"].dt.tz) == "UTC+01:00"
    assert df["text"].dtype == object  # not every value a date: text


def test_a_csv_with_offset_datetimes_round_trips_through_a_fit(tmp_path):
    """Once read as datetimes, a zone-aware column is modelled as times, not as a category of
    real timestamps copied verbatim."""
    import numpy as np

    from syngen import TabularGAN

    path = tmp_path / "t.csv"
    times = pd.date_range("2020-01-01", periods=240, freq="h", tz="Europe/Berlin")
    x = np.random.default_rng(0).normal(size=240)
    pd.DataFrame({"ts": times, "x": x}).to_csv(path, index=False)
    real = read_table(path)
    model = TabularGAN(epochs=2, seed=0).fit(real)
    assert model.transformer_.metadata_.columns["ts"] == "datetime"
    out = model.sample(200, seed=0)
    assert out["ts"].dtype == real["ts"].dtype
