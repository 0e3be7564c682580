"""The report as one self-contained HTML page: no scripts, no network, plots embedded as PNG.

Everything drawn here comes from the report's JSON content, so a page can be made again from
a saved report (``Report.from_json(path).to_html(...)``).
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np

REAL, SYNTHETIC, HOLDOUT = "#1f77b4", "#ff7f0e", "#2ca02c"


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="plot" src="data:image/png;base64,{data}">'


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False})
    return plt


def _e(x) -> str:
    return html.escape(str(x))


def _fmt(x, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


# ---- plots ------------------------------------------------------------------------------
def _distribution_plot(plt, column: str, d: dict, score) -> str:
    fig, ax = plt.subplots(figsize=(3.6, 2.4))
    if d["kind"] == "categorical":
        x = np.arange(len(d["labels"]))
        ax.bar(x - 0.2, d["real"], 0.4, color=REAL, label="real")
        ax.bar(x + 0.2, d["synthetic"], 0.4, color=SYNTHETIC, label="synthetic")
        ax.set_xticks(x, [str(s)[:14] for s in d["labels"]], rotation=60, ha="right", fontsize=7)
    else:
        edges = np.asarray(d["edges"])
        ax.stairs(d["real"], edges, color=REAL, fill=True, alpha=0.45, label="real")
        ax.stairs(d["synthetic"], edges, color=SYNTHETIC, linewidth=1.6, label="synthetic")
        if d["kind"] == "datetime":
            ax.set_xlabel("seconds since 1970", fontsize=7)
        nulls = f"  nulls {d['real_null']:.0%} / {d['synthetic_null']:.0%}"
        if d["real_null"] or d["synthetic_null"]:
            ax.text(0.99, 0.97, nulls, transform=ax.transAxes, ha="right", va="top", fontsize=7)
    ax.set_ylabel("share of rows")
    title = column if score is None else f"{column}  (shape {score:.2f})"
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return _png(fig)


def _heatmaps(plt, a: dict) -> str:
    cols = a["columns"]
    real, syn = np.asarray(a["real"], float), np.asarray(a["synthetic"], float)
    size = max(3.0, 0.28 * len(cols) + 1.5)
    fig, axes = plt.subplots(1, 3, figsize=(3 * size, size))
    panels = [
        ("real", real, "Blues"),
        ("synthetic", syn, "Blues"),
        ("|real - synthetic|", np.abs(real - syn), "Reds"),
    ]
    for ax, (title, m, cmap) in zip(axes, panels, strict=True):
        im = ax.imshow(m, vmin=0, vmax=1, cmap=cmap)
        ax.set_title(title)
        ax.set_xticks(range(len(cols)), cols, rotation=90, fontsize=7)
        ax.set_yticks(range(len(cols)), cols if ax is axes[0] else [], fontsize=7)
    fig.colorbar(im, ax=axes, shrink=0.7, label="Cramér's V")
    return _png(fig)


def _dcr_plot(plt, h: dict) -> str:
    edges = np.asarray(h["edges"])
    fig, ax = plt.subplots(figsize=(6.5, 2.8))
    ax.stairs(
        h["holdout_to_train"],
        edges,
        color=HOLDOUT,
        fill=True,
        alpha=0.4,
        label="real holdout row → nearest training row",
    )
    ax.stairs(
        h["synthetic_to_train"],
        edges,
        color=SYNTHETIC,
        linewidth=1.8,
        label="synthetic row → nearest training row",
    )
    ax.stairs(
        h["synthetic_to_holdout"],
        edges,
        color=REAL,
        linewidth=1.2,
        linestyle="--",
        label="synthetic row → nearest holdout row",
    )
    ax.set_xlabel("distance to closest record (0 = identical row)")
    ax.set_ylabel("share of rows")
    ax.legend(fontsize=7, frameon=False)
    return _png(fig)


def _utility_plot(plt, u: dict) -> str:
    metrics = [m for m in ("roc_auc", "f1", "macro_f1", "r2") if f"tstr_{m}" in u]
    fig, ax = plt.subplots(figsize=(4.5, 2.6))
    x = np.arange(len(metrics))
    trtr = [u[f"trtr_{m}"] or 0 for m in metrics]
    tstr = [u[f"tstr_{m}"] or 0 for m in metrics]
    ax.bar(x - 0.2, trtr, 0.4, color=REAL, label="trained on real")
    ax.bar(x + 0.2, tstr, 0.4, color=SYNTHETIC, label="trained on synthetic")
    for xi, v in zip(x, tstr, strict=True):
        ax.text(xi + 0.2, v, f"{v:.3f}", ha="center", va="bottom", fontsize=7)
    for xi, v in zip(x, trtr, strict=True):
        ax.text(xi - 0.2, v, f"{v:.3f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, [m.replace("_", " ").upper() for m in metrics])
    ax.set_ylim(min(0, *trtr, *tstr), 1.08)
    ax.set_title(f"predicting {u['target']!r}, tested on real rows")
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    return _png(fig)


def _series_plots(plt, d: dict) -> list[str]:
    out = []
    t = d.get("trajectories") or {}
    if t:
        fig, axes = plt.subplots(1, 2, figsize=(8, 2.6), sharey=True)
        for ax, which, color in ((axes[0], "real", REAL), (axes[1], "synthetic", SYNTHETIC)):
            for series in t[which]:
                ax.plot([np.nan if v is None else v for v in series], color=color, alpha=0.7)
            ax.set_title(f"{which}: {t['feature']}")
            ax.set_xlabel("step")
        out.append(_png(fig))
    acf = d.get("acf") or {}
    if acf:
        fig, ax = plt.subplots(figsize=(4.5, 2.6))
        lags = np.arange(1, 1 + len(next(iter(acf.values()))["real"]))
        for i, (name, a) in enumerate(list(acf.items())[:6]):
            color = f"C{i}"
            ax.plot(
                lags,
                [np.nan if v is None else v for v in a["real"]],
                color=color,
                label=f"{name} real",
            )
            ax.plot(
                lags,
                [np.nan if v is None else v for v in a["synthetic"]],
                color=color,
                linestyle="--",
                label=f"{name} synthetic",
            )
        ax.set_xlabel("lag")
        ax.set_ylabel("autocorrelation")
        ax.legend(fontsize=6, frameon=False)
        out.append(_png(fig))
    h = d["lengths"]
    fig, ax = plt.subplots(figsize=(4.5, 2.6))
    edges = np.asarray(h["edges"])
    ax.stairs(h["real"], edges, color=REAL, fill=True, alpha=0.45, label="real")
    ax.stairs(h["synthetic"], edges, color=SYNTHETIC, linewidth=1.6, label="synthetic")
    ax.set_xlabel("sequence length (steps)")
    ax.set_ylabel("share of entities")
    ax.legend(fontsize=7, frameon=False)
    out.append(_png(fig))
    return out


# ---- page -------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;
background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{margin:0 0 4px}h2{margin-top:36px;border-bottom:2px solid #ddd;padding-bottom:4px}
.muted{color:#666;font-size:90%}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#fff;border-radius:8px;padding:12px 16px;min-width:150px;
box-shadow:0 1px 3px rgba(0,0,0,.12)}
.card .v{font-size:26px;font-weight:600}.card .l{font-size:85%;color:#555}
.banner{padding:12px 16px;border-radius:8px;font-weight:600;margin:16px 0}
.pass{background:#e3f4e5;color:#16632a}.fail{background:#fde4e1;color:#9b1c12}
.none{background:#eef0f3;color:#444}
table{border-collapse:collapse;background:#fff;width:100%;font-size:90%}
td,th{border-bottom:1px solid #e3e3e3;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f0f1f4}
.tag{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:85%}
.grid{display:flex;flex-wrap:wrap;gap:10px}
.grid img,.wide img{background:#fff;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.1)}
.wide img{max-width:100%}
"""


