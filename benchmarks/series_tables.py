"""The time-series tables the bench reads that are made, not stored: TimeGAN's Sines and its
stock protocol's sliding windows over eu_stock_markets.

    python benchmarks/series_tables.py OUT_DIR [--datasets ../shared/datasets]

writes OUT_DIR/sines.parquet and OUT_DIR/eu_stock_windows.parquet (columns entity, step, ...),
to pass to ``syngen bench FILE --kind timeseries --entity-col entity --time-col step``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def sines(n: int, steps: int = 24, features: int = 5, seed: int = 0) -> pd.DataFrame:
    """TimeGAN's Sines: each feature sin(f t + p), f and p uniform in [0, 0.1] per sequence."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    freq = rng.uniform(0, 0.1, (n, 1, features))
    phase = rng.uniform(0, 0.1, (n, 1, features))
    values = np.sin(freq * t[None, :, None] + phase).reshape(n * steps, features)
    frame = pd.DataFrame(values, columns=[f"f{i}" for i in range(features)])
    frame.insert(0, "step", np.tile(t, n))
    frame.insert(0, "entity", np.repeat(np.arange(n), steps))
    return frame


def sliding_windows(df: pd.DataFrame, features: list[str], length: int = 24) -> pd.DataFrame:
    """TimeGAN's stock protocol: every window of ``length`` consecutive rows is a sequence."""
    values = df[features].to_numpy()
    starts = np.arange(len(values) - length + 1)
    rows = (starts[:, None] + np.arange(length)[None, :]).ravel()
    frame = pd.DataFrame(values[rows], columns=features)
    frame.insert(0, "step", np.tile(np.arange(length), len(starts)))
    frame.insert(0, "entity", np.repeat(starts, length))
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--sines", type=int, default=2_000, help="how many sequences")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sines(args.sines).to_parquet(args.out / "sines.parquet")
    stocks = pd.read_parquet(args.datasets / "eu_stock_markets.parquet")
    windows = sliding_windows(stocks, ["DAX", "SMI", "CAC", "FTSE"])
    windows.to_parquet(args.out / "eu_stock_windows.parquet")


if __name__ == "__main__":
    main()
