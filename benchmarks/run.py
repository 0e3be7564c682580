"""Speed and scale probes of syngen's TabularGAN, each against a baseline in the same run (SDV's
CTGANSynthesizer where it has one). The leaderboards (every generator on the finance, medical
and time-series tables) are `syngen bench`'s: see noxfile.py's bench session.

    python benchmarks/run.py                 # adult + census + scoring, then the report
    python benchmarks/run.py adult --epochs 50
    python benchmarks/run.py census
    python benchmarks/run.py scoring         # the fidelity/privacy report on 30,000 x 15
    python benchmarks/run.py report          # docs/benchmarks.md from bench-results/
    python benchmarks/run.py all --quick     # smoke run: few epochs, subsampled rows

Each part writes bench-results/<part>.json (``<part>-quick.json`` with ``--quick``) and prints
its table; ``report`` renders docs/benchmarks.md from the JSON files and the leaderboards'
results.json. See docs/benchmarks.md for what each metric means and how it is measured.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import report  # noqa: E402
from common import DatasetsMissing, log  # noqa: E402
from procwatch import ForeignLoad, run_watched, wait_for_quiet  # noqa: E402

PARTS = ("adult", "census", "scoring")
WORKER = Path(__file__).resolve().parent / "fit_worker.py"

# The architecture both libraries train in the same-epochs comparison (the CTGAN paper's).
ARCH_SYNGEN = {
    "embedding_dim": 128,
    "generator_dims": [256, 256],
    "discriminator_dims": [256, 256],
    "batch_size": 500,
    "pac": 10,
}
# Quality per CPU-second: the floors for syngen given SDV's 50-epoch wall clock.
BUDGET_TARGETS = {
    "column_shapes": ("ours", ">=", 0.95),
    "column_pair_trends": ("ours", ">=", 0.86),
    "tstr_auc": ("ours", ">=", 0.90),
    "detection_auc": ("ratio", "<", 1.0),  # below SDV CTGAN's
}
ARCH_SDV = {
    "embedding_dim": 128,
    "generator_dim": [256, 256],
    "discriminator_dim": [256, 256],
    "batch_size": 500,
    "pac": 10,
}


# ---- helpers ----------------------------------------------------------------------------------
def sdv_available() -> str | None:
    """None when SDV and ctgan import, else the reason they do not."""
    try:
        import ctgan.data_transformer  # noqa: F401
        import sdv.single_table  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure means "no baseline"
        return f"{type(exc).__name__}: {exc}"
    return None


def limit_threads(n: int) -> None:
    """Cap torch, BLAS and OpenMP threads here and in every process started from here."""
    import os

    import torch
    from threadpoolctl import threadpool_limits

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    torch.set_num_threads(n)
    threadpool_limits(n)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def metric(key, name, ours, sdv, *, unit="", better="lower", target=None, note=None) -> dict:
    """One row of a table; ``target`` is (on, op, value) with ``on`` in {"ratio", "ours"}."""
    ratio = (
        ours / sdv
        if isinstance(ours, int | float) and isinstance(sdv, int | float) and sdv
        else None
    )
    passed = None
    if target is not None:
        on, op, value = target
        x = ratio if on == "ratio" else ours
        if x is not None:
            passed = {"<=": x <= value, "<": x < value, ">=": x >= value}[op]
    return {
        "key": key,
        "name": name,
        "ours": ours,
        "sdv": sdv,
        "ratio": ratio,
        "unit": unit,
        "better": better,
        "target": None
        if target is None
        else {"on": target[0], "op": target[1], "value": target[2]},
        "pass": passed,
        "note": note,
    }


class Context:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.datasets = Path(args.datasets)
        self.out = Path(args.out)
        self.quick = args.quick
        self.sdv_missing = "disabled with --no-sdv" if args.no_sdv else sdv_available()
        self.use_sdv = self.sdv_missing is None

    def result_path(self, part: str) -> Path:
        return self.out / f"{part}{'-quick' if self.quick else ''}.json"

    def workdir(self, part: str) -> Path:
        path = self.out / f"work-{part}{'-quick' if self.quick else ''}"
        path.mkdir(parents=True, exist_ok=True)
        return path


def fit_in_subprocess(
    ctx: Context,
    workdir: Path,
    label: str,
    spec: dict,
    train_path: Path,
    timeout: float | None = None,
) -> dict:
    """Fit one model in a fresh process (see fit_worker.py); return its results and rusage."""
    spec = dict(spec)
    spec.update(
        threads=ctx.args.threads,
        label=label,
        train_path=str(train_path),
        phase_file=str(workdir / f"{label}.phase"),
        result_path=str(workdir / f"{label}.result.json"),
        eval_path=str(workdir / f"{label}.synthetic.parquet"),
    )
    spec_path = workdir / f"{label}.spec.json"
    spec_path.write_text(json.dumps(spec, indent=2))
    Path(spec["result_path"]).unlink(missing_ok=True)
    gc.collect()
    quiet = wait_for_quiet(ctx.args.quiet_wait, log=log)
    log(f"  [{label}] fitting {spec['library']} in a subprocess ...")
    load_before = common.machine_info()["load_average"]
    proc = run_watched(
        [sys.executable, str(WORKER), str(spec_path)],
        Path(spec["phase_file"]),
        workdir / f"{label}.log",
        timeout=timeout or ctx.args.timeout,
    )
    if proc["returncode"] != 0 or not Path(spec["result_path"]).is_file():
        tail = (workdir / f"{label}.log").read_text()[-3000:]
        raise RuntimeError(f"{label}: worker failed ({proc}); log tail:\n{tail}")
    out = json.loads(Path(spec["result_path"]).read_text())
    out["process"] = proc
    out["load_average_before"] = load_before
    out["quiet_wait"] = quiet
    log(
        f"  [{label}] fit {out['fit_seconds']:.1f} s, {out['epochs_trained']} epochs, "
        f"peak RSS after fit {out['rss_after_fit_mib']:.0f} MiB, sampling {out['sample_seconds']}"
        f"; other processes used {proc['foreign_cores']} cores"
    )
    return out


def epoch_stats(res: dict) -> dict:
    wall, cpu = res["epoch_wall_seconds"], res["epoch_cpu_seconds"]
    return {
        "median_wall": median(wall),
        "mean_wall": statistics.fmean(wall) if wall else None,
        "mean_cpu": statistics.fmean(cpu) if cpu else None,
        "epochs": len(wall),
    }


def time_transformers(ctx: Context, train, entry, repeats: int, use_sdv: bool) -> dict:
    """Fit time of syngen's TableTransformer and of ctgan's DataTransformer, interleaved."""
    from syngen import Metadata
    from syngen.transform import TableTransformer

    kinds = common.syngen_kinds(entry)
    discrete = common.categorical_columns(entry)
    ours, sdv, foreign = [], [], []
    quiet = wait_for_quiet(ctx.args.quiet_wait, log=log)
    for r in range(repeats):
        gc.collect()
        probe = ForeignLoad().start()
        t = time.perf_counter()
        TableTransformer(Metadata(dict(kinds)), seed=0).fit(train)
        ours.append(round(time.perf_counter() - t, 3))
        if use_sdv:
            from ctgan.data_transformer import DataTransformer

            gc.collect()
            t = time.perf_counter()
            DataTransformer().fit(train, discrete)
            sdv.append(round(time.perf_counter() - t, 3))
        foreign.append(probe.stop())
        log(
            f"  transformer fit, repeat {r + 1}/{repeats}: ours {ours[-1]:.2f} s"
            + (f", SDV/ctgan {sdv[-1]:.2f} s" if sdv else "")
            + f"; other processes used {foreign[-1]} cores"
        )
    return {"ours_seconds": ours, "sdv_seconds": sdv, "foreign_cores": foreign, "quiet_wait": quiet}


def score(model_res: dict, train, test, entry, positive, n_samples: int = 1) -> dict:
    """Quality of a fitted model's evaluation sample against the real test rows.

    Scoring is not timed; it runs single-threaded, which on a shared 2-core machine avoids the
    OpenMP stalls that make multi-threaded scikit-learn crawl when another process is busy.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _score(model_res, train, test, entry, positive, n_samples)


