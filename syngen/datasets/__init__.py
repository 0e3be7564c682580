"""Small real tables bundled with syngen for the demo and the tests (see README.md here)."""

from __future__ import annotations

from importlib import resources

import pandas as pd

# name -> (file, target column, rows of the official training part or None)
CATALOGUE = {
    "adult_sample": ("adult_sample.parquet", "income", 3000),
    "german_credit": ("german_credit.parquet", "class", None),
}


def load(name: str, split: str = "all") -> pd.DataFrame:
    """A bundled table; ``split`` is "all", "train" or "test" (test: the official test rows,
    or a fixed 20% for tables without an official split)."""
    if name not in CATALOGUE:
        raise ValueError(f"unknown dataset {name!r}; bundled: {sorted(CATALOGUE)}")
    if split not in ("all", "train", "test"):
        raise ValueError(f"split must be 'all', 'train' or 'test', got {split!r}")
    file, _, n_train = CATALOGUE[name]
    with resources.as_file(resources.files(__name__) / file) as path:
        df = pd.read_parquet(path)
    if split == "all":
        return df
    if n_train is None:
        test = df.sample(frac=0.2, random_state=0).index
        part = df.loc[test] if split == "test" else df.drop(index=test)
    else:
        part = df.iloc[:n_train] if split == "train" else df.iloc[n_train:]
    return part.reset_index(drop=True)


def target(name: str) -> str:
    return CATALOGUE[name][1]
