"""The one-run privacy audit on real tables: the epsilon lower bound that `syngen.audit` finds
beside the epsilon each fit claims, for DP fits at several epsilons and the ordinary fit.

    python benchmarks/audit.py [--tables german_credit,adult] [--epsilons none,1,3,10]
                               [--canaries M] [--max-seconds S]

Each audit is `syngen.audit(train, TabularGAN(seed=0[, dp=DPConfig(epsilon)]), seed=0)` with the
defaults of `syngen audit` (a quarter of the rows as canaries, between 100 and 1,000). The
tables' domains are given as public, as a data dictionary states them (category lists, and each
number column's range), so that every DP fit can run: German credit at epsilon 1 otherwise
cannot release any category of `checking_status`, nor the range of `credit_amount`. The audit
then measures DP-SGD's leak, the part no codebook covers. The canaries' own text values are not
in those lists. Adult's training rows are its official training split.
Results accumulate in bench-results/audit.json, one record per table and epsilon.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets"
OUT = ROOT / "bench-results" / "audit.json"


def load(table: str):
    import pandas as pd

    df = pd.read_parquet(DATASETS / f"{table}.parquet")
    return df.iloc[:32561].reset_index(drop=True) if table == "adult" else df


def run(table: str, epsilon: float | None, canaries: int | None, max_seconds: float | None):
    import pandas as pd

    from syngen import DPConfig, TabularGAN, audit

    df = load(table)
    text = [
        c for c in df.columns if df[c].dtype == object or isinstance(df[c].dtype, pd.StringDtype)
    ]
    options = {} if max_seconds is None else {"max_seconds": max_seconds}
    if epsilon is not None:
        categories = {c: sorted(df[c].dropna().unique().tolist()) for c in text}
        numbers = [c for c in df.columns if c not in text and df[c].dtype != bool]
        bounds = {c: (float(df[c].min()), float(df[c].max())) for c in numbers}
        options["dp"] = DPConfig(
            epsilon=epsilon, public_categories=categories, public_bounds=bounds
        )
    started, cpu = time.perf_counter(), time.process_time()
    result = audit(df, TabularGAN(seed=0, **options), canaries=canaries, seed=0)
    record = {k: v for k, v in result.to_dict().items() if k not in ("scores", "members")}
    record.update(
        table=table,
        epsilon=epsilon,
        wall_seconds=round(time.perf_counter() - started, 1),
        # CPU seconds of all the process's threads: on a shared host, the wall seconds say
        # more about the neighbours than about the audit.
        cpu_seconds=round(time.process_time() - cpu, 1),
        load_average=os.getloadavg(),
        cpu_count=os.cpu_count(),
        created=time.strftime("%Y-%m-%d %H:%M:%S"),
        command=f"python benchmarks/audit.py --tables {table} --epsilons "
        f"{'none' if epsilon is None else format(epsilon, 'g')}"
        + ("" if max_seconds is None else f" --max-seconds {max_seconds:g}"),
    )
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default="german_credit,adult")
    parser.add_argument("--epsilons", default="none,1,3,10")
    parser.add_argument("--canaries", type=int, default=None)
    parser.add_argument("--max-seconds", type=float, default=None)
    args = parser.parse_args()
    records = json.loads(OUT.read_text()) if OUT.is_file() else []
    for table in args.tables.split(","):
        for text in args.epsilons.split(","):
            epsilon = None if text == "none" else float(text)
            record = run(table, epsilon, args.canaries, args.max_seconds)
            records = [r for r in records if (r["table"], r["epsilon"]) != (table, epsilon)]
            records.append(record)
            OUT.write_text(json.dumps(records, indent=1))
            print(
                f"{table} epsilon {text}: lower bound {record['lower_bound']:.3f} "
                f"({record['best']['score']}, {record['best']['correct']}/{record['best']['k']}), "
                f"{record['finding']}, {record['wall_seconds']:.0f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
