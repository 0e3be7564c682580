"""The generators a bench can fit, behind one interface: ``Candidate`` says what a model is and
what it needs; ``fit_sample`` (run inside a worker process) trains it and returns its rows.

Reference rows (``role="reference"``) give the scores their scale and are never ranked:
``identity`` (a copy of the training rows: the fidelity ceiling and the privacy floor) and
``holdout`` (the split's reference rows, real data no model saw: what real rows score).
Baselines (``independent``, ``copula``) are the floors a generator must beat. Peers run
through ``syngen/bench/peer_worker.py``, which needs only pandas and the peer's package, so it
can run in another interpreter (``--python FAMILY=PATH``) when the peer's pins conflict.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class Candidate:
    name: str
    description: str
    role: str = "model"  # "model" (ranked), "baseline" (ranked, a floor) or "reference"
    kinds: tuple[str, ...] = ("tabular",)  # the tables it models: "tabular", "timeseries"
    budget: str = "none"  # what it takes: "seconds" (a time limit), "epochs" or "none"
    private: bool = False  # takes --epsilon: one cell per epsilon
    family: str = "syngen"  # which worker runs it: "syngen", or a peer's package family
    module: str | None = None  # the import a peer needs
    install: str | None = None  # how to get it


CANDIDATES = {
    c.name: c
    for c in [
        Candidate("identity", "a copy of the training rows", role="reference",
                  kinds=("tabular", "timeseries")),
        Candidate("holdout", "real rows no model saw (the split's reference part)",
                  role="reference", kinds=("tabular", "timeseries")),
        Candidate("ar1", "an AR(1) fit per series and feature, from a real entity's start",
                  role="baseline", kinds=("timeseries",)),
        Candidate("doppelganger", "syngen DoppelGANger", budget="seconds",
                  kinds=("timeseries",)),
        Candidate("doppelganger-dp", "syngen DoppelGANger under entity-level DP-SGD",
                  budget="seconds", kinds=("timeseries",), private=True),
        Candidate("independent", "each column resampled on its own", role="baseline"),
        Candidate("copula", "Gaussian copula over the columns' empirical marginals",
                  role="baseline"),
        Candidate("syngen", "syngen TabularGAN", budget="seconds"),
        Candidate("syngen-dp", "syngen TabularGAN under DP-SGD", budget="seconds",
                  private=True),
        Candidate("sdv-ctgan", "SDV CTGANSynthesizer", budget="epochs", family="sdv",
                  module="sdv", install="pip install sdv"),
        Candidate("sdv-tvae", "SDV TVAESynthesizer", budget="epochs", family="sdv",
                  module="sdv", install="pip install sdv"),
        Candidate("sdv-copula", "SDV GaussianCopulaSynthesizer", family="sdv", module="sdv",
                  install="pip install sdv"),
        Candidate("sdv-par", "SDV PARSynthesizer", budget="epochs", kinds=("timeseries",),
                  family="sdv", module="sdv", install="pip install sdv"),
        Candidate("gretel-dgan", "gretel-synthetics DGAN", budget="epochs",
                  kinds=("timeseries",), family="gretel", module="gretel_synthetics",
                  install="pip install --no-deps gretel-synthetics (its pins are old; its "
                  "torch DGAN runs on current pandas and torch)"),
        Candidate("smartnoise-mst", "smartnoise-synth MST", private=True,
                  family="smartnoise", module="snsynth",
                  install="pip install smartnoise-synth (its own venv: it pins an old opacus)"),
        Candidate("smartnoise-aim", "smartnoise-synth AIM", private=True,
                  family="smartnoise", module="snsynth",
                  install="pip install smartnoise-synth (its own venv: it pins an old opacus)"),
        Candidate("smartnoise-dpctgan", "smartnoise-synth DP-CTGAN", budget="epochs",
                  private=True, family="smartnoise", module="snsynth",
                  install="pip install smartnoise-synth (its own venv: it pins an old opacus)"),
    ]
}  # fmt: skip

DEFAULT_MODELS = ("identity", "holdout", "independent", "copula", "syngen")
DEFAULT_SERIES_MODELS = ("identity", "holdout", "ar1", "doppelganger")


def candidates(names: list[str]) -> list[Candidate]:
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        raise ValueError(
            f"unknown model {', '.join(map(repr, unknown))}; known: {', '.join(CANDIDATES)}"
        )
    return [CANDIDATES[n] for n in names]


def skip_reason(candidate: Candidate, interpreters: dict[str, str], kind: str) -> str | None:
    """Why ``candidate`` cannot run on a ``kind`` table here (``skipped: pip install X``), or
    None."""
    if kind not in candidate.kinds:
        return f"skipped: models {' and '.join(candidate.kinds)} data, not {kind}"
    if candidate.module is None or candidate.family in interpreters:
        return None
    if importlib.util.find_spec(candidate.module) is None:
        return f"skipped: {candidate.install}"
    return None


# ---- the models themselves (run in a worker) -------------------------------------------------
def gaussian_copula(train: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Rows whose columns have the training rows' marginals exactly and a Gaussian dependence.

    Each column is ranked (numbers by value, nulls first; categories by frequency; ties at
    random), its ranks become normal scores, and their correlation is the copula. Sampled
    scores map back through each column's empirical quantiles, so every value is a real one
    of that column. Written here rather than taken from ``copulas``: its parametric marginals
    either miss the correlation (beta) or take minutes to select (the default).
    """
    rng = np.random.default_rng(seed)
    m = len(train)
    ordered, scores = {}, []
    for c in train.columns:
        s = train[c]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
            key = pd.Series(pd.to_numeric(s, errors="coerce"), dtype="float64")
            key = key.fillna(-np.inf).to_numpy()
        else:
            counts = s.astype("object").where(s.notna(), "\0null").value_counts()
            key = -s.astype("object").where(s.notna(), "\0null").map(counts).to_numpy(float)
        order = np.lexsort((rng.random(m), key))
        ranks = np.empty(m)
        ranks[order] = np.arange(m)
        ordered[c] = s.iloc[order].reset_index(drop=True)
        scores.append(stats.norm.ppf((ranks + 0.5) / m))
    corr = np.corrcoef(np.array(scores)) if len(scores) > 1 else np.ones((1, 1))
    z = rng.multivariate_normal(np.zeros(len(scores)), np.atleast_2d(corr), n, method="eigh")
    index = np.clip((stats.norm.cdf(z) * m).astype(int), 0, m - 1)
    return pd.DataFrame(
        {c: ordered[c].iloc[index[:, j]].to_numpy() for j, c in enumerate(train.columns)}
    ).astype(train.dtypes.to_dict())


