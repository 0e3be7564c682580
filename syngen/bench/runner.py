"""run_bench: every candidate on every table, each fit in its own process, scored alike.

A cell is one (dataset, model, epsilon, repeat). Its key holds everything that shapes its
result (the table's content hash, the split, the model, the budget, the seed, syngen's
version), and its folder under ``OUT/cells/`` is named by that key's hash: rerunning into the
same folder skips the cells already recorded, and a changed setting makes a new cell beside
the old one. A cell's fit runs in a worker process with the same threads and budget as the
others; a crash, an out-of-memory kill or a timeout is recorded with its error and the bench
goes on. Its rows are scored by ``syngen.report.evaluate`` against the split's holdout rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from ..io import atomic_path
from ..version import __version__
from .catalogue import Dataset
from .models import DEFAULT_MODELS, DEFAULT_SERIES_MODELS, Candidate, candidates, skip_reason
from .split import split_table

SCHEMA = "syngen-bench"
SCHEMA_VERSION = 1
_PEER_WORKER = Path(__file__).with_name("peer_worker.py")


@dataclass
class BenchConfig:
    """What a bench runs. ``models`` None takes the defaults of each table's kind
    (``DEFAULT_MODELS``, ``DEFAULT_SERIES_MODELS``). ``epochs`` or ``time_budget`` (seconds
    per fit) is the budget every model gets in its own terms; ``timeout`` kills a fit that
    runs past it (default: three times the time budget plus two minutes, or no limit).
    ``interpreters`` maps a peer family ("sdv", "smartnoise") to the Python that has its
    package."""

    models: tuple[str, ...] | None = None
    epsilons: tuple[float, ...] = (1.0,)
    epochs: int | None = None
    time_budget: float | None = None
    repeats: int = 1
    seed: int = 0
    timeout: float | None = None
    threads: int | None = None
    holdout_share: float = 0.2
    reference_share: float = 0.1
    interpreters: dict = field(default_factory=dict)
    report_rows: int | None = None  # cap the report's sample sizes (quick benches)
    series_iterations: int | None = None  # the time-series scores' GRU steps (report default)
    # Public domains for the DP models, as a data dictionary states them: {"bounds": {column:
    # [low, high]}, "categories": {column: [values]}}; a table uses those of its own columns.
    public: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.models is not None:
            self.models = tuple(self.models)
            candidates(list(self.models))  # names checked here, before any work
        self.epsilons = tuple(float(e) for e in self.epsilons)
        if self.epochs is not None and self.time_budget is not None:
            raise ValueError("give epochs or time_budget, not both")
        for name in ("epochs", "repeats", "threads", "series_iterations"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("time_budget", "timeout"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        if any(not e > 0 for e in self.epsilons):
            raise ValueError(f"every epsilon must be positive, got {self.epsilons}")
        if not isinstance(self.public, dict) or set(self.public) - {"bounds", "categories"}:
            raise ValueError(
                'public must be {"bounds": {column: [low, high]}, "categories": {column: '
                f"[values]}}}}, got {self.public!r}"
            )

    def fit_timeout(self) -> float | None:
        if self.timeout is not None:
            return self.timeout
        return None if self.time_budget is None else 3 * self.time_budget + 120


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _report_config(cfg: BenchConfig, seed: int):
    from ..report import ReportConfig
    from ..report.report import report_sizes

    return ReportConfig(seed=seed, **report_sizes(cfg.report_rows, cfg.series_iterations))


def machine() -> dict:
    import numpy
    import sklearn
    import torch

    return {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "versions": {
            "syngen": __version__,
            "torch": torch.__version__,
            "numpy": numpy.__version__,
            "pandas": pd.__version__,
            "scikit-learn": sklearn.__version__,
        },
    }


def run_bench(
    datasets: list[Dataset],
    output: str | Path,
    config: BenchConfig | None = None,
    *,
    progress: Callable[[str], None] = lambda message: None,
) -> dict:
    """Run every cell not yet recorded in ``output``; the results (also ``results.json``,
    ``leaderboard.md`` and ``leaderboard.html`` there)."""
    from .leaderboard import leaderboard, write_pages

    cfg = config or BenchConfig()
    if not datasets:
        raise ValueError("no dataset to bench: give DATA files or --dataset names")
    out = Path(output)
    (out / "cells").mkdir(parents=True, exist_ok=True)
    tables, cells, skipped = [], [], []
    plans = []
    for ds in datasets:
        if ds.kind not in ("tabular", "timeseries"):
            raise ValueError(f"{ds.name}: unknown kind {ds.kind!r}; tabular or timeseries")
        if ds.kind == "timeseries" and (ds.entity is None or ds.time is None):
            raise ValueError(f"{ds.name}: a time-series table needs its entity and time "
                             "columns (--entity-col, --time-col)")  # fmt: skip
        df = ds.load()
        for column in (ds.entity, ds.time):
            if column is not None and column not in df.columns:
                raise ValueError(f"{ds.name}: no column {column!r}")
        if ds.target is not None and ds.target not in df.columns:
            raise ValueError(f"{ds.name}: no target column {ds.target!r}; columns: "
                             f"{', '.join(map(str, df.columns))}")  # fmt: skip
        split = split_table(
            df,
            seed=cfg.seed,
            target=ds.target,
            entity=ds.entity if ds.kind == "timeseries" else None,
            holdout_share=cfg.holdout_share,
            reference_share=cfg.reference_share,
        )
        content = hashlib.sha256(
            pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()
        ).hexdigest()[:16]
        tables.append({**ds.to_dict(), "rows": len(df), "columns": df.shape[1],
                       "content_sha256": content, "split": split.record})  # fmt: skip
        default = DEFAULT_MODELS if ds.kind == "tabular" else DEFAULT_SERIES_MODELS
        for cand in candidates(list(cfg.models or default)):
            reason = skip_reason(cand, cfg.interpreters, ds.kind)
            if reason:
                skipped.append({"dataset": ds.name, "model": cand.name, "reason": reason})
                continue
            for eps in cfg.epsilons if cand.private else (None,):
                for k in range(cfg.repeats):
                    plans.append((ds, split, content, cand, eps, k))
    for i, (ds, split, content, cand, eps, k) in enumerate(plans, 1):
        label = (
            f"[{i}/{len(plans)}] {ds.name} | {cand.name}"
            + (f" eps={eps:g}" if eps is not None else "")
            + (f" | repeat {k + 1}" if cfg.repeats > 1 else "")
        )
        cells.append(_run_cell(out, cfg, ds, split, content, cand, eps, k, label, progress))
    for s in skipped:
        progress(f"{s['dataset']} | {s['model']}: {s['reason']}")
    results = {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "syngen_version": __version__,
        "settings": asdict(cfg),
        "machine": machine(),
        "datasets": tables,
        "cells": cells,
        "skipped": skipped,
    }
    results["leaderboard"] = leaderboard(results)
    with atomic_path(out / "results.json") as tmp:
        tmp.write_text(json.dumps(results, indent=1, default=str, allow_nan=False))
    write_pages(results, out)
    return results


def read_results(path: str | Path) -> dict:
    """A bench's ``results.json``, checked to be one this syngen reads."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable bench results file ({exc})") from exc
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f'{path}: not a syngen bench results file (no "schema": "{SCHEMA}")')
    if data.get("version") != SCHEMA_VERSION:
        raise ValueError(f"{path}: bench results version {data.get('version')}; this syngen "
                         f"reads version {SCHEMA_VERSION}")  # fmt: skip
    return data


