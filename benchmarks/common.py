"""Shared helpers of the benchmark harness: datasets, column kinds, machine facts, JSON output."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATASETS = REPO.parent / "shared" / "datasets"
DEFAULT_OUT = REPO / "bench-results"


class DatasetsMissing(RuntimeError):
    """The datasets folder, its manifest or one of its files is not there."""


# ---- datasets ---------------------------------------------------------------------------------
def load_manifest(datasets: Path) -> dict[str, dict]:
    path = Path(datasets) / "manifest.json"
    if not path.is_file():
        raise DatasetsMissing(f"no manifest at {path}")
    return {entry["name"]: entry for entry in json.loads(path.read_text())}


def load_table(datasets: Path, name: str) -> tuple[pd.DataFrame, dict]:
    """The table ``name`` as a pandas frame, and its manifest entry."""
    entry = load_manifest(datasets).get(name)
    if entry is None:
        raise DatasetsMissing(f"dataset {name!r} is not in {datasets}/manifest.json")
    path = Path(datasets) / entry["file"]
    if not path.is_file():
        raise DatasetsMissing(f"missing data file {path}")
    df = pd.read_parquet(path)
    columns = [c["name"] for c in entry["columns"]]
    if list(df.columns) != columns:
        raise ValueError(f"{path}: columns {list(df.columns)} differ from the manifest {columns}")
    return df, entry


def split(df: pd.DataFrame, entry: dict, seed: int = 0, test_fraction: float = 0.2):
    """(train, test): the manifest's official row split, else a seeded random 80/20 split."""
    official = entry.get("official_split")
    if official and official.get("unit") == "rows":
        a, b = official["train"]
        c, d = official["test"]
        return df.iloc[a:b].reset_index(drop=True), df.iloc[c:d].reset_index(drop=True)
    order = np.random.default_rng(seed).permutation(len(df))
    n_test = int(round(test_fraction * len(df)))
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    return df.iloc[train].reset_index(drop=True), df.iloc[test].reset_index(drop=True)


def subsample(df: pd.DataFrame, n: int | None, seed: int = 0) -> pd.DataFrame:
    if n is None or n >= len(df):
        return df
    rows = np.sort(np.random.default_rng(seed).choice(len(df), n, replace=False))
    return df.iloc[rows].reset_index(drop=True)


# ---- column kinds -----------------------------------------------------------------------------
def syngen_kinds(entry: dict) -> dict[str, str]:
    """Manifest types are syngen kinds already (integer, numerical, categorical, ...)."""
    return {c["name"]: c["type"] for c in entry["columns"]}


def categorical_columns(entry: dict) -> list[str]:
    return [c["name"] for c in entry["columns"] if c["type"] in ("categorical", "boolean")]


def _sdtype(kind: str) -> str:
    return {
        "integer": "numerical",
        "numerical": "numerical",
        "boolean": "boolean",
        "datetime": "datetime",
    }.get(kind, "categorical")


def sdmetrics_metadata(entry: dict) -> dict:
    """sdmetrics single-table metadata: integer/numerical -> numerical, categorical as is."""
    return {"columns": {c["name"]: {"sdtype": _sdtype(c["type"])} for c in entry["columns"]}}


def sdv_metadata_dict(entry: dict, table: str) -> dict:
    """The same column types as an SDV (>= 1.x) metadata dict with one table."""
    return {"tables": {table: sdmetrics_metadata(entry)}}


def positive_label(train: pd.DataFrame, target: str):
    """The minority class of the real training rows: the positive class for ROC AUC."""
    return train[target].value_counts().idxmin()


# ---- machine facts ----------------------------------------------------------------------------
def _versions() -> dict[str, str | None]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in (
        "syngen",
        "torch",
        "numpy",
        "pandas",
        "scikit-learn",
        "sdmetrics",
        "sdv",
        "ctgan",
        "rdt",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def syngen_source_hash() -> str:
    """sha256 (first 12 hex digits) of syngen/**/*.py as measured: the exact code benchmarked."""
    import hashlib

    h = hashlib.sha256()
    for path in sorted((REPO / "syngen").rglob("*.py")):
        h.update(str(path.relative_to(REPO)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def machine_info() -> dict:
    import torch

    return {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "versions": _versions(),
        "git_commit": _git("rev-parse", "--short", "HEAD") or "no commit",
        "git_dirty": bool(_git("status", "--porcelain", "--", "syngen")),
        "syngen_source_sha256": syngen_source_hash(),
        "python_executable": sys.executable,
    }


# ---- output -----------------------------------------------------------------------------------
def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_json_default) + "\n")
    tmp.replace(path)


def _json_default(obj):
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def log(message: str) -> None:
    print(message, flush=True)