def real_auc(train, test, entry, positive) -> float | None:
    """The fixed classifier trained on the real training rows: the TSTR reference."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _utility(train, train, test, entry)["trtr_roc_auc"]


def _utility(train, synthetic, test, entry) -> dict:
    """syngen.report's TSTR/TRTR (fixed HistGradientBoosting; positive = the rarer class)."""
    from syngen import Metadata
    from syngen.report.utility import utility

    meta = Metadata.from_dict({"columns": common.syngen_kinds(entry)})
    return utility(train, synthetic, test, meta, entry["target"])


def _score(model_res: dict, train, test, entry, positive, n_samples: int) -> dict:
    """The product's own report: quality and detection against the test rows, TSTR on
    synthetic frames of len(train) rows each (n_samples slices of the evaluation sample)."""
    import pandas as pd

    from syngen.report import evaluate

    synth = pd.read_parquet(model_res["eval_path"])
    kinds = {"columns": common.syngen_kinds(entry)}
    s = evaluate(test, synth.iloc[: len(test)], metadata=kinds).scores
    n = len(train)
    aucs = [
        _utility(train, synth.iloc[i * n : (i + 1) * n], test, entry)["tstr_roc_auc"]
        for i in range(n_samples)
    ]
    return {
        "overall": s["fidelity.quality"],
        "column_shapes": s["fidelity.column_shapes"],
        "column_pair_trends": s["fidelity.column_pair_trends"],
        "tstr_auc": statistics.fmean(aucs),
        "tstr_auc_each": aucs,
        "detection_auc": s["fidelity.detection_auc"],
    }


