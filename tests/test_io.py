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