def _run_cell(out, cfg, ds, split, content, cand: Candidate, eps, k, label, progress) -> dict:
    seed = cfg.seed + k
    key = {
        "dataset": ds.name,
        "content_sha256": content,
        "split": split.record,
        "model": cand.name,
        "epsilon": eps,
        "repeat": k,
        "seed": seed,
        **dict(zip(("epochs", "time_budget"), _budget(cfg, cand), strict=True)),
        "threads": cfg.threads,
        "report_rows": cfg.report_rows,
        "series_iterations": cfg.series_iterations,
        "syngen_version": __version__,
    }
    public = _public_for(cfg, split.train) if cand.private else {}
    if public:  # in the key only when given: earlier results keep their cells
        key["public"] = public
    cell_id = f"{ds.name}-{cand.name}" + (f"-eps{eps:g}" if eps is not None else "")
    cell_id += f"-r{k}-{_digest(key)[:10]}"
    folder = out / "cells" / cell_id
    record_path = folder / "cell.json"
    if record_path.exists():
        record = json.loads(record_path.read_text())
        progress(f"{label}: recorded before ({record['status']}), skipped")
        return record
    folder.mkdir(parents=True, exist_ok=True)
    record = {"id": cell_id, "key": key, "role": cand.role, "dataset": ds.name,
              "model": cand.name, "epsilon": eps, "repeat": k}  # fmt: skip
    progress(f"{label}: fitting")
    started = time.perf_counter()
    fitted = _fit_in_worker(folder, cfg, ds, split, cand, eps, seed)
    record.update(fitted)
    if record["status"] == "done":
        try:
            record.update(_score(folder, cfg, ds, split, fitted.get("privacy"), seed))
        except (ValueError, TypeError) as exc:
            record.update(status="failed", error=f"scoring: {exc}")
    if cand.role == "reference":  # real rows: no copy of them stays in the results folder
        (folder / "synthetic.parquet").unlink(missing_ok=True)
    record["wall_seconds"] = round(time.perf_counter() - started, 1)
    with atomic_path(record_path) as tmp:
        tmp.write_text(json.dumps(record, indent=1, default=str))
    summary = (
        f"quality {record['scores'].get('fidelity.quality', float('nan')):.3f}"
        if record["status"] == "done"
        else record.get("error", "")
    )
    progress(f"{label}: {record['status']} in {record['wall_seconds']:.0f} s ({summary})")
    return record


