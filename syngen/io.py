"""Reading and writing tables: CSV or Parquet by extension, outputs replaced atomically, and
destinations checked before any work."""

from __future__ import annotations

import contextlib
import csv
import glob
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def table_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"{path}: unknown table format {suffix!r}; use a .csv or .parquet file name"
        )
    return FORMATS[suffix]


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file into a frame, with errors that name the file."""
    fmt = table_format(path)
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        if fmt == "parquet":
            return pd.read_parquet(path)
        return _read_csv(Path(path))
    except (pa.ArrowException, pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise ValueError(f"{path}: cannot read it as {fmt}: {exc}") from exc
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"{path}: the file is empty") from exc


def _read_csv(path: Path) -> pd.DataFrame:
    """A CSV with its delimiter sniffed (comma, semicolon, tab or bar) and a byte-order mark
    ignored; duplicate column names are refused (pandas would rename them ``a.1``)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        head = f.read(64 * 1024)
    if not head.strip():
        raise pd.errors.EmptyDataError("no columns")
    first = head.split("\n", 1)[0].rstrip("\r")
    sep = ","
    if "," not in first:  # a comma in the header decides; else the header's other delimiter
        sep = next((d for d in ";\t|" if d in first), ",")
    header = next(csv.reader([first], delimiter=sep))
    seen, twice = set(), []
    for name in header:
        if name in seen and name not in twice:
            twice.append(name)
        seen.add(name)
    if twice:
        raise ValueError(
            f"{path}: column name{'s' if len(twice) > 1 else ''} "
            f"{', '.join(map(repr, twice))} appear{'' if len(twice) > 1 else 's'} more than "
            "once; give every column its own name"
        )
    return parse_iso_datetimes(pd.read_csv(path, sep=sep, encoding="utf-8-sig"))


# A date, or a date and time, in ISO 8601, with an optional UTC offset or Z.
_ISO = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"


def parse_iso_datetimes(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns whose every value is an ISO 8601 date or datetime, as datetimes (a CSV has
    no dtypes). With UTC offsets: one offset is kept as the column's time zone; mixed offsets
    (a zone's summer time) become UTC. Otherwise each date would be a category of its own."""
    out = {}
    for column in df.columns:
        s = df[column]
        if s.dtype != object or s.isna().all():
            continue
        text = s.dropna()
        if not text.map(type).eq(str).all() or not text.str.fullmatch(_ISO).all():
            continue
        try:
            with warnings.catch_warnings():  # pandas warns of mixed offsets, or raises
                warnings.simplefilter("error", FutureWarning)
                parsed = pd.to_datetime(s, format="ISO8601")
        except (ValueError, TypeError, FutureWarning):
            parsed = pd.to_datetime(s, format="ISO8601", utc=True)
        if pd.api.types.is_datetime64_any_dtype(parsed):
            out[column] = parsed
    return df.assign(**out) if out else df


def check_destination(
    path: str | Path, *, inputs: tuple = (), option: str = "-o", folder: bool = False
) -> None:
    """Refuse, before any work, an output that is one of the command's inputs (links
    resolved) or that cannot be written: a folder where a file goes (or the reverse), a
    parent that is a file, a folder without write permission."""
    target = Path(path).resolve()
    for given in inputs:
        if given is not None and Path(given).resolve() == target:
            raise ValueError(f"{option} {path} is also an input ({given}); write somewhere else")
    if folder and target.exists() and not target.is_dir():
        raise ValueError(f"{option} {path} is a file; give a folder")
    if not folder and target.is_dir():
        raise ValueError(f"{option} {path} is a folder; give a file name")
    parent = target.parent if not folder else target
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{option} {path}: {parent} is a file, not a folder")
    writable = target if target.exists() else parent
    if not os.access(writable, os.W_OK) or not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {path}: no permission to write there")


def _remove_stale_temps(path: Path) -> None:
    """Delete the temporaries that an earlier, killed writer of ``path`` left (the pid in
    their name is no longer running)."""
    for stale in glob.glob(str(path.parent / f".{glob.escape(path.name)}.*.tmp")):
        pid = Path(stale).name[len(path.name) + 2 :].split(".", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                os.unlink(stale)
        except OSError:
            pass  # running under another user: not ours to remove


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces it only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent
    )
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600); the output gets the usual umask permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class TableWriter:
    """Append frames chunk by chunk to one CSV or Parquet file; the file appears on close.

    Use as a context manager: if the block raises, nothing is left at ``path``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.format = table_format(path)
        self._atomic = atomic_path(self.path)
        self._tmp: Path | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self.rows = 0

    def __enter__(self) -> TableWriter:
        self._tmp = self._atomic.__enter__()
        return self

    def write(self, df: pd.DataFrame) -> None:
        if self.format == "csv":
            df.to_csv(self._tmp, mode="a" if self.rows else "w", header=not self.rows, index=False)
        else:
            table = pa.Table.from_pandas(df, schema=self._schema, preserve_index=False)
            if self._parquet is None:
                self._schema = table.schema
                self._parquet = pq.ParquetWriter(self._tmp, self._schema, compression="zstd")
            self._parquet.write_table(table)
        self.rows += len(df)

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self._parquet is not None:
            self._parquet.close()
        return self._atomic.__exit__(exc_type, exc, tb)


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    with TableWriter(path) as writer:
        writer.write(df)
