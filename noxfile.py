"""Developer sessions: `nox -s tests`, `nox -s lint`, `nox -s bench`."""

import nox

nox.options.sessions = ["tests", "lint"]
# torch==2.13.0 keeps the CPU wheel where one is provided; a bare "torch" may pull a CUDA build.
TORCH = "torch==2.13.0"


@nox.session
def tests(session: nox.Session) -> None:
    session.install(TORCH, "-e", ".[test]")
    session.run("pytest", "-q", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "syngen", "tests", "benchmarks")
    session.run("ruff", "format", "--check", "syngen", "tests", "benchmarks")


@nox.session
def bench(session: nox.Session) -> None:
    """Speed, memory and quality against SDV on ../shared/datasets; writes bench-results/."""
    session.install(TORCH, "-e", ".[bench]")
    # gretel-synthetics (the DGAN peer of the time-series part) pins old numpy, pandas and sdv;
    # its torch DGAN runs on the current ones, so it goes in without its pins.
    session.install("category_encoders")
    session.install("--no-deps", "gretel-synthetics==0.22.20")
    # The leaderboards: every model on the finance and medical tables, then on the series,
    # through `syngen bench` (resumable: a rerun fits only what changed). One thread per fit, so
    # the cells' timings do not depend on what else shares the machine's two cores.
    data = "../shared/datasets"
    tables = ["german_credit", "credit_card_aer", "pima_diabetes", "pbc", "flchain"]
    session.run(
        "syngen", "bench", "--manifest", f"{data}/manifest.json",
        *[arg for t in tables for arg in ("--dataset", t)],
        "--models", "identity,holdout,independent,copula,syngen,syngen-dp,sdv-ctgan,sdv-tvae,"
        "sdv-copula", "--epsilon", "1,3", "--time-budget", "60", "--threads", "1",
        "--repeats", "2", "-o", "bench-results/leaderboard",
    )  # fmt: skip
    session.run("python", "benchmarks/series_tables.py", "bench-results/series-inputs")
    session.run(
        "syngen", "bench", "bench-results/series-inputs/eu_stock_windows.parquet",
        "--kind", "timeseries", "--entity-col", "entity", "--time-col", "step",
        "--manifest", f"{data}/manifest.json", "--dataset", "japanese_vowels",
        "--dataset", "chick_weight", "--models",
        "identity,holdout,ar1,doppelganger,sdv-par,gretel-dgan", "--time-budget", "120",
        # 300 GRU steps per score (the report's default is 3 x 1,000 discriminative and 2 x
        # 1,000 predictive): a cell's scores in a minute or two rather than ten on two cores.
        "--series-iterations", "300", "--threads", "1", "-o", "bench-results/leaderboard-series",
    )  # fmt: skip
    # The series under entity-level DP at epsilon 1 and 10 beside the ordinary fit: as a user
    # gets it (every statistic paid from the budget), then with the domains a codebook states
    # (benchmarks/series_public.json: feature ranges, speakers, lengths, steps) as public.
    series_dp = [
        "syngen", "bench", "bench-results/series-inputs/eu_stock_windows.parquet",
        "--kind", "timeseries", "--entity-col", "entity", "--time-col", "step",
        "--manifest", f"{data}/manifest.json", "--dataset", "japanese_vowels",
        "--epsilon", "1,10", "--time-budget", "120", "--series-iterations", "300",
        "--threads", "1",
    ]  # fmt: skip
    session.run(*series_dp, "--models", "holdout,doppelganger,doppelganger-dp",
                "-o", "bench-results/leaderboard-series-dp")  # fmt: skip
    session.run(*series_dp, "--models", "doppelganger-dp", "--public",
                "benchmarks/series_public.json",
                "-o", "bench-results/leaderboard-series-dp-public")  # fmt: skip
    # The speed and scale probes, then docs/benchmarks.md from all of bench-results/.
    session.run("python", "benchmarks/run.py", *session.posargs)