def _card(value: str, label: str) -> str:
    return (
        f'<div class="card"><div class="v">{_e(value)}</div><div class="l">{_e(label)}</div></div>'
    )


def _settings(sampling: dict) -> str:
    flat = {
        **{k: v for k, v in sampling.items() if k != "thresholds"},
        **{f"threshold {k}": v for k, v in sampling.get("thresholds", {}).items()},
    }
    return "; ".join(f"{k.replace('_', ' ')} {v}" for k, v in flat.items())


def render(report) -> str:
    """The report as one self-contained HTML page (plots embedded as PNG)."""
    plt = _pyplot()
    sections = (_title, _dp, _cards, _privacy, _utility, _series, _fidelity, _method)
    parts = [part for section in sections for part in section(plt, report)]
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>syngen report</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def _title(plt, report) -> list[str]:
    """The title line and the privacy, fidelity and utility banners."""
    inputs = report.inputs
    parts: list[str] = []
    add = parts.append
    holdout = inputs["holdout_rows"]
    add(
        f"<h1>Synthetic data report</h1><div class='muted'>syngen {_e(report.syngen_version)}"
        f" &middot; {_e(report.created)} &middot; real rows {inputs['real_rows']:,}, synthetic "
        f"rows {inputs['synthetic_rows']:,}, holdout rows "
        f"{'none' if holdout is None else format(holdout, ',')}"
        f" &middot; {len(inputs['columns'])} columns</div>"
    )

    passed = report.privacy_passed
    if passed is None:
        add(
            "<div class='banner none'>Privacy: not judged. Pass real rows the generator never "
            "saw (a holdout) to get privacy verdicts.</div>"
        )
    else:
        n_fail = sum(not v["passed"] for v in report.verdicts)
        add(
            f"<div class='banner {'pass' if passed else 'fail'}'>Privacy: "
            + (
                "every check passed"
                if passed
                else f"{n_fail} of {len(report.verdicts)} checks "
                "failed: the synthetic rows may reveal training records"
            )
            + "</div>"
        )
    for v in report.quality_verdicts:  # fidelity and utility, beside the privacy banner
        tone = "pass" if v["passed"] else "fail"
        add(f"<div class='banner {tone}'>{v['family'].capitalize()}: {_e(v['text'])}</div>")
    for warning in report.warnings:
        add(f"<div class='banner fail'>Warning: {_e(warning)}</div>")
    return parts


