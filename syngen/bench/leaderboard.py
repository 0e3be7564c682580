"""The leaderboard of a bench: cells averaged over repeats, ranked per dataset, and written as
a console table, ``leaderboard.md`` and ``leaderboard.html`` (with a fidelity-vs-privacy and a
quality-vs-fit-time scatter, each row linking its cell's own report page).

Ranked rows (models and baselines) are ordered by overall quality (sdmetrics, against the
training rows); reference rows (identity, holdout) are shown apart and never ranked. The
privacy column is the DCR ratio: the 5th percentile of synthetic rows' distance to their
nearest training row over the same for real holdout rows (1: as far from the training rows as
unseen real rows are; 0: copies).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

from ..io import atomic_path

# (column, label, format, better); the time-series columns replace the table's scores
SERIES_COLUMNS = [
    ("discriminative", "discriminative", "{:.3f}", "lower"),
    ("predictive_mae", "predictive MAE", "{:.3f}", "lower"),
    ("acf_distance", "ACF distance", "{:.3f}", "lower"),
    ("length_ks", "length KS", "{:.3f}", "lower"),
    ("attribute_quality", "attributes", "{:.3f}", "higher"),
    ("dcr_ratio", "DCR ratio", "{:.2f}", "higher"),
    ("fit_seconds", "fit s", "{:.1f}", "lower"),
    ("sample_rows_per_second", "rows/s", "{:,.0f}", "higher"),
    ("peak_rss_mib", "peak MiB", "{:,.0f}", "lower"),
]
COLUMNS = [
    ("quality", "quality", "{:.3f}", "higher"),
    ("column_shapes", "shapes", "{:.3f}", "higher"),
    ("column_pair_trends", "pairs", "{:.3f}", "higher"),
    ("detection_auc", "detection AUC", "{:.3f}", "lower"),
    ("utility", "TSTR", "{:.3f}", "higher"),
    ("dcr_ratio", "DCR ratio", "{:.2f}", "higher"),
    ("membership_auc", "membership AUC", "{:.3f}", "lower"),
    ("epsilon_spent", "epsilon", "{:.2f}", None),
    ("fit_seconds", "fit s", "{:.1f}", "lower"),
    ("sample_rows_per_second", "rows/s", "{:,.0f}", "higher"),
    ("peak_rss_mib", "peak MiB", "{:,.0f}", "lower"),
]


def cell_values(cell: dict) -> dict:
    """The leaderboard's numbers of one finished cell."""
    s = cell.get("scores", {})
    utility = next(
        (s[k] for k in ("utility.tstr_roc_auc", "utility.tstr_macro_f1", "utility.tstr_r2")
         if s.get(k) is not None),
        None,
    )  # fmt: skip
    hold = s.get("privacy.dcr_holdout_p5")
    privacy = cell.get("privacy") or {}
    return {
        "quality": s.get("fidelity.quality"),
        "column_shapes": s.get("fidelity.column_shapes"),
        "column_pair_trends": s.get("fidelity.column_pair_trends"),
        "detection_auc": s.get("fidelity.detection_auc"),
        "utility": utility,
        "dcr_ratio": None if not hold else s.get("privacy.dcr_train_p5", 0.0) / hold,
        "membership_auc": s.get("privacy.membership_auc"),
        "epsilon_spent": privacy.get("epsilon", cell.get("spent_epsilon")),
        "fit_seconds": cell.get("fit_seconds"),
        "sample_rows_per_second": cell.get("sample_rows_per_second"),
        "peak_rss_mib": cell.get("peak_rss_mib"),
        **{k: s.get(f"series.{k}") for k in
           ("discriminative", "predictive_mae", "acf_distance", "length_ks", "attribute_quality")},
    }  # fmt: skip


def columns(kind: str) -> list[tuple]:
    return SERIES_COLUMNS if kind == "timeseries" else COLUMNS


def _rank_key(row: dict, kind: str):
    """Tables rank by overall quality (higher first); series by the discriminative score
    (lower first: a classifier's accuracy above chance at telling them from real ones)."""
    if kind == "timeseries":
        return row["mean"]["discriminative"]
    return None if row["mean"]["quality"] is None else -row["mean"]["quality"]


