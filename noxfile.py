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
    session.run("python", "benchmarks/run.py", *session.posargs)
