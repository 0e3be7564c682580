"""Differential privacy on a real table: syngen at several epsilons, and smartnoise-synth's
DP-CTGAN / MST / AIM at the same (epsilon, delta), scored alike.

    python benchmarks/dp.py [--table adult|flchain] --epsilons 0.5,1,3,10
                            [--peer-python VENV/bin/python --peers mst]

Adult uses its official split; flchain (medical) an 80/20 split by numpy default_rng(0)
permutation. Every model is fitted in its own process on the training rows; 3 x n rows are
sampled and scored by ``syngen.report.evaluate`` against the test rows (TSTR ROC AUC, sdmetrics
Column Shapes and Column Pair Trends, detection AUC; the mean over the three frames).
smartnoise pins an old Opacus, so its models run in another interpreter (``--peer-python``: a
venv with torch==2.13.0, smartnoise-synth==1.0.8, packaging, pyarrow).
Results go to bench-results/dp_<table>.json, one record per model and epsilon.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets"
DELTA = 1e-5
TARGETS = {"adult": "income", "flchain": "death"}


def split(table: str):
    """(train, test) of ``table``: Adult's official split, else 80/20 by a seeded permutation."""
    import numpy as np
    import pandas as pd

    df = pd.read_parquet(DATASETS / f"{table}.parquet")
    if table == "adult":
        return df.iloc[:32561].reset_index(drop=True), df.iloc[32561:].reset_index(drop=True)
    order = np.random.default_rng(0).permutation(len(df))
    cut = int(0.8 * len(df))
    return (
        df.iloc[order[:cut]].reset_index(drop=True),
        df.iloc[order[cut:]].reset_index(drop=True),
    )


_SYNGEN = """
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from syngen import TabularGAN
from syngen.privacy.config import DPConfig
options, eps, out = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
train = pd.read_parquet(sys.argv[4])
kw = {} if eps == "none" else {"dp": DPConfig(epsilon=float(eps), delta=1e-5, **options)}
t = time.time()
model = TabularGAN(seed=0, **kw).fit(train)
fit = time.time() - t
model.sample(3 * len(train), seed=1).to_parquet(out)
p = model.privacy_
print(json.dumps({"fit_seconds": round(fit, 1), "spent_epsilon": p and p["epsilon"],
                  "steps": p and p["steps"], "noise_multiplier": p and p["noise_multiplier"]}))
"""

_PEER = """
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from snsynth import Synthesizer
name, eps, out, data = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
train = pd.read_parquet(data)
numeric = [c for c in train.columns if pd.api.types.is_numeric_dtype(train[c])]
cont = [c for c in numeric if not pd.api.types.is_bool_dtype(train[c])]
cat = [c for c in train.columns if c not in cont]
train[cat] = train[cat].astype(str)
synth = Synthesizer.create(name, epsilon=eps, delta=1e-5)
t = time.time()
synth.fit(train, categorical_columns=cat, continuous_columns=cont,
           nullable=bool(train.isna().any().any()), preprocessor_eps=0.1 * eps)
fit = time.time() - t
# The epsilon each peer spends by its own accounting: the preprocessor's share (pure DP,
# subtracted from the target) plus training's. MST and AIM spend the rest exactly (zCDP);
# DP-CTGAN checks its accountant once per epoch, before the epoch, and may overshoot.
own = eps
if name == "dpctgan":
    own = 0.1 * eps + getattr(synth, 'gan', synth).epsilon_list[-1]
syn = synth.sample(3 * len(train))
syn[cat] = syn[cat].replace({"None": None, "nan": None})
syn.to_parquet(out)
from importlib.metadata import version
print(json.dumps({"fit_seconds": round(fit, 1), "spent_epsilon": round(own, 4),
                  "package": f"smartnoise-synth {version('smartnoise-synth')}"}))
"""