def leaderboard(results: dict) -> list[dict]:
    """One row per (dataset, model, epsilon): means and standard deviations over repeats,
    with a rank among the ranked rows of its dataset."""
    groups: dict[tuple, list[dict]] = {}
    for cell in results["cells"]:
        groups.setdefault((cell["dataset"], cell["model"], cell["epsilon"]), []).append(cell)
    rows = []
    for (dataset, model, eps), cells in groups.items():
        done = [c for c in cells if c["status"] == "done"]
        row = {"dataset": dataset, "model": model, "epsilon": eps, "role": cells[0]["role"],
               "repeats": len(cells), "finished": len(done),
               "errors": [c.get("error") for c in cells if c["status"] != "done"],
               "reports": [c["report"] for c in done], "mean": {}, "std": {}}  # fmt: skip
        for key in {c[0] for c in COLUMNS + SERIES_COLUMNS}:
            values = [v[key] for v in map(cell_values, done) if v[key] is not None]
            row["mean"][key] = float(np.mean(values)) if values else None
            row["std"][key] = float(np.std(values)) if len(values) > 1 else None
        rows.append(row)
    kinds = {d["name"]: d["kind"] for d in results["datasets"]}
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        kind = kinds[dataset]
        ranked = [r for r in rows if r["dataset"] == dataset and r["role"] != "reference"
                  and _rank_key(r, kind) is not None]  # fmt: skip
        ranked.sort(key=lambda r: _rank_key(r, kind))
        for i, r in enumerate(ranked, 1):
            r["rank"] = i
    order = {d: i for i, d in enumerate(dict.fromkeys(r["dataset"] for r in rows))}
    return sorted(
        rows,
        key=lambda r: (order[r["dataset"]], r["role"] == "reference", r.get("rank", 1e9)),
    )


def _name(row: dict) -> str:
    return row["model"] + (f" (eps {row['epsilon']:g})" if row["epsilon"] is not None else "")


def _cell(row: dict, key: str, fmt: str) -> str:
    mean, std = row["mean"].get(key), row["std"].get(key)
    if mean is None:
        return "-"
    text = fmt.format(mean)
    return text + (f" +/- {fmt.format(std)}" if std is not None and key != "peak_rss_mib" else "")


def markdown(results: dict) -> str:
    lines = [
        f"# syngen bench ({results['created']}, syngen {results['syngen_version']})",
        "",
        "Tables rank by overall quality, time series by the discriminative score (0 best); "
        "reference rows (identity, holdout) are not ranked. "
        "DCR ratio: 1 is as far from the training rows as unseen real rows, 0 is copies. "
        "Means (+/- standard deviation) over repeats.",
    ]
    for ds in results["datasets"]:
        rows = [r for r in results["leaderboard"] if r["dataset"] == ds["name"]]
        split = ds["split"]["rows"]
        cols = columns(ds["kind"])
        unit = "entities" if ds["kind"] == "timeseries" else "rows"
        lines += [
            "",
            f"## {ds['name']}",
            "",
            f"{ds['rows']:,} rows x {ds['columns']} columns; target {ds['target'] or 'none'}; "
            f"licence {ds['licence'] or 'not stated'}; split (seed {ds['split']['seed']}): "
            f"{split['train']:,} train / {split['holdout']:,} holdout / "
            f"{split['reference']:,} reference rows"
            + (f" ({unit} split)" if unit != "rows" else "")
            + ".",
            "",
            "| rank | model | " + " | ".join(label for _, label, *_ in cols) + " |",
            "|---|---|" + "---:|" * len(cols),
        ]
        for r in rows:
            rank = str(r.get("rank", "ref" if r["role"] == "reference" else "-"))
            cells = [_cell(r, key, fmt) for key, _, fmt, _ in cols]
            note = f" ({r['finished']}/{r['repeats']} finished)" if r["errors"] else ""
            lines.append(f"| {rank} | {_name(r)}{note} | " + " | ".join(cells) + " |")
        errors = [(r, e) for r in rows for e in r["errors"]]
        if errors:
            lines += ["", "Failed cells:"] + [f"- {_name(r)}: {e}" for r, e in errors]
    skipped = results.get("skipped") or []
    if skipped:
        lines += ["", "Skipped:"] + sorted({f"- {s['model']}: {s['reason']}" for s in skipped})
    return "\n".join(lines) + "\n"