def _dp(plt, report) -> list[str]:
    """The differential-privacy guarantee of the model that made the rows, when it had one."""
    if report.privacy is None:
        return []
    from ..privacy.block import describe

    lines = describe(report.privacy)
    items = "".join(f"<li>{_e(line.strip())}</li>" for line in lines[1:])
    return [
        f"<div class='banner pass'>{_e(lines[0].removeprefix('privacy: '))}</div>",
        f"<ul>{items}</ul>",
    ]


def _cards(plt, report) -> list[str]:
    """The headline scores, one card each."""
    s, d = report.scores, report.details
    parts: list[str] = []
    add = parts.append
    cards = [
        (_fmt(s.get("fidelity.quality")), "overall quality (1 = identical)"),
        (_fmt(s.get("fidelity.column_shapes")), "column shapes"),
        (_fmt(s.get("fidelity.column_pair_trends")), "column pair trends"),
        (_fmt(s.get("fidelity.detection_auc")), "detection AUC (0.5 = indistinguishable)"),
    ]
    if "utility" in d:
        u = d["utility"]
        key = {"binary": "roc_auc", "multiclass": "macro_f1", "regression": "r2"}[u["task"]]
        cards.append(
            (
                _fmt(u.get(f"tstr_{key}")),
                f"TSTR {key.replace('_', ' ')} (real: {_fmt(u.get(f'trtr_{key}'))})",
            )
        )
    if s.get("privacy.membership_auc") is not None:
        cards.append((_fmt(s["privacy.membership_auc"]), "membership attack AUC (0.5 best)"))
    if s.get("privacy.exact_copy_rate") is not None:
        rate = s["privacy.exact_copy_rate"]
        cards.append((f"{100 * rate:.2f}%", "exact copies of training rows"))
    add("<div class='cards'>" + "".join(_card(v, label) for v, label in cards) + "</div>")
    return parts


def _privacy(plt, report) -> list[str]:
    """The privacy verdicts and the distance-to-closest-record plot."""
    d = report.details
    parts: list[str] = []
    add = parts.append
    add("<h2>Privacy</h2>")
    if report.verdicts:
        add(
            "<p>Each check compares the synthetic rows with the training rows and with real "
            "holdout rows the generator never saw. The holdout shows what a fresh real sample "
            "scores, which is what &ldquo;nothing memorized&rdquo; looks like.</p>"
        )
        rows = "".join(
            f"<tr><td><span class='tag {'pass' if v['passed'] else 'fail'}'>"
            f"{'PASS' if v['passed'] else 'FAIL'}</span></td><td>{_e(v['score'])}</td>"
            f"<td>{_e(v['text'][6:])}</td><td>{_fmt(v['value'])}</td>"
            f"<td>{_fmt(v['baseline'])}</td><td>{_e(v['threshold'])}</td></tr>"
            for v in report.verdicts
        )
        add(
            "<table><tr><th></th><th>check</th><th>what it found</th><th>value</th>"
            f"<th>real-sample baseline</th><th>threshold</th></tr>{rows}</table>"
        )
        add(
            "<h3>Distance to closest record</h3><p>If the synthetic curve sits left of the "
            "holdout curve, synthetic rows are closer to training records than real people "
            "outside the training set are: a sign of copying.</p>"
        )
        add(f"<div class='wide'>{_dcr_plot(plt, d['privacy']['dcr_histogram'])}</div>")
    else:
        add(f"<p>{_e(d.get('privacy', {}).get('note', ''))}</p>")
    return parts


def _utility(plt, report) -> list[str]:
    """Train-synthetic-test-real next to train-real-test-real."""
    d = report.details
    parts: list[str] = []
    add = parts.append
    if "utility" in d:
        u = d["utility"]
        add(
            "<h2>Utility</h2><p>The same model (gradient boosting) trained once on the real "
            "rows and once on the synthetic rows, both tested on real rows "
            f"({_e(u['test_rows'])}).</p>"
        )
        add(f"<div class='wide'>{_utility_plot(plt, u)}</div>")
    return parts