def score(path: str, table: str) -> dict:
    """Mean scores over the three synthetic frames in ``path``."""
    import numpy as np
    import pandas as pd

    from syngen import evaluate

    train, test = split(table)
    syn = pd.read_parquet(path)
    # Some samplers emit rows grouped (MST by its cliques): frames are cut from a shuffle.
    syn = syn.sample(frac=1.0, random_state=0).reset_index(drop=True)
    for c in train.columns:  # a peer may return numbers as floats or text
        if pd.api.types.is_bool_dtype(train[c]) and not pd.api.types.is_bool_dtype(syn[c]):
            syn[c] = syn[c].astype(str).str.lower().eq("true")
        elif pd.api.types.is_integer_dtype(train[c]):
            values = pd.to_numeric(syn[c], errors="coerce")
            syn[c] = values.fillna(values.median()).round().astype(train[c].dtype)
    n = len(train)
    rows = [
        evaluate(
            train,
            syn.iloc[k * n : (k + 1) * n].reset_index(drop=True)[train.columns],
            holdout=test,
            target=TARGETS[table],
        ).scores
        for k in range(3)
    ]
    keys = ["column_shapes", "column_pair_trends", "detection_auc"]
    out = {k: float(np.mean([r[f"fidelity.{k}"] for r in rows])) for k in keys}
    out["tstr_roc_auc"] = float(np.mean([r["utility.tstr_roc_auc"] for r in rows]))
    out["trtr_roc_auc"] = float(rows[0]["utility.trtr_roc_auc"])
    return out


def run(command: list[str], timeout: float | None) -> dict:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:.0f} s"}
    if done.returncode:
        return {"error": (done.stderr or done.stdout).strip().splitlines()[-1][:300]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", choices=sorted(TARGETS), default="adult")
    parser.add_argument("--epsilons", default="0.5,1,3,10")
    parser.add_argument("--no-plain", action="store_true", help="skip syngen's fit without DP")
    parser.add_argument("--no-syngen", action="store_true", help="fit the peers only")
    parser.add_argument("--dp-option", action="append", default=[], metavar="KEY=JSON")
    parser.add_argument("--peer-python", default=None)
    parser.add_argument("--peers", default="mst,dpctgan,aim")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per model fit")
    parser.add_argument("-o", "--output", default=None)
    args = parser.parse_args()
    output = Path(args.output or ROOT / "bench-results" / f"dp_{args.table}.json")
    # DPConfig options of syngen's fits, e.g. --dp-option refine_share=0.25: a model of its own.
    options = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.dp_option)}
    syngen = " ".join(["syngen", *args.dp_option])
    epsilons = args.epsilons.split(",") + ([] if args.no_plain or options else ["none"])
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        train_path = str(Path(tmp) / "train.parquet")
        split(args.table)[0].to_parquet(train_path)
        jobs = (
            []
            if args.no_syngen
            else [
                (syngen, eps, [sys.executable, "-c", _SYNGEN, json.dumps(options)])
                for eps in epsilons
            ]
        )
        if args.peer_python:
            jobs += [
                (f"{name} (smartnoise-synth)", eps, [args.peer_python, "-c", _PEER, name])
                for name in args.peers.split(",")
                for eps in args.epsilons.split(",")
            ]
        for name, eps, command in jobs:
            out = str(Path(tmp) / f"{name.split()[0]}-{eps}.parquet")
            started = time.strftime("%Y-%m-%d %H:%M")
            record = run([*command, eps, out, train_path], args.timeout)
            if "error" not in record:
                record.update(score(out, args.table))
            record = {
                "model": name,
                "table": args.table,
                "epsilon": eps,
                "delta": DELTA,
                "started": started,
                **record,
            }
            print(json.dumps(record), flush=True)
            results.append(record)
    # Runs accumulate: a record replaces the earlier one of its model and epsilon only.
    fresh = {(r["model"], r["epsilon"]) for r in results}
    if output.exists():
        kept = json.loads(output.read_text())
        results = [r for r in kept if (r["model"], r["epsilon"]) not in fresh] + results
    output.write_text(json.dumps(results, indent=1))
    plot(
        results,
        ROOT / "docs" / f"dp_{args.table}.png"
        if args.output is None
        else output.with_suffix(".png"),
    )


def plot(results: list[dict], path: Path) -> None:
    """TSTR and Column Pair Trends against epsilon, one line per model (no DP as a level)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, key, title in zip(
        axes,
        ("tstr_roc_auc", "column_pair_trends"),
        ("TSTR ROC AUC", "Column Pair Trends"),
        strict=True,
    ):
        for model in dict.fromkeys(r["model"] for r in results):
            rows = [r for r in results if r["model"] == model and key in r]
            dp = sorted((float(r["epsilon"]), r[key]) for r in rows if r["epsilon"] != "none")
            if dp:
                ax.plot(*zip(*dp, strict=True), marker="o", label=model)
            plain = [r[key] for r in rows if r["epsilon"] == "none"]
            if plain:
                ax.axhline(plain[0], ls="--", lw=1, color="grey", label=f"{model}, no DP")
        ax.set_xscale("log")
        ax.set_xlabel("epsilon (delta 1e-5)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