def base_result(ctx: Context, part: str) -> dict:
    return {
        "part": part,
        "quick": ctx.quick,
        "command": "python benchmarks/run.py " + " ".join(ctx.args.argv),
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": common.machine_info(),
        "sdv_baseline": ctx.use_sdv,
        "sdv_missing_reason": ctx.sdv_missing,
        "threads": ctx.args.threads or "default",
    }


def finish(ctx: Context, part: str, result: dict) -> dict:
    result["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    result["load_average_end"] = common.machine_info()["load_average"]
    common.write_json(ctx.result_path(part), result)
    log(f"\n{report.render_part(result)}\n")
    log(f"wrote {ctx.result_path(part)}")
    if not ctx.args.keep_work:
        shutil.rmtree(ctx.workdir(part), ignore_errors=True)
    return result


# ---- adult ------------------------------------------------------------------------------------
def part_adult(ctx: Context) -> dict:
    args = ctx.args
    df, entry = common.load_table(ctx.datasets, "adult")
    train, test = common.split(df, entry)
    epochs = args.epochs if args.epochs is not None else (2 if ctx.quick else 50)
    sample_rows = 20_000 if ctx.quick else 100_000
    repeats = 1 if ctx.quick else args.repeats
    if ctx.quick:
        train, test = common.subsample(train, 4000), common.subsample(test, 2000)
    target = entry["target"]
    positive = common.positive_label(train, target)
    result = base_result(ctx, "adult")
    result["settings"] = {
        "train_rows": len(train),
        "test_rows": len(test),
        "epochs": epochs,
        "sample_rows": sample_rows,
        "repeats": repeats,
        "target": target,
        "positive_class": positive,
        "architecture": ARCH_SYNGEN,
    }
    work = ctx.workdir("adult")
    train_path = work / "train.parquet"
    train.to_parquet(train_path)
    kinds = common.syngen_kinds(entry)

    log(f"adult: {len(train)} train rows, {len(test)} test rows, {epochs} epochs")
    log("1/4 transformer fit times")
    tf = time_transformers(ctx, train, entry, repeats, ctx.use_sdv)

    log(f"2/4 same-architecture fits, {epochs} epochs each")
    # TSTR is the mean over this many synthetic frames of len(train) rows (slices of one
    # sample): one frame's figure moves by +-0.003 from sample to sample.
    n_tstr = 3
    eval_rows = n_tstr * len(train)
    common_spec = {"sample_rows": sample_rows, "sample_repeats": repeats, "eval_rows": eval_rows}
    ours = fit_in_subprocess(
        ctx,
        work,
        "syngen",
        {
            **common_spec,
            "library": "syngen",
            "kinds": kinds,
            "params": {**ARCH_SYNGEN, "epochs": epochs, "seed": 0, "verbose": False},
        },
        train_path,
    )
    sdv = None
    if ctx.use_sdv:
        sdv = fit_in_subprocess(
            ctx,
            work,
            "sdv",
            {
                **common_spec,
                "library": "sdv",
                "table": "adult",
                "sdv_metadata": common.sdv_metadata_dict(entry, "adult"),
                "params": {**ARCH_SDV, "epochs": epochs, "enable_gpu": False, "verbose": False},
            },
            train_path,
        )

    log("3/4 equal wall-clock budget: syngen defaults, max_seconds = SDV's fit time")
    budget = sdv["fit_seconds"] if sdv else args.budget_seconds
    ours_budget = None
    if budget:
        ours_budget = fit_in_subprocess(
            ctx,
            work,
            "syngen-budget",
            {
                "library": "syngen",
                "kinds": kinds,
                "sample_repeats": 0,
                "eval_rows": eval_rows,
                "params": {"seed": 0, "verbose": False, "max_seconds": float(budget)},
            },
            train_path,
        )
    else:
        log("  skipped: no SDV fit time to match (pass --budget-seconds)")

    log("4/4 scores on the official test rows")
    reference_auc = real_auc(train, test, entry, positive)
    scores = {"syngen": score(ours, train, test, entry, positive, n_tstr)}
    if sdv:
        scores["sdv"] = score(sdv, train, test, entry, positive, n_tstr)
    if ours_budget:
        scores["syngen_budget"] = score(ours_budget, train, test, entry, positive, n_tstr)
    for k, v in scores.items():
        log(
            f"  {k}: "
            + ", ".join(
                f"{m}={v[m]:.3f}"
                for m in (
                    "overall",
                    "column_shapes",
                    "column_pair_trends",
                    "tstr_auc",
                    "detection_auc",
                )
                if v[m] is not None
            )
        )

    es_o = epoch_stats(ours)
    es_s = epoch_stats(sdv) if sdv else {}
    s_ = scores.get("sdv", {})
    epoch_ours, epoch_note = es_o["median_wall"], None
    if ours_budget and es_o["median_wall"]:
        # This host's speed drifts by up to 30% within minutes; SDV's fit runs between
        # syngen's two, so the mean of their medians cancels a steady drift.
        es_b = epoch_stats(ours_budget)
        epoch_ours = statistics.fmean([es_o["median_wall"], es_b["median_wall"]])
        epoch_note = (
            "syngen: the mean of the median epoch of its fit before SDV's "
            f"({es_o['median_wall']:.3g} s, {es_o['epochs']} epochs) and of its equal-budget "
            f"fit after SDV's ({es_b['median_wall']:.3g} s, {es_b['epochs']} epochs; the "
            "same architecture, the defaults for this table); SDV: the median of its "
            f"{es_s.get('epochs')} epochs, run between the two"
        )
    m = [
        metric(
            "epoch_seconds",
            "Seconds per training epoch (median, same architecture, batch 500, pac 10)",
            epoch_ours,
            es_s.get("median_wall"),
            unit="s",
            target=("ratio", "<=", 0.3),
            note=epoch_note,
        ),
        metric(
            "epoch_cpu_seconds",
            "CPU seconds per training epoch (mean)",
            es_o["mean_cpu"],
            es_s.get("mean_cpu"),
            unit="CPU s",
        ),
        metric(
            "transformer_fit",
            f"Transformer fit, {len(train):,} rows (median of {repeats})",
            median(tf["ours_seconds"]),
            median(tf["sdv_seconds"]),
            unit="s",
            target=("ratio", "<=", 0.15),
            note="syngen TableTransformer.fit vs ctgan DataTransformer.fit (what SDV's CTGAN fits)",
        ),
        metric(
            "pre_training",
            "Fit time before the first epoch (all preprocessing and setup)",
            ours["seconds_before_first_epoch"],
            sdv and sdv["seconds_before_first_epoch"],
            unit="s",
        ),
        metric(
            "sample",
            f"Sample {sample_rows:,} rows (median of {repeats})",
            median(ours["sample_seconds"]),
            sdv and median(sdv["sample_seconds"]),
            unit="s",
            target=("ratio", "<=", 0.25),
        ),
        metric(
            "fit_seconds",
            f"Whole fit, {epochs} epochs (wall)",
            ours["fit_seconds"],
            sdv and sdv["fit_seconds"],
            unit="s",
        ),
        metric(
            "peak_rss",
            f"Peak RSS of the fit process ({epochs}-epoch fit, VmHWM)",
            ours["rss_after_fit_mib"],
            sdv and sdv["rss_after_fit_mib"],
            unit="MiB",
            target=("ratio", "<=", 1.0),
            note="high-water RSS of the fit process at the end of fit, including the "
            "interpreter, imports and the training frame",
        ),
        metric(
            "peak_rss_tree",
            "Peak RSS of the fit process tree, sampled every 0.2 s (includes joblib workers)",
            ours["process"]["tree_peak_rss_mib"].get("fit"),
            sdv and sdv["process"]["tree_peak_rss_mib"].get("fit"),
            unit="MiB",
        ),
    ]
    for key, label in (
        ("overall", "QualityReport overall"),
        ("column_shapes", "QualityReport Column Shapes"),
        ("column_pair_trends", "QualityReport Column Pair Trends"),
        ("tstr_auc", f"TSTR ROC AUC on income (mean of {n_tstr} samples)"),
        ("detection_auc", "Detection ROC AUC (0.5 best)"),
    ):
        m.append(
            metric(
                f"{key}_same_epochs",
                f"{label}, both {epochs} epochs",
                scores["syngen"][key],
                s_.get(key),
                better="lower" if key == "detection_auc" else "higher",
                # The targets: sdmetrics quality at least SDV's after the same epochs.
                target=("ratio", ">=", 1.0)
                if key in ("overall", "column_shapes", "column_pair_trends")
                else None,
            )
        )
    m.append(
        metric(
            "real_auc",
            "Train-real-test-real ROC AUC on income (reference)",
            reference_auc,
            reference_auc,
            better="higher",
        )
    )
    if ours_budget:
        b = scores["syngen_budget"]
        m += [
            metric(
                "budget_fit_seconds",
                "Equal budget: fit wall seconds (SDV = "
                f"{epochs} epochs; syngen defaults with max_seconds = SDV's)",
                ours_budget["fit_seconds"],
                sdv and sdv["fit_seconds"],
                unit="s",
            ),
            metric(
                "budget_fit_cpu",
                "Equal budget: fit CPU seconds",
                ours_budget["fit_cpu_seconds"],
                sdv and sdv["fit_cpu_seconds"],
                unit="CPU s",
            ),
            metric(
                "budget_epochs",
                "Equal budget: epochs trained",
                ours_budget["epochs_trained"],
                sdv and sdv["epochs_trained"],
                better="info",
            ),
        ]
        for key, label in (
            ("column_shapes", "Column Shapes"),
            ("column_pair_trends", "Column Pair Trends"),
            ("tstr_auc", f"TSTR ROC AUC on income (mean of {n_tstr} samples)"),
            ("detection_auc", "Detection ROC AUC (0.5 best)"),
        ):
            m.append(
                metric(
                    f"{key}_budget",
                    f"Equal budget: {label}",
                    b[key],
                    s_.get(key),
                    better="lower" if key == "detection_auc" else "higher",
                    target=BUDGET_TARGETS[key],
                )
            )
    result.update(
        metrics=m,
        transformer_fit=tf,
        scores=scores,
        real_auc=reference_auc,
        fits={"syngen": ours, "sdv": sdv, "syngen_budget": ours_budget},
    )
    return finish(ctx, "adult", result)


# ---- census income (KDD) ----------------------------------------------------------------------
def part_census(ctx: Context) -> dict:
    args = ctx.args
    df, entry = common.load_table(ctx.datasets, "census_income_kdd")
    if ctx.quick:
        df = common.subsample(df, 20_000)
    result = base_result(ctx, "census")
    repeats = 1 if ctx.quick else 2
    result["settings"] = {
        "rows": len(df),
        "columns": df.shape[1],
        "repeats": repeats,
        "training": "syngen defaults, epochs=1, seed 0, whole table",
    }
    log(f"census_income_kdd: {len(df)} rows x {df.shape[1]} columns")
    use_sdv = ctx.use_sdv and not args.census_no_sdv
    tf = time_transformers(ctx, df, entry, repeats, use_sdv)
    work = ctx.workdir("census")
    train_path = work / "train.parquet"
    df.to_parquet(train_path)
    ours = fit_in_subprocess(
        ctx,
        work,
        "syngen-1epoch",
        {
            "library": "syngen",
            "kinds": common.syngen_kinds(entry),
            "sample_repeats": 0,
            "eval_rows": 0,
            "params": {"epochs": 1, "seed": 0, "verbose": False},
        },
        train_path,
    )
    m = [
        metric(
            "transformer_fit",
            f"Transformer fit, {len(df):,} x {df.shape[1]} (median of {repeats})",
            median(tf["ours_seconds"]),
            median(tf["sdv_seconds"]),
            unit="s",
            target=("ours", "<", 60.0),
            note="SDV column: ctgan DataTransformer.fit, for reference",
        ),
        metric(
            "peak_rss_1epoch",
            "Peak RSS of a 1-epoch fit (VmHWM of the fit process)",
            ours["rss_after_fit_mib"],
            None,
            unit="MiB",
            target=("ours", "<", 2048.0),
        ),
        metric(
            "peak_rss_tree_1epoch",
            "Peak RSS of the 1-epoch fit process tree (sampled)",
            ours["process"]["tree_peak_rss_mib"].get("fit"),
            None,
            unit="MiB",
        ),
        metric(
            "rss_before_fit",
            "RSS before the fit (interpreter, imports, the frame)",
            ours["rss_before_fit_mib"],
            None,
            unit="MiB",
            better="info",
        ),
        metric(
            "fit_1epoch_seconds",
            "1-epoch fit wall seconds (transformer + encode + 1 epoch)",
            ours["fit_seconds"],
            None,
            unit="s",
        ),
    ]
    result.update(metrics=m, transformer_fit=tf, fits={"syngen": ours})
    return finish(ctx, "census", result)


# ---- the report (syngen report) on 30,000 x 15 --------------------------------------------------
def part_scoring(ctx: Context) -> dict:
    """Wall time of a full report: 30,000 real rows x 15 columns, a 6,000-row holdout, 30,000
    synthetic rows, target and sensitive column, HTML and JSON written. The synthetic rows are
    the independent-columns baseline: what the report costs does not depend on who made them.
    The reference in the same run is sdmetrics' QualityReport alone on the same frames."""
    from syngen import Metadata
    from syngen.report import ReportConfig, evaluate, independent_baseline, quality_scores

    df, entry = common.load_table(ctx.datasets, "adult")
    n_train, n_hold = (5_000, 1_000) if ctx.quick else (30_000, 6_000)
    df = common.subsample(df, n_train + n_hold, seed=0)
    train, holdout = df.iloc[:n_train].reset_index(drop=True), df.iloc[n_train:]
    synthetic = independent_baseline(train, n_train, seed=0)
    kinds = {"columns": common.syngen_kinds(entry)}
    result = base_result(ctx, "scoring")
    result["settings"] = {
        "real rows": n_train,
        "holdout rows": n_hold,
        "synthetic rows": n_train,
        "columns": df.shape[1],
        "target": entry["target"],
        "sensitive": "marital_status",
        "config": "ReportConfig() defaults, seed 0",
    }
    work = ctx.workdir("scoring")
    quiet = wait_for_quiet(ctx.args.quiet_wait, log=log)
    load = ForeignLoad().start()
    t = time.perf_counter()
    rep = evaluate(
        train,
        synthetic,
        holdout=holdout.reset_index(drop=True),
        metadata=kinds,
        target=entry["target"],
        sensitive="marital_status",
        config=ReportConfig(),
    )
    t_scores = time.perf_counter() - t
    rep.to_html(work / "report.html")
    rep.to_json(work / "report.json")
    t_total = time.perf_counter() - t
    foreign = load.stop()
    t = time.perf_counter()
    quality_scores(train, synthetic, Metadata.from_dict(kinds))
    t_quality = time.perf_counter() - t
    log(f"report: {t_total:.1f} s (scores {t_scores:.1f} s); sdmetrics alone {t_quality:.1f} s")
    m = [
        metric(
            "report_seconds",
            f"Full report, {n_train:,} x {df.shape[1]} + {n_hold:,} holdout (scores, HTML, JSON)",
            t_total,
            t_quality,
            unit="s",
            target=("ours", "<", 60.0),
            note="SDV column: sdmetrics QualityReport alone (fidelity only), for reference",
        ),
        metric("report_scores_seconds", "of which computing the scores", t_scores, None, unit="s"),
        metric(
            "html_bytes",
            "HTML page size",
            (work / "report.html").stat().st_size,
            None,
            unit="bytes",
            better="info",
        ),
    ]
    result.update(metrics=m, quiet_wait=quiet, foreign_cores=foreign, scores={"syngen": rep.scores})
    return finish(ctx, "scoring", result)


# ---- CLI ----------------------------------------------------------------------------------------
def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description="syngen TabularGAN vs SDV CTGANSynthesizer: speed, memory and quality.",
    )
    p.add_argument(
        "part",
        nargs="?",
        default="all",
        choices=("all", *PARTS, "report"),
        help="which part to run (default: all parts, then the report)",
    )
    p.add_argument(
        "--datasets",
        default=str(common.DEFAULT_DATASETS),
        help="folder with manifest.json and the parquet files (default: <repo>/../shared/datasets)",
    )
    p.add_argument(
        "--out",
        default=str(common.DEFAULT_OUT),
        help="where the JSON results go (default: <repo>/bench-results)",
    )
    p.add_argument(
        "--docs",
        default=str(common.REPO / "docs" / "benchmarks.md"),
        help="the markdown report that `report` writes",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 2 epochs, subsampled rows; writes <part>-quick.json",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs of the same-architecture Adult fits (default 50; 2 with --quick)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="repeats of the transformer-fit and sampling timings (default 3)",
    )
    p.add_argument(
        "--budget-seconds",
        type=float,
        default=None,
        help="syngen's max_seconds when there is no SDV fit to take it from",
    )
    p.add_argument("--no-sdv", action="store_true", help="skip the SDV baseline")
    p.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        help="seconds one fit subprocess may run (default 3600)",
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=300.0,
        help="before each timed step, wait up to this many seconds for other "
        "processes to leave the CPU (default 300)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="cap torch/BLAS/OpenMP threads for both libraries (default: their own "
        "choice, all cores); 1 keeps timings sane when another process is busy",
    )
    p.add_argument(
        "--keep-work",
        action="store_true",
        help="keep bench-results/work-<part>/ (specs, logs, synthetic samples)",
    )
    args = p.parse_args(argv)
    args.argv = argv
    return args


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    ctx = Context(args)
    if args.threads:
        limit_threads(args.threads)
    if args.part == "report":
        return report.main(ctx.out, Path(args.docs), quick=args.quick)
    try:
        common.load_manifest(ctx.datasets)
    except DatasetsMissing as exc:
        log(f"benchmarks skipped: datasets not found ({exc}); pass --datasets DIR")
        return 0
    if not ctx.use_sdv:
        log(
            f"SDV baseline unavailable ({ctx.sdv_missing}): measuring syngen only; ratios n/a. "
            "Install it with `pip install -e .[bench]`."
        )
    parts = PARTS if args.part == "all" else (args.part,)
    runners = {
        "adult": part_adult,
        "census": part_census,
        "scoring": part_scoring,
    }
    failed = []
    for part in parts:
        t = time.perf_counter()
        try:
            runners[part](ctx)
        except DatasetsMissing as exc:
            log(f"{part}: skipped, {exc}")
        except Exception as exc:  # noqa: BLE001 - report and go on with the other parts
            log(f"{part}: FAILED: {type(exc).__name__}: {exc}")
            failed.append(part)
        log(f"{part}: {time.perf_counter() - t:.0f} s")
    if args.part == "all":
        report.main(ctx.out, Path(args.docs), quick=args.quick)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