def _budget(cfg: BenchConfig, cand: Candidate) -> tuple[int | None, float | None]:
    """(epochs, seconds) a candidate gets: the bench's budget, or none for one that trains
    nothing."""
    if cand.budget == "none":
        return None, None
    return cfg.epochs, cfg.time_budget


def _public_for(cfg: BenchConfig, train: pd.DataFrame) -> dict:
    """The bench's public domains of the table's own columns."""
    out = {
        part: {c: v for c, v in cfg.public.get(part, {}).items() if c in train.columns}
        for part in ("bounds", "categories")
    }
    return {part: v for part, v in out.items() if v}


def _attributes(ds, train: pd.DataFrame) -> list[str] | None:
    """A series' static columns: the source's, else those constant within every entity of the
    training rows (the schema a user names; a DP fit does not detect it from the values)."""
    if ds.kind != "timeseries":
        return None
    if ds.attributes:
        return list(ds.attributes)
    from ..timeseries.sequences import Sequences

    return list(Sequences.from_long(train, ds.entity, ds.time).attributes.columns)


def _fit_in_worker(folder: Path, cfg, ds, split, cand: Candidate, eps, seed) -> dict:
    train_path, reference_path = folder / "train.parquet", folder / "reference.parquet"
    split.train.to_parquet(train_path)
    split.reference.to_parquet(reference_path)
    spec = {
        "model": cand.name,
        "train": str(train_path),
        "reference": str(reference_path),
        "rows": len(split.train) if ds.kind == "tabular" else split.train[ds.entity].nunique(),
        "entity": ds.entity,
        "time": ds.time,
        "seed": seed,
        "epsilon": eps,
        "public": _public_for(cfg, split.train) if cand.private else {},
        "attributes": _attributes(ds, split.train),
        **dict(zip(("epochs", "seconds"), _budget(cfg, cand), strict=True)),
        "budget": cand.budget,
        "threads": cfg.threads,
        "output": str(folder / "synthetic.parquet"),
        "result": str(folder / "fit.json"),
    }
    (folder / "spec.json").write_text(json.dumps(spec, indent=1))
    if cand.family == "syngen":
        command = [sys.executable, "-m", "syngen.bench.worker", str(folder / "spec.json")]
    else:
        python = cfg.interpreters.get(cand.family, sys.executable)
        command = [python, str(_PEER_WORKER), str(folder / "spec.json")]
    env = dict(os.environ)
    if cfg.threads:
        env.update(OMP_NUM_THREADS=str(cfg.threads), MKL_NUM_THREADS=str(cfg.threads))
    timeout = cfg.fit_timeout()
    with open(folder / "worker.log", "wb") as log:
        worker = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            code = worker.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)  # the worker and anything it started
            worker.wait()
            return {"status": "timeout", "error": f"killed after the {timeout:.0f} s timeout"}
    for p in (train_path, reference_path):
        p.unlink()
    if code != 0:
        lines = (folder / "worker.log").read_text(errors="replace").strip().splitlines()
        last = lines[-1] if lines else ""
        how = "killed by signal " + signal.Signals(-code).name if code < 0 else f"exit {code}"
        if code == -signal.SIGKILL:
            how += " (out of memory?)"
        return {"status": "failed", "error": f"{how}: {last}"[:500]}
    return {"status": "done", **json.loads((folder / "fit.json").read_text())}


def _score(folder: Path, cfg, ds, split, privacy, seed) -> dict:
    from ..report import evaluate

    synthetic = pd.read_parquet(folder / "synthetic.parquet")
    series = ds.kind == "timeseries"
    report = evaluate(
        split.train,
        synthetic,
        # The report scores series' fidelity only so far: no holdout-based privacy scores.
        holdout=None if series else split.holdout,
        target=None if series else ds.target,
        entity=ds.entity if series else None,
        time=ds.time if series else None,
        config=_report_config(cfg, seed),
        privacy=privacy,
    )
    report.to_html(folder / "report.html")
    report.to_json(folder / "report.json")
    return {
        "scores": report.scores,
        "privacy_checks": {
            "passed": sum(v["passed"] for v in report.verdicts),
            "total": len(report.verdicts),
        },
        "report": f"cells/{folder.name}/report.html",
    }