def console(results: dict) -> str:
    """A compact table per dataset for a terminal."""
    fmts = {k: f for k, _, f, _ in COLUMNS + SERIES_COLUMNS}
    out = []
    for ds in results["datasets"]:
        if ds["kind"] == "timeseries":
            keys = ["discriminative", "predictive_mae", "acf_distance", "dcr_ratio", "fit_seconds"]
            head = ["discrim", "pred", "ACF", "DCR", "fit s"]
        else:
            keys = ["quality", "column_pair_trends", "utility", "dcr_ratio", "fit_seconds"]
            head = ["quality", "pairs", "TSTR", "DCR", "fit s"]
        out.append(f"\n{ds['name']}:  rank  {'model':30s} " + " ".join(f"{h:>7s}" for h in head))
        for r in (r for r in results["leaderboard"] if r["dataset"] == ds["name"]):
            rank = str(r.get("rank", "ref" if r["role"] == "reference" else "-"))
            vals = ["-" if r["mean"][k] is None else fmts[k].format(r["mean"][k]) for k in keys]
            failed = " (failed)" if not r["finished"] else ""
            out.append(f"{'':{len(ds['name']) + 3}s}{rank:>4s}  {_name(r) + failed:30s} "
                       + " ".join(f"{v:>7s}" for v in vals))  # fmt: skip
    return "\n".join(out)


def _scatter_png(rows: list[dict], x: str, y: str, xlabel: str, ylabel: str, log_x=False):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 3.4))
    for r in rows:
        if r["mean"].get(x) is None or r["mean"].get(y) is None:
            continue
        marker = "s" if r["role"] == "reference" else "o"
        ax.scatter(r["mean"][x], r["mean"][y], marker=marker)
        ax.annotate(_name(r), (r["mean"][x], r["mean"][y]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")  # fmt: skip
    if log_x and all(r["mean"].get(x) for r in rows if r["mean"].get(x) is not None):
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def page(results: dict) -> str:
    """The self-contained HTML leaderboard."""
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>syngen bench</title><style>"
        "body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse}"
        "td,th{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:right}"
        "td:nth-child(2),th:nth-child(2){text-align:left}tr.ref{color:#666;font-style:italic}"
        "</style></head><body>",
        f"<h1>syngen bench</h1><p>{e(results['created'])}, syngen "
        f"{e(results['syngen_version'])}. Tables rank by overall quality, time series by the "
        "discriminative score (0 best); reference rows are not ranked. DCR ratio: 1 is as "
        "far from the training rows as unseen real rows, 0 is copies.</p>",
    ]
    for ds in results["datasets"]:
        rows = [r for r in results["leaderboard"] if r["dataset"] == ds["name"]]
        parts.append(f"<h2>{e(ds['name'])}</h2><p>{ds['rows']:,} rows x {ds['columns']} "
                     f"columns; target {e(str(ds['target']))}; licence "
                     f"{e(str(ds['licence']))}</p>")  # fmt: skip
        cols = columns(ds["kind"])
        head = "".join(f"<th>{e(label)}</th>" for _, label, *_ in cols)
        parts.append(f"<table><tr><th>rank</th><th>model</th>{head}</tr>")
        for r in rows:
            rank = r.get("rank", "ref" if r["role"] == "reference" else "-")
            name = e(_name(r))
            if r["reports"]:
                name = f"<a href='{e(r['reports'][0])}'>{name}</a>"
            if r["errors"]:
                name += f" <small title='{e(str(r['errors'][0]))}'>(failed)</small>"
            cells = "".join(f"<td>{e(_cell(r, k, f))}</td>" for k, _, f, _ in cols)
            cls = " class='ref'" if r["role"] == "reference" else ""
            parts.append(f"<tr{cls}><td>{rank}</td><td>{name}</td>{cells}</tr>")
        parts.append("</table>")
        score = "discriminative" if ds["kind"] == "timeseries" else "quality"
        for args in (
            ("dcr_ratio", score, "privacy: DCR ratio (higher is safer)", score),
            ("fit_seconds", score, "fit seconds", score, True),
        ):
            parts.append(f"<img alt='{e(args[2])}' src='data:image/png;base64,"
                         f"{_scatter_png(rows, *args)}'>")  # fmt: skip
    parts.append("</body></html>")
    return "\n".join(parts)


def write_pages(results: dict, out: Path) -> None:
    with atomic_path(out / "leaderboard.md") as tmp:
        tmp.write_text(markdown(results))
    with atomic_path(out / "leaderboard.html") as tmp:
        tmp.write_text(page(results), encoding="utf-8")
