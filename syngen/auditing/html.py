"""The audit as one self-contained HTML page: the finding, the guesses tried, and the in/out
canary scores of each score, plotted (the report's page style and plot helpers)."""

from __future__ import annotations

import numpy as np

from ..report.html import _CSS, _card, _e, _png, _pyplot

IN, OUT = "#d62728", "#1f77b4"


def render(result) -> str:
    plt = _pyplot()
    r = result
    claimed = "none (no DP)" if r.claimed_epsilon is None else f"{r.claimed_epsilon:g}"
    tone = "fail" if r.finding in ("falsified", "leaks") else "pass"
    cards = "".join([
        _card(f"{r.lower_bound:.2f}", f"epsilon lower bound ({r.confidence:.0%} confidence)"),
        _card(claimed, "claimed epsilon"),
        _card(f"{r.best['correct']} / {r.best['k']}", f"right guesses ({r.best['score']} score)"),
        _card(f"{r.included} / {r.canaries}", "canaries included by their coins"),
    ])  # fmt: skip
    rows = "".join(
        f"<tr><td>{_e(t['score'])}</td><td>{t['k']}</td><td>{t['correct']}</td>"
        f"<td>{t['lower_bound']:.3f}</td></tr>"
        for t in r.tries
    )
    plots = "".join(_histogram(plt, name, s) for name, s in r.scores.items())
    body = (
        f"<h1>Privacy audit (one training run)</h1><div class='muted'>{r.table['rows']:,} rows "
        f"x {r.table['columns']} columns; {r.canaries} canaries, each included by a fair coin; "
        f"{r.model['epochs_trained']} epochs; delta {r.delta:g}</div>"
        f"<div class='banner {tone}'>{_e(r.verdict)}</div><div class='cards'>{cards}</div>"
        "<h2>Canary scores</h2><p>Higher means the trained model points at the canary having "
        "been in its training rows. The guesses: the top half of each guess count said "
        "&ldquo;in&rdquo;, the bottom half &ldquo;out&rdquo;.</p>"
        f"<div class='grid'>{plots}</div>"
        "<h2>Guesses tried</h2><p>Each at the confidence divided among all tries (Bonferroni);"
        " the largest bound is the audit's.</p><table><tr><th>score</th><th>guesses</th>"
        f"<th>right</th><th>lower bound</th></tr>{rows}</table>"
        "<h2>What this shows</h2><p>Steinke, Nasr and Jagielski (2023), &ldquo;Privacy "
        "Auditing with One (1) Training Run&rdquo;: the number of right guesses about canaries "
        "that went in by independent coins cannot exceed what epsilon-DP allows, except with "
        "the stated probability. The bound is a floor on the leak, never a proof of privacy: "
        "weak scores or few canaries give a low bound whatever the truth.</p>"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>syngen audit</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def _histogram(plt, name: str, scores: dict) -> str:
    fig, ax = plt.subplots(figsize=(5.2, 3.2))
    both = np.r_[scores["in"], scores["out"]]
    bins = np.histogram_bin_edges(both, bins=30) if len(both) else 10
    ax.hist(scores["out"], bins=bins, alpha=0.6, color=OUT, label=f"out ({len(scores['out'])})")
    ax.hist(scores["in"], bins=bins, alpha=0.6, color=IN, label=f"in ({len(scores['in'])})")
    ax.set_title(f"{name} score")
    ax.set_xlabel("score (higher: more likely in)")
    ax.legend()
    return _png(fig)
