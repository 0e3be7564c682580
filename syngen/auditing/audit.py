"""audit: the one-run privacy audit of a model on the user's own table or series -- an
empirical lower bound on the epsilon of the training run, set beside the epsilon it claims.

``m`` canaries (``canaries.make_canaries``; whole entities for a time-series model,
``series.make_canary_entities``) are each put into the training data by a fair coin;
the model is trained once, exactly as configured; every canary is scored from the result
(``scores``); the highest-scoring canaries are guessed "in" and the lowest "out", and the count
of right guesses becomes a lower bound with ``bound.epsilon_lower_bound``. Several guess counts
and two scores are tried, each at ``(1 - confidence) / tries`` (Bonferroni), so the bound
reported, the largest, holds at ``confidence`` as a whole. A bound above the claimed epsilon
falsifies the claim; a bound below it is consistent with the claim but proves nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..metadata import Metadata, validated_metadata
from .bound import epsilon_lower_bound
from .canaries import make_canaries
from .scores import critic_scores, distance_scores, vocabulary_scores

SCHEMA_VERSION = 1


@dataclass
class AuditResult:
    """What an audit found; ``to_dict`` is the JSON of ``syngen audit``."""

    claimed_epsilon: float | None
    delta: float
    lower_bound: float
    confidence: float
    canaries: int
    included: int
    members: list[int]
    best: dict
    tries: list[dict]
    verdict: str
    scores: dict = field(repr=False)
    model: dict = field(repr=False)
    table: dict = field(repr=False)
    seconds: dict = field(repr=False)

    @property
    def falsified(self) -> bool:
        """True when the audit shows the claimed epsilon cannot hold."""
        return self.claimed_epsilon is not None and self.lower_bound > self.claimed_epsilon

    @property
    def finding(self) -> str:
        """One word: "falsified" (the DP claim cannot hold), "consistent" (it may), "leaks" (no
        claim, and a leak shown) or "nothing found" (no claim, no leak shown)."""
        if self.claimed_epsilon is not None:
            return "falsified" if self.falsified else "consistent"
        return "leaks" if self.lower_bound > 0 else "nothing found"

    def to_dict(self) -> dict:
        return {"schema_version": SCHEMA_VERSION, **asdict(self), "finding": self.finding}

    def to_json(self, path: str | Path) -> None:
        from ..io import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.to_dict(), indent=2))

    def to_html(self, path: str | Path) -> None:
        from ..io import atomic_path
        from .html import render

        with atomic_path(path) as tmp:
            tmp.write_text(render(self))


def default_canaries(rows: int) -> int:
    """A quarter of the table, between 100 and 1,000: more canaries tighten the bound (its
    ceiling at 95% is 3.5 for 100 guesses, 5.8 for 1,000) but change the table more."""
    return int(min(1_000, max(100, rows // 4)))


def guess_counts(m: int) -> list[int]:
    """The numbers of guesses tried: a tenth, a quarter, half and all of the canaries (even,
    so that half go to each end of the ranking)."""
    return sorted({max(2, int(m * f) // 2 * 2) for f in (0.1, 0.25, 0.5, 1.0)})


def audit(
    data: pd.DataFrame,
    model=None,
    *,
    canaries: int | None = None,
    confidence: float = 0.95,
    metadata: Metadata | Mapping | str | Path | None = None,
    synthetic_rows: int | None = None,
    entity: str | None = None,
    time: str | None = None,
    attributes: list[str] | None = None,
    seed: int | None = 0,
    clock: Callable[[], float] = time.perf_counter,
) -> AuditResult:
    """Audit ``model`` (an unfitted ``TabularGAN`` or ``DoppelGANger`` configured as it would
    be used, with ``dp=DPConfig(...)`` for a DP claim; default ``TabularGAN()``) on ``data``.

    A ``DoppelGANger`` is audited on the long frame ``data`` with its ``entity`` and ``time``
    columns (``attributes``: the static columns, detected if None): canaries are whole
    entities, ``canaries`` and ``synthetic_rows`` count entities. The model is fitted on
    ``data`` plus the canaries the coins let in: it is the audit's, not a model to release.
    ``seed`` draws the canaries, the coins and the synthetic rows; the model's own seed is its
    config's.
    """
    from ..tabular import TabularGAN
    from ..timeseries import DoppelGANger

    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    model = TabularGAN() if model is None else model
    if not isinstance(model, TabularGAN | DoppelGANger):
        raise TypeError(
            f"model must be an unfitted TabularGAN or DoppelGANger, got {type(model).__name__}"
        )
    series = isinstance(model, DoppelGANger)
    if series and (entity is None or time is None):
        raise ValueError("auditing a DoppelGANger needs entity= and time= (the long frame's)")
    if not series and (entity, time, attributes) != (None, None, None):
        raise ValueError("entity, time and attributes are for auditing a DoppelGANger")
    if not 0.5 < confidence < 1:
        raise ValueError(f"confidence must be in (0.5, 1), got {confidence!r}")
    seq = None
    if series:
        from ..timeseries.sequences import Sequences

        seq = Sequences.from_long(data, entity, time, attributes)
    units = len(data) if seq is None else len(seq.entities)
    m = default_canaries(units) if canaries is None else canaries
    if isinstance(m, bool) or not isinstance(m, int | np.integer) or m < 10:
        raise ValueError(f"canaries must be an integer of at least 10, got {canaries!r}")
    meta = validated_metadata(metadata, data)
    rng = np.random.default_rng(seed)
    started = clock()
    if series:
        run = _series_run(model, data, seq, meta, metadata, m, rng, synthetic_rows, clock)
    else:
        run = _table_run(model, data, meta, metadata, m, rng, synthetic_rows, clock)
    coins, tie_order, scores, fitted, scored, table = run

    privacy = model.privacy_
    claimed = None if privacy is None else float(privacy["target_epsilon"])
    delta = 0.0 if privacy is None else float(privacy["delta"])
    ks = guess_counts(m)
    tries = []
    level = 1 - (1 - confidence) / (len(scores) * len(ks))
    for name, score in scores.items():
        order = tie_order[np.argsort(-score[tie_order], kind="stable")]  # highest first
        for k in ks:
            guessed_in, guessed_out = order[: k // 2], order[len(order) - k // 2 :]
            correct = int(coins[guessed_in].sum() + (~coins[guessed_out]).sum())
            bound = epsilon_lower_bound(m, k, correct, delta=delta, confidence=level)
            tries.append({"score": name, "k": k, "correct": correct, "lower_bound": bound})
    best = max(tries, key=lambda t: t["lower_bound"])
    return AuditResult(
        claimed_epsilon=claimed,
        delta=delta,
        lower_bound=best["lower_bound"],
        confidence=confidence,
        canaries=m,
        included=int(coins.sum()),
        members=np.flatnonzero(coins).tolist(),
        best=best,
        tries=tries,
        verdict=verdict(best["lower_bound"], claimed, confidence, m),
        scores={
            name: {"in": s[coins].tolist(), "out": s[~coins].tolist()} for name, s in scores.items()
        },
        model={
            "config": model.config_.to_dict(),
            "epochs_trained": model.epochs_trained_,
            "privacy": privacy,
        },
        table=table,
        seconds={"fit": fitted - started, "score": scored - fitted},
    )


def _table_run(model, data, meta, metadata, m, rng, synthetic_rows, clock):
    """Canary rows in by their coins, one fit, the scores of every canary."""
    planted, own = make_canaries(data, meta, m, rng)
    coins = rng.random(m) < 0.5
    tie_order = rng.permutation(m)  # how ties in a score are broken: independent of the coins
    train = pd.concat([data, planted[coins]], ignore_index=True)
    train = train.iloc[rng.permutation(len(train))].reset_index(drop=True)
    # The kinds of the real table hold for the canaries; a DP fit reads dtypes alone.
    model.fit(train, metadata=metadata if model.config.dp is not None else meta)
    fitted = clock()
    synthetic = model.sample(synthetic_rows or len(data), seed=int(rng.integers(2**31)))
    scores = {"critic": critic_scores(model, planted, own)}
    if own:  # without text columns no canary has a value of its own
        scores["vocabulary"] = vocabulary_scores(model, planted, own)
    scores["distance"] = distance_scores(planted, synthetic, data, meta)
    table = {"rows": len(data), "columns": data.shape[1], "synthetic_rows": len(synthetic)}
    return coins, tie_order, scores, fitted, clock(), table


def _series_run(model, data, seq, meta, metadata, m, rng, synthetic_entities, clock):
    """Canary entities in by their coins, one fit, the scores of every canary entity."""
    from ..timeseries.sequences import Sequences
    from . import series

    entity, time, attributes = seq.entity, seq.time, list(seq.attributes.columns)
    planted, own = series.make_canary_entities(data, seq, meta, m, rng)
    coins = rng.random(m) < 0.5
    tie_order = rng.permutation(m)
    canary_seq = Sequences.from_long(planted, entity, time, attributes)
    members = set(canary_seq.entities[coins].tolist())
    train = pd.concat([data, planted[planted[entity].isin(members)]], ignore_index=True)
    model.fit(
        train,
        entity=entity,
        time=time,
        attributes=attributes,  # named: a DP fit does not detect them
        metadata=metadata if model.config.dp is not None else meta,
    )
    fitted = clock()
    n = synthetic_entities or len(seq.entities)
    synthetic = model.sample(n, seed=int(rng.integers(2**31)))
    synthetic_seq = Sequences.from_long(synthetic, entity, time, attributes)
    scores = {"critic": series.critic_scores(model, canary_seq, own)}
    if own:
        scores["vocabulary"] = series.vocabulary_scores(model, canary_seq, own)
    scores["distance"] = series.distance_scores(canary_seq, synthetic_seq, seq)
    table = {
        "kind": "timeseries",
        "entities": len(seq.entities),
        "rows": len(data),
        "columns": data.shape[1],
        "synthetic_entities": n,
    }
    return coins, tie_order, scores, fitted, clock(), table


def verdict(bound: float, claimed: float | None, confidence: float, m: int) -> str:
    """The finding in plain words."""
    pct = f"{confidence:.0%}"
    if claimed is None:
        if bound > 0:
            return (
                f"The model leaks: with {pct} confidence, no training run like this one is "
                f"better than epsilon = {bound:.2f} for these records. It makes no DP claim."
            )
        return (
            f"No leakage detected with {m} canaries. That is not evidence of privacy: the "
            "model makes no DP claim, and a stronger test might find what this one did not."
        )
    if bound > claimed:
        return (
            f"The privacy claim is FALSE: with {pct} confidence the training run leaks more "
            f"than epsilon = {claimed:g} allows (lower bound {bound:.2f})."
        )
    return (
        f"Consistent with the claim: the audit's lower bound ({bound:.2f}) does not exceed the "
        f"claimed epsilon ({claimed:g}). An audit gives a lower bound, never a proof; the "
        "guarantee rests on the argument in docs/privacy.md."
    )
