import numpy as np
import pandas as pd
import pytest

from syngen import TabularGAN


def make_mixed(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Every column kind, with nulls, and a dependence between columns to learn."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])
    base = np.where(group == "a", 10.0, np.where(group == "b", 50.0, 100.0))
    amount = np.round(base + rng.normal(0, 2, n), 2)
    amount[rng.random(n) < 0.1] = np.nan
    age = pd.array(rng.integers(18, 90, n), dtype="Int64")
    age[rng.random(n) < 0.05] = pd.NA
    flag = pd.array(group == "a", dtype="boolean")
    flag[rng.random(n) < 0.1] = pd.NA
    when = pd.Series(
        pd.Timestamp("2024-01-01", tz="Europe/Paris")
        + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    ).astype("datetime64[us, Europe/Paris]")
    return pd.DataFrame(
        {
            "customer_id": np.arange(1000, 1000 + n),
            "group": pd.Series(group).astype("category"),
            "city": pd.Series(rng.choice(["x", "y", None], n, p=[0.5, 0.4, 0.1]), dtype="string"),
            "amount": amount,
            "age": age,
            "visits": rng.integers(0, 4, n),
            "active": group != "c",
            "flag": flag,
            "opened": when,
            "country": "FR",
        }
    )


LEVELS = {"E1": "primary", "E2": "secondary", "E3": "bachelor", "E4": "master", "E5": "doctorate"}
REGIONS = {"E1": "north", "E2": "north", "E3": "south", "E4": "south", "E5": "south"}


def make_coded(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """A code with its label (one-to-one) and its region (many-to-one), and a number."""
    rng = np.random.default_rng(seed)
    code = pd.Series(rng.choice(list(LEVELS), n, p=[0.3, 0.25, 0.2, 0.15, 0.1]))
    return pd.DataFrame(
        {
            "code": code,
            "income": np.round(code.str[1].astype(int) * 10 + rng.normal(0, 3, n), 1),
            "label": code.map(LEVELS),
            "region": code.map(REGIONS),
        }
    )


@pytest.fixture(scope="session")
def mixed() -> pd.DataFrame:
    return make_mixed()


@pytest.fixture(scope="session")
def fitted(mixed) -> TabularGAN:
    """A model trained for a few epochs: enough for shapes, dtypes and conditions."""
    return TabularGAN(epochs=3, batch_size=100, seed=0).fit(mixed)
