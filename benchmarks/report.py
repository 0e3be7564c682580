"""docs/benchmarks.md: markdown from bench-results/*.json (the probes of run.py and dp.py) and
from the leaderboards' results.json (`syngen bench`, run by `nox -s bench`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # syngen, from a checkout

from syngen.bench.leaderboard import markdown as leaderboard_markdown  # noqa: E402

TITLES = {
    "adult": "Adult (UCI Census Income, official split)",
    "census": "Census-Income KDD (299,285 x 42): scale",
    "scoring": "The report (`syngen report`) on 30,000 x 15 with a 6,000-row holdout",
}
# The leaderboards: bench-results/<folder>/results.json, written by `syngen bench`.
LEADERBOARDS = {
    "leaderboard": "Leaderboard: finance and medical tables",
    "leaderboard-series": "Leaderboard: time series",
    "leaderboard-series-dp": "Time series under entity-level DP (every statistic paid for)",
    "leaderboard-series-dp-public": "Time series under entity-level DP, a codebook's domains "
    "public (benchmarks/series_public.json)",
}


def fmt(x) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, str):  # "did not finish"
        return x
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:.0f}"
    return f"{x:.3g}"


def fmt_target(t: dict | None) -> str:
    if not t:
        return ""
    what = "ours/peer" if t["on"] == "ratio" else "ours"
    return f"{what} {t['op']} {t['value']:g}"


def fmt_pass(p) -> str:
    return "" if p is None else ("PASS" if p else "FAIL")


def render_part(result: dict) -> str:
    peer = result.get("peer_column", "SDV CTGAN")
    lines = [
        f"| Metric | syngen | {peer} | ours/peer | better | target | pass |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    for m in result["metrics"]:
        unit = f" ({m['unit']})" if m.get("unit") else ""
        ratio = "" if m["ratio"] is None else f"{m['ratio']:.3f}"
        lines.append(
            f"| {m['name']}{unit} | {fmt(m['ours'])} | {fmt(m['sdv'])} | "
            f"{ratio} | {m['better']} | "
            f"{fmt_target(m['target'])} | {fmt_pass(m['pass'])} |"
        )
    return "\n".join(lines)


def _machine(result: dict) -> str:
    mc = result["machine"]
    v = mc["versions"]
    libs = ", ".join(
        f"{k} {v[k]}"
        for k in ("torch", "pandas", "numpy", "scikit-learn", "sdmetrics", "sdv", "ctgan", "rdt")
        if v.get(k)
    )
    return (
        f"{mc['cpu']}, {mc['cpu_count']} cores, {mc['memory_gib']} GiB, "
        f"torch threads {mc['torch_threads']}, CUDA {mc['cuda']}; Python {v['python']}; {libs}; "
        f"syngen: git {mc['git_commit']}{' + uncommitted changes' if mc['git_dirty'] else ''}"
        f", sha256 of syngen/**/*.py {mc.get('syngen_source_sha256')}"
    )


def _contention(result: dict) -> str:
    parts = []
    tf = result.get("transformer_fit")
    if tf and tf.get("foreign_cores"):
        parts.append(f"transformer fits {tf['foreign_cores']}")
    if result.get("foreign_cores") is not None:
        parts.append(f"timed step {result['foreign_cores']}")
    for label, fits in (result.get("fits") or {}).items():
        # One fit per library, or a list of them (German credit: one per seed).
        runs = fits if isinstance(fits, list) else [fits]
        for i, fit in enumerate(runs):
            if fit:
                fc = fit["process"].get("foreign_cores", {})
                bits = ", ".join(f"{k} {fc[k]}" for k in ("fit", "sample") if k in fc)
                parts.append(f"{label}{f' #{i}' if len(runs) > 1 else ''} ({bits})")
    return "; ".join(parts)


def render_section(part: str, result: dict) -> str:
    s = result.get("settings", {})
    out = [f"## {TITLES.get(part, part)}", ""]
    out.append(f"- Command: `{result['command']}`")
    out.append(
        f"- Run: {result['started']} to {result.get('finished', '?')}; load average at "
        f"start {result['machine']['load_average']}, at end "
        f"{result.get('load_average_end')}"
    )
    out.append(f"- Machine: {_machine(result)}")
    out.append(f"- Threads (torch/BLAS/OpenMP) for both libraries: {result.get('threads')}")
    if not result.get("sdv_baseline") and part != "timeseries":
        out.append(f"- SDV baseline not measured: {result.get('sdv_missing_reason')}")
    if s:
        out.append("- Settings: " + "; ".join(f"{k} {v}" for k, v in s.items()))
    load = _contention(result)
    if load:
        out.append(
            "- CPU used by other processes during the timed steps, in cores (0 = the "
            f"machine to itself; 2 cores here): {load}"
        )
    out += ["", render_part(result), ""]
    notes = [m for m in result["metrics"] if m.get("note")]
    for m in notes:
        out.append(f"- *{m['name']}*: {m['note']}")
    if notes:
        out.append("")
    return "\n".join(out)


METHOD = """\
## How it is measured

