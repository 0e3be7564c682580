"""Reading and writing tables: CSV or Parquet by extension, outputs replaced atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
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
        return pd.read_csv(path)
    except (pa.ArrowException, pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise ValueError(f"{path}: cannot read it as {fmt}: {exc}") from exc
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"{path}: the file is empty") from exc


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces it only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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