def ar1_series(train: pd.DataFrame, n: int, entity: str, time: str, seed: int) -> pd.DataFrame:
    """``n`` entities, each from a real one drawn at random: its attributes, length and time
    stamps, and for each numeric feature a path of the AR(1) fitted to that entity's own
    series by least squares, from its first value (other features as they were). The floor
    a sequence model must beat on autocorrelation and on the discriminative score."""
    rng = np.random.default_rng(seed)
    groups = [g.sort_values(time) for _, g in train.groupby(entity, sort=False)]
    others = [c for c in train.columns if c not in (entity, time)]
    varying = train.groupby(entity)[others].nunique(dropna=False).max() > 1
    numeric = [c for c in others if varying[c] and pd.api.types.is_numeric_dtype(train[c])
               and not pd.api.types.is_bool_dtype(train[c])]  # fmt: skip
    out = []
    for k in range(n):
        src = groups[rng.integers(len(groups))].copy()
        for c in numeric:
            x = src[c].to_numpy(dtype=float)
            ok = ~np.isnan(x)
            y = _ar1_path(x[ok], rng)
            values = np.full(len(x), np.nan)
            values[ok] = y
            if pd.api.types.is_integer_dtype(train[c]):
                values = np.round(values)
            src[c] = pd.Series(values, index=src.index).astype(train[c].dtype)
        src[entity] = k if pd.api.types.is_integer_dtype(train[entity]) else f"syn-{k}"
        out.append(src)
    return pd.concat(out, ignore_index=True).astype({entity: train[entity].dtype})


def _ar1_path(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if len(x) < 3 or np.ptp(x) == 0:
        return x.copy()
    a, b = x[:-1], x[1:]
    phi, c = np.polyfit(a, b, 1)
    phi = float(np.clip(phi, -0.999, 0.999))
    sigma = float(np.std(b - (c + phi * a)))
    y = np.empty(len(x))
    y[0] = x[0]
    noise = rng.normal(0.0, sigma, len(x))
    for t in range(1, len(x)):
        y[t] = c + phi * y[t - 1] + noise[t]
    return np.clip(y, x.min() - 3 * sigma, x.max() + 3 * sigma)


def fit_sample(spec: dict, train: pd.DataFrame, reference: pd.DataFrame) -> tuple:
    """(synthetic rows, what the fit says about itself) for a syngen-family ``spec``; the
    clock ``(fit, sample)`` boundary is where the returned callable is called."""
    name, n, seed = spec["model"], spec["rows"], spec["seed"]
    if name == "identity":
        return lambda: train.copy(), {}
    if name == "holdout":
        return lambda: reference.copy(), {}
    if name == "ar1":
        return lambda: ar1_series(train, n, spec["entity"], spec["time"], seed), {}
    if name in ("doppelganger", "doppelganger-dp"):
        from ..timeseries import DoppelGANger

        model = DoppelGANger(**_budget_options(spec), seed=seed, dp=_dp_config(spec)).fit(
            train, entity=spec["entity"], time=spec["time"], attributes=spec.get("attributes")
        )
        info = {"epochs": model.epochs_trained_, "privacy": model.privacy_}
        return lambda: model.sample(n, seed=seed), info
    if name == "independent":
        from ..report import independent_baseline

        return lambda: independent_baseline(train, n, seed), {}
    if name == "copula":
        return lambda: gaussian_copula(train, n, seed), {}
    if name in ("syngen", "syngen-dp"):
        from ..tabular import TabularGAN

        model = TabularGAN(**_budget_options(spec), seed=seed, dp=_dp_config(spec)).fit(train)
        info = {"epochs": model.epochs_trained_, "privacy": model.privacy_}
        return lambda: model.sample(n, seed=seed), info
    raise ValueError(f"the syngen worker does not run {name!r}")


def _dp_config(spec: dict):
    """The cell's DPConfig (None without an epsilon), with the bench's public domains."""
    if spec.get("epsilon") is None:
        return None
    from ..privacy.config import DPConfig

    public = spec.get("public") or {}
    return DPConfig(
        epsilon=spec["epsilon"],
        public_bounds=public.get("bounds", {}),
        public_categories=public.get("categories", {}),
    )


def _budget_options(spec: dict) -> dict:
    """The epochs and seconds a cell gives a syngen model, the ones not given left to the
    model's defaults (a time budget ends training at the default epochs at the latest)."""
    options = {"epochs": spec.get("epochs"), "max_seconds": spec.get("seconds")}
    return {k: v for k, v in options.items() if v is not None}