Every number in a table was measured in the run it names, on the machine it names; the peer
column is SDV's `CTGANSynthesizer` for tables, and gretel-synthetics' DGAN or SDV's
`PARSynthesizer` (named in each row) for sequences, measured in that same run. Ratios are
always ours/peer; the "better" column says which direction is good. Nothing is copied from
earlier runs.

- **Per-epoch seconds**: both libraries train the CTGAN paper's architecture (embedding 128,
  generator and discriminator (256, 256), batch 500, pac 10, 1 discriminator step) on the 32,561
  official training rows for the same number of epochs, each in its own process. The clock is read
  when each epoch starts and when the last one ends: syngen reports those moments through
  `fit(..., on_epoch=...)`; SDV's loop iterates over a `tqdm` object, and the harness wraps that
  module-level name (`ctgan.synthesizers.ctgan.tqdm`). The transformer fit, encoding and network
  setup are outside every epoch. SDV's figure is the median of its epochs. This host's speed
  drifts by up to 30% within minutes, and the fits run one after another (syngen, SDV, then
  syngen's equal-budget fit, which has the same architecture), so syngen's figure is the mean of
  the median epochs of its two fits, one before SDV's and one after: a steady drift cancels. The
  note under the table gives both medians (runs before c. 2026-11-23 used the first fit alone).
- **Threads**: "default" lets torch, BLAS and OpenMP use every core (2 here) in both libraries;
  `--threads N` caps them at N for both. The machine is shared: when another process keeps a
  core busy, multi-threaded torch on 2 cores stalls in OpenMP and runs an order of magnitude
  slower (both libraries), so each section reports how many cores other processes used during
  each timed step, and the harness waits (`--quiet-wait`) for a quiet machine before each
  step. `--threads 1` keeps timings meaningful on a busy machine (each process gets one core).
- **Code measured**: each section names the syngen git commit and a hash of `syngen/**/*.py`
  at the time of the run; sections run at different times may have measured different code.
- **Transformer fit**: `syngen.transform.TableTransformer(metadata, seed=0).fit(train)` against
  `ctgan.data_transformer.DataTransformer().fit(train, discrete_columns)` (the transformer that
  SDV's CTGAN fits), alternated, median of the repeats, in the parent process. syngen fits its
  Gaussian mixtures on a 20,000-row sample per column (`transformer_sample_size`); ctgan fits a
  Bayesian Gaussian mixture on every row. "Fit time before the first epoch" is everything
  either `fit` does before training (SDV's own data processor included).
- **Sampling**: `TabularGAN.sample(100_000)` against `CTGANSynthesizer.sample(100_000)`, median
  of the repeats, in the fit process after the fit.
- **Peak memory**: each fit runs in a fresh process; its high-water RSS (`VmHWM` in
  /proc/self/status) is read at the end of the fit, so it includes the interpreter, the imports
  and the training frame for both. (`ru_maxrss` is not used: Linux carries it over fork and
  exec, so a child would start with the harness process's peak as a floor.) ctgan transforms
  columns in joblib worker processes that one process's RSS does not see, so the RSS of the
  whole process tree is also sampled every 0.2 s (second memory row).
- **Quality**: sdmetrics `QualityReport` with metadata built from the manifest types
  (integer/numerical -> numerical, categorical -> categorical), the real rows being the 16,281
  official test rows and the synthetic rows the first 16,281 of a sample of 3 x 32,561.
  Every score is syngen's own report (`syngen.report`, the code behind `syngen report`; see
  docs/report.md), so the benchmark measures what users are shown. TSTR:
  `HistGradientBoostingClassifier(random_state=0)`, categories as native categorical features,
  trained on 32,561 synthetic rows, ROC AUC on the real test rows (positive class: the rarer
  one), the mean over the sample's three slices of 32,561 rows (runs before c. 2026-11-23
  scored one slice); the same classifier trained on the real training rows is the
  reference. Detection:
  the same kind of classifier telling the real test rows from as many synthetic rows, 3-fold
  ROC AUC with identical rows kept in one fold (0.5: indistinguishable). Results measured
  before this definition (commits up to 3b3a8a9) used 5-fold stratified folds; their
  detection figures are comparable in order, not digit for digit. Scoring is not timed and
  runs single-threaded (threadpoolctl), which a busy shared machine otherwise slows to a crawl.
- **Census-Income KDD**: all 299,285 rows; syngen's transformer fit in the harness process, and
  a 1-epoch fit with syngen's defaults in a fresh process for its peak RSS. The SDV column of
  the transformer row is ctgan's DataTransformer on the same frame, for reference.
- **Equal budget**: syngen with its defaults (batch, epochs and pac chosen from the table size)
  and `max_seconds` set to the wall-clock seconds SDV's fit took in this run, counted from the
  start of `fit` (transformer included); training stops when one more epoch as long as the
  last would overrun it. Both fit-wall and fit-CPU seconds are shown.
- **Leaderboards** (`syngen bench`): one split per table and seed (train 70%, holdout 20%,
  reference 10%; stratified on the target; by entity for series). Every model fits in its own
  process on the training rows with one thread and the same time budget: syngen's models take
  it as `max_seconds`; a peer that takes only epochs gets the epochs that fit, from probe fits
  of 1 and 3 epochs after a warm-up (recorded per cell: `epoch_seconds`, `fixed_seconds`).
  Each samples as many rows (entities) as it trained on, and `syngen.report` scores every
  model alike against the holdout: overall quality (sdmetrics Column Shapes and Column Pair
  Trends), detection, TSTR against TRTR, DCR ratio; for series the discriminative, predictive,
  ACF and length scores. identity (a copy of train) and holdout (real rows no model saw) give
  the scale and are not ranked. The series tables made rather than stored (eu_stock windows:
  every window of 24 trading days of DAX, SMI, CAC and FTSE) come from
  `benchmarks/series_tables.py`. gretel's DGAN runs DoppelGANger's defaults with batch 100
  and a `sample_len` that divides the longest series; SDV's PAR its defaults.
- The probes (Adult, census, the report): single seed, single run per model; GAN training
  varies from seed to seed, and the machine is shared, so timings carry noise (see the load
  averages). The leaderboards give means and spread over their repeats.
"""


def _load(out_dir: Path, suffix: str) -> dict[str, dict]:
    results = {}
    for part in TITLES:
        path = Path(out_dir) / f"{part}{suffix}.json"
        if path.is_file():
            results[part] = json.loads(path.read_text())
    return results


DP_TABLES = {
    "adult": ("Adult (official split, delta 1e-5)", "the 32,561 training rows",
              "the official test rows"),
    "flchain": ("flchain, medical (80/20 split by numpy default_rng(0), target death, "
                "delta 1e-5)", "the 6,299 training rows", "the 1,575 test rows"),
}  # fmt: skip


def _spent(epsilon) -> str:
    return "n/a" if epsilon is None else f"{epsilon:.4g}"


def render_dp(records: list[dict], table: str = "adult") -> str:
    """A differential-privacy section, from bench-results/dp_<table>.json (benchmarks/dp.py)."""
    title, train, test = DP_TABLES[table]
    trtr = next((r["trtr_roc_auc"] for r in records if "trtr_roc_auc" in r), None)
    lines = [
        f"## Differential privacy on {title}",
        "",
        f"`python benchmarks/dp.py --table {table}` (peers: `--peer-python VENV/bin/python`). "
        f"Every model fitted in its own process on {train}; 3 x n sampled rows scored by "
        f"`syngen.report` on {test} (mean of the three frames, cut from a shuffle of the "
        f"sample). TSTR ROC AUC of real rows: {fmt(trtr)}. Epsilon `none`: the default fit "
        f"without DP. Plot: [dp_{table}.png](dp_{table}.png).",
        "",
        "| model | epsilon | spent (own accountant) | TSTR ROC AUC | Column Pair Trends | "
        "Column Shapes | detection AUC | fit s | started |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in records:
        if "error" in r:
            lines.append(
                f"| {r['model']} | {r['epsilon']} | failed: {r['error']} |||||| {r['started']} |"
            )
            continue
        lines.append(
            f"| {r['model']} | {r['epsilon']} | {_spent(r.get('spent_epsilon'))} | "
            f"{fmt(r['tstr_roc_auc'])} | {fmt(r['column_pair_trends'])} | "
            f"{fmt(r['column_shapes'])} | {fmt(r['detection_auc'])} | {fmt(r.get('fit_seconds'))} "
            f"| {r['started']} |"
        )
    return "\n".join([*lines, ""])


def render_leaderboard(results: dict, title: str) -> str:
    """A leaderboard section: how it was run, then `syngen bench`'s own markdown, its
    headings one level down."""
    st, mc = results["settings"], results["machine"]
    budget = (
        f"a time budget of {st['time_budget']:g} s per fit"
        if st.get("time_budget")
        else f"{st.get('epochs')} epochs"
    )
    versions = ", ".join(f"{k} {v}" for k, v in mc["versions"].items())
    own = leaderboard_markdown(results).split("\n", 1)[1]
    own = "\n".join("#" + line if line.startswith("## ") else line for line in own.splitlines())
    return "\n".join([
        f"## {title}",
        "",
        f"- Command: `nox -s bench` (noxfile.py's bench session: `syngen bench` on these "
        f"tables), run {results['created']}",
        f"- Settings: models {', '.join(st['models'] or ['per-kind defaults'])}; epsilons "
        f"{', '.join(f'{e:g}' for e in st['epsilons'])}; {budget}; {st['repeats']} repeat(s), "
        f"seed {st['seed']} (fit seeds seed + repeat); threads {st.get('threads') or 'default'}"
        f"; every fit in its own process",
        f"- Machine: {mc['platform']}, {mc['cpu_count']} cores; Python {mc['python']}; "
        f"{versions}; peers: "
        + (", ".join(f"{k} in {v}" for k, v in st["interpreters"].items())
           or "in the bench's own interpreter (noxfile.py's bench session installs them)"),
        f"- The leaderboard page with its scatters: "
        f"[leaderboard.html](../bench-results/{results['folder']}/leaderboard.html); each "
        f"cell's own report page (`cells/*/report.html`, half a megabyte each) is written by "
        f"the run and not kept in the repository; every score is in `results.json`",
        own,
    ])  # fmt: skip


def render_audit(records: list[dict]) -> str:
    """The privacy audit: per table and epsilon, the lower bound beside the claim."""
    lines = [
        "## Privacy audit (`syngen audit`): lower bound against claimed epsilon",
        "",
        "Command: `python benchmarks/audit.py` (one `syngen.audit` per row: the defaults of "
        "`syngen audit`, canaries a quarter of the rows, each in by a fair coin; public domains "
        "from the codebook for the DP fits, see the script). The bound holds at 95% as a whole "
        "(Bonferroni over 3 scores x 4 guess counts); its ceiling with M canaries all guessed "
        "right is 3.5 for 100 guesses and 5.8 for 1,000. CPU seconds are the audit process's "
        "(fit, sampling, scores), wall seconds include waiting on a shared host.",
        "",
        "| table | claimed epsilon | lower bound | finding | best score | right / guesses | "
        "canaries (in) | epochs | CPU s | wall s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    order = {None: 0}
    for r in sorted(records, key=lambda r: (r["table"], order.get(r["epsilon"], 1),
                                            r["epsilon"] or 0)):  # fmt: skip
        claimed = "none (no DP)" if r["claimed_epsilon"] is None else f"{r['claimed_epsilon']:g}"
        best = r["best"]
        cpu = r.get("cpu_seconds")
        lines.append(
            f"| {r['table']} | {claimed} | {r['lower_bound']:.3f} | {r.get('finding', '-')} | "
            f"{best['score']} | {best['correct']} / {best['k']} | {r['canaries']} "
            f"({r['included']}) | {r['model']['epochs_trained']} | "
            f"{'-' if cpu is None else f'{cpu:.0f}'} | {r['wall_seconds']:.0f} |"
        )
    commands = sorted({r["command"] for r in records if r.get("command")})
    lines += ["", "Each row's command (`--max-seconds` caps the fit's training, then the epochs "
              "column shows where it stopped):", ""]  # fmt: skip
    lines += [f"- `{c}`" for c in commands]
    return "\n".join([*lines, ""])


def render_summary(results: dict[str, dict]) -> str:
    """Every metric that has a target, from every part, in one table."""
    lines = [
        "| Part | Metric | syngen | peer | ours/peer | target | pass |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for label, result in results.items():
        for m in result["metrics"]:
            if not m.get("target"):
                continue
            unit = f" ({m['unit']})" if m.get("unit") else ""
            ratio = "" if m["ratio"] is None else f"{m['ratio']:.3f}"
            lines.append(
                f"| {label} | {m['name']}{unit} | {fmt(m['ours'])} | {fmt(m['sdv'])} | {ratio} "
                f"| {fmt_target(m['target'])} | {fmt_pass(m['pass'])} |"
            )
    return "\n".join(lines)


def main(out_dir: Path, docs: Path, quick: bool = False) -> int:
    """Render ``docs`` from ``out_dir/<part>.json``; ``out_dir/<name>/<part>.json`` (a run with
    ``--out bench-results/<name>``, e.g. other thread settings) are added as variants."""
    suffix = "-quick" if quick else ""
    results = _load(out_dir, suffix)
    variants = {}
    for sub in (
        sorted(p for p in Path(out_dir).iterdir() if p.is_dir()) if Path(out_dir).is_dir() else []
    ):
        for part, result in _load(sub, suffix).items():
            variants[f"{part} ({sub.name})"] = (part, result)
    if not results and not variants:
        print(f"no results in {out_dir}; run `python benchmarks/run.py` first")
        return 1
    body = [
        "# Benchmarks: syngen against the peers, on finance, medical and time-series data",
        "",
        "Generated by `python benchmarks/run.py report` from `bench-results/`: the leaderboards'"
        " `results.json` (`syngen bench`, run by `nox -s bench`) and the probes' JSON files"
        " (`python benchmarks/run.py`, `python benchmarks/dp.py`). Do not edit by hand:"
        " every number below comes from those files.",
        "",
    ]
    if quick:
        body += ["**Quick smoke run: few epochs, subsampled rows; not a result.**", ""]
    summary = {f"{k} (threads {r.get('threads')})": r for k, r in results.items()}
    summary.update({k: r for k, (_, r) in variants.items()})
    body += ["## Targets", "", render_summary(summary), ""]
    for folder, title in LEADERBOARDS.items():
        path = Path(out_dir) / folder / "results.json"
        if path.is_file():
            body.append(render_leaderboard({**json.loads(path.read_text()), "folder": folder},
                                           title))  # fmt: skip
    for part, result in results.items():
        body.append(render_section(part, result))
    for label, (part, result) in variants.items():
        section = render_section(part, result)
        body.append(
            section.replace(
                f"## {TITLES[part]}",
                f"## {TITLES[part]}, variant `{label.split('(')[1].rstrip(')')}`",
                1,
            )
        )
    for table in DP_TABLES:
        dp_path = Path(out_dir) / f"dp_{table}.json"
        if dp_path.is_file():
            body.append(render_dp(json.loads(dp_path.read_text()), table))
    audit_path = Path(out_dir) / "audit.json"
    if audit_path.is_file():
        body.append(render_audit(json.loads(audit_path.read_text())))
    missing = [p for p in TITLES if p not in results]
    if missing:
        body += [f"Not run: {', '.join(missing)}.", ""]
    body.append(METHOD)
    target = docs if not quick else Path(out_dir) / "report-quick.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(body))
    print(f"wrote {target}")
    return 0