def _series(plt, report) -> list[str]:
    """The time-series scores and plots (long tables only)."""
    s, d = report.scores, report.details
    parts: list[str] = []
    add = parts.append
    if "series" in d:
        add(
            "<h2>Time series</h2><p>Whole entities compared: a recurrent classifier trying to "
            "tell real from synthetic sequences (discriminative score, 0 = it cannot), a "
            "next-step predictor trained on synthetic and tested on real sequences (MAE, "
            "next to the same model trained on real ones), autocorrelation and lengths.</p>"
        )
        series_cards = [
            (_fmt(s.get("series.discriminative")), "discriminative score (0 best)"),
            (
                _fmt(s.get("series.predictive_mae")),
                f"predictive MAE (real data: {_fmt(s.get('series.predictive_mae_real'))})",
            ),
            (_fmt(s.get("series.length_ks")), "length KS distance (0 best)"),
            (_fmt(s.get("series.acf_distance")), "autocorrelation distance (0 best)"),
            (_fmt(s.get("series.attribute_quality")), "attribute quality (1 best)"),
        ]
        add(
            "<div class='cards'>"
            + "".join(_card(v, label) for v, label in series_cards)
            + "</div><div class='grid'>"
            + "".join(_series_plots(plt, d["series"]))
            + "</div>"
        )
    return parts


def _fidelity(plt, report) -> list[str]:
    """Column distributions, associations, the least faithful pairs, per column."""
    d, inputs = report.details, report.inputs
    parts: list[str] = []
    add = parts.append
    add("<h2>Fidelity</h2>")
    shape = {r["column"]: r["score"] for r in d["quality"]["column_shapes"]}
    add("<h3>Column distributions, real vs synthetic</h3><div class='grid'>")
    for column, dist in d["distributions"].items():
        add(_distribution_plot(plt, column, dist, shape.get(column)))
    add("</div>")
    if len(d["associations"]["columns"]) > 1:
        add(
            "<h3>Associations between columns</h3><p>Cramér's V for every pair (numbers cut "
            "into deciles): 0 = unrelated, 1 = one column fixes the other.</p>"
        )
        add(f"<div class='wide'>{_heatmaps(plt, d['associations'])}</div>")
    pairs = sorted(
        (p for p in d["quality"]["column_pair_trends"] if p["score"] is not None),
        key=lambda p: p["score"],
    )[:10]
    if pairs:
        a = d["associations"]
        where = {c: i for i, c in enumerate(a["columns"])}

        def cramers(which: str, p: dict) -> str:
            i, j = (where.get(c) for c in p["columns"])
            return "n/a" if i is None or j is None else f"V {a[which][i][j]:.3f}"

        rows = "".join(
            f"<tr><td>{_e(' / '.join(p['columns']))}</td><td>{_e(p['metric'])}</td>"
            f"<td>{_fmt(p['score'])}</td>"
            f"<td>{_fmt(p['real']) if p['real'] is not None else cramers('real', p)}</td>"
            f"<td>{_fmt(p['synthetic']) if p['synthetic'] is not None else cramers('synthetic', p)}"
            "</td></tr>"
            for p in pairs
        )
        add(
            "<h3>Least faithful column pairs</h3><p>Correlation for two numeric columns, "
            "Cramér's V otherwise.</p><table><tr><th>columns</th><th>metric</th>"
            f"<th>score</th><th>real</th><th>synthetic</th></tr>{rows}</table>"
        )
    cov = d["coverage"]
    rows = "".join(
        f"<tr><td>{_e(c)}</td><td>{_e(inputs['columns'][c])}</td><td>{_fmt(shape.get(c))}</td>"
        f"<td>{_fmt(cov['category'].get(c, cov['range'].get(c)))}</td>"
        f"<td>{_fmt(cov['missing'].get(c))}</td></tr>"
        for c in d["distributions"]
    )
    add(
        "<h3>Per column</h3><table><tr><th>column</th><th>kind</th><th>shape score</th>"
        f"<th>coverage</th><th>null share match</th></tr>{rows}</table>"
    )
    return parts


def _method(plt, report) -> list[str]:
    """How the numbers were made."""
    inputs = report.inputs
    parts: list[str] = []
    add = parts.append
    add(
        "<h2>How these numbers were made</h2><ul>"
        "<li>Quality: sdmetrics QualityReport (KS / TV complement per column, correlation and "
        "contingency similarity per pair).</li>"
        "<li>Detection: gradient boosting telling real from synthetic rows, ROC AUC on rows it "
        "did not train on; identical rows are kept in one fold.</li>"
        "<li>Distances: numbers by their rank in the real column, a differing category counts "
        "1, nulls count 1.</li>"
        f"<li>Sample sizes and seed: {_e(_settings(report.sampling))}</li>"
        f"<li>Excluded (id) columns: {_e(inputs['excluded_columns'] or 'none')}</li></ul>"
    )
    return parts
