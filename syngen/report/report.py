"""``evaluate(real, synthetic, holdout=...)`` -> ``Report``: every score, its details, and the
binned data the HTML page plots, in one versioned JSON-able object.

The report does not depend on how the synthetic rows were made: inputs are frames plus
metadata (detected from the real frame when not given). Synthetic and holdout frames are
brought to the real frame's kinds first (numbers from text, categories compared as text), so a
CSV written by another tool scores the same as the frame it came from.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_path
from ..metadata import Metadata, MetadataError, as_metadata
from ..version import __version__
from .features import (
    NULL_LABEL,
    NUMERIC_KINDS,
    RowEncoder,
    as_labels,
    as_numbers,
    row_hashes,
)
from .fidelity import association_matrix, coverage, detection, quality_details
from .privacy import PrivacyThresholds, attribute_inference, privacy
from .utility import utility
from .verdicts import QualityThresholds, quality_verdicts

SCHEMA = "syngen-report"
MIN_HOLDOUT_ROWS = 100
SCHEMA_VERSION = 1


@dataclass
class ReportConfig:
    """Sample sizes and seed of a report; all of them are written into its output."""

    seed: int = 0
    quality_rows: int = 30_000  # rows of each frame in the sdmetrics report and the plots
    detection_rows: int = 10_000  # rows of each side given to the detection classifier
    privacy_queries: int = 5_000  # synthetic rows (and attack targets) looked up
    utility_rows: int = 100_000  # training rows of the utility models
    series_iterations: int = 1000  # training steps of each GRU of the time-series scores
    series_repeats: int = 3  # discriminative runs averaged (each on its own 80/20 split)
    thresholds: PrivacyThresholds = field(default_factory=PrivacyThresholds)
    quality_thresholds: QualityThresholds = field(default_factory=QualityThresholds)

    def __post_init__(self) -> None:
        for name in (
            "quality_rows",
            "detection_rows",
            "privacy_queries",
            "utility_rows",
            "series_iterations",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 10:
                raise ValueError(f"{name} must be an integer of at least 10, got {value!r}")
        if not isinstance(self.series_repeats, int) or self.series_repeats < 1:
            raise ValueError(
                f"series_repeats must be a positive integer, got {self.series_repeats!r}"
            )


@dataclass
class Report:
    """Scores of one synthetic table. ``scores`` is flat: ``{"fidelity.quality": 0.93, ...}``."""

    scores: dict[str, float | None]
    verdicts: list[dict]
    details: dict
    inputs: dict
    sampling: dict
    created: str = ""
    syngen_version: str = ""
    # The privacy block of the model the synthetic rows came from (``model.privacy_``), when
    # it was trained under differential privacy.
    privacy: dict | None = None
    # What makes scores less meaningful than they look (a tiny holdout, a column left empty).
    warnings: list[str] = field(default_factory=list)
    # The fidelity and utility verdicts (``verdicts`` are the privacy ones).
    quality_verdicts: list[dict] = field(default_factory=list)

    @property
    def privacy_passed(self) -> bool | None:
        """True when every privacy verdict passed; None when there was no holdout to judge."""
        return all(v["passed"] for v in self.verdicts) if self.verdicts else None

    # ---- output -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return _jsonable(
            {
                "schema": SCHEMA,
                "version": SCHEMA_VERSION,
                "syngen_version": self.syngen_version,
                "created": self.created,
                "inputs": self.inputs,
                "sampling": self.sampling,
                "scores": self.scores,
                "verdicts": self.verdicts,
                "quality_verdicts": self.quality_verdicts,
                "details": self.details,
                "differential_privacy": self.privacy,
                "warnings": self.warnings,
            }
        )

    def to_json(self, path: str | Path) -> None:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.to_dict(), indent=1, allow_nan=False))

    @classmethod
    def from_json(cls, path: str | Path) -> Report:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: not a readable report JSON ({exc})") from exc
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise ValueError(f'{path}: not a syngen report (no \'"schema": "{SCHEMA}"\')')
        if data.get("version") != SCHEMA_VERSION:
            raise ValueError(
                f"{path}: report version {data.get('version')}; this syngen reads version "
                f"{SCHEMA_VERSION}"
            )
        return cls(
            scores=data["scores"],
            verdicts=data["verdicts"],
            details=data["details"],
            inputs=data["inputs"],
            sampling=data["sampling"],
            created=data["created"],
            syngen_version=data["syngen_version"],
            privacy=data.get("differential_privacy"),
            warnings=data.get("warnings", []),
            quality_verdicts=data.get("quality_verdicts", []),
        )

    def to_html(self, path: str | Path) -> None:
        from .html import render

        page = render(self)
        with atomic_path(path) as tmp:
            tmp.write_text(page, encoding="utf-8")

    def summary(self) -> list[tuple[str, str, bool | None]]:
        """(label, value, passed) lines for a console; ``passed`` is None for plain scores."""
        s = self.scores
        lines: list[tuple[str, str, bool | None]] = []
        for key, label in _SUMMARY:
            if s.get(key) is not None:
                lines.append((label, f"{s[key]:.3f}", None))
        for v in [*self.quality_verdicts, *self.verdicts]:
            lines.append((v["score"], v["text"], v["passed"]))
        for w in self.warnings:
            lines.append(("warning", f"WARN: {w}", False))
        return lines


_SUMMARY = [
    ("fidelity.quality", "quality (sdmetrics)"),
    ("fidelity.column_shapes", "column shapes"),
    ("fidelity.column_pair_trends", "column pair trends"),
    ("fidelity.category_coverage", "category coverage"),
    ("fidelity.range_coverage", "range coverage"),
    ("fidelity.missing_values", "missing values"),
    ("fidelity.detection_auc", "detection AUC (0.5 best)"),
    ("utility.tstr_roc_auc", "TSTR ROC AUC"),
    ("utility.trtr_roc_auc", "TRTR ROC AUC"),
    ("utility.tstr_macro_f1", "TSTR macro F1"),
    ("utility.trtr_macro_f1", "TRTR macro F1"),
    ("utility.tstr_r2", "TSTR R2"),
    ("utility.trtr_r2", "TRTR R2"),
    ("series.discriminative", "discriminative (0 best)"),
    ("series.predictive_mae", "predictive MAE (synthetic)"),
    ("series.predictive_mae_real", "predictive MAE (real)"),
    ("series.length_ks", "length KS (0 best)"),
    ("series.acf_distance", "autocorrelation distance"),
    ("series.attribute_quality", "attribute quality"),
]


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


# ---- inputs -----------------------------------------------------------------------------
def _metadata_and_parsed_real(metadata, real: pd.DataFrame) -> tuple[Metadata, pd.DataFrame]:
    """The metadata, and ``real`` with text columns declared numeric or datetime parsed
    (a CSV has no dtypes, so a declared kind is how its dates become dates)."""
    if metadata is None:
        return Metadata.detect(real), real
    metadata = as_metadata(metadata)
    parsed = {
        c: _as_kind(real[c], kind, c, "real")
        for c, kind in metadata.columns.items()
        if c in real.columns
        and kind in NUMERIC_KINDS
        and not pd.api.types.is_numeric_dtype(real[c])
        and not pd.api.types.is_datetime64_any_dtype(real[c])
    }
    real = real.assign(**parsed) if parsed else real
    metadata.validate(real)
    return metadata, real


def _as_kind(s: pd.Series, kind: str, column: str, name: str) -> pd.Series:
    """A numeric or datetime column of ``name`` parsed from whatever it holds."""
    if kind == "datetime":
        values = (
            s
            if pd.api.types.is_datetime64_any_dtype(s)
            else pd.to_datetime(s, errors="coerce", utc=True, format="mixed")
        )
        what = "dates"
    else:
        values = pd.to_numeric(s, errors="coerce")
        what = "numbers"
    bad = values.isna() & s.notna()
    if bad.any():
        raise ValueError(
            f"column {column!r} of {name} holds values that are not {what}, such as "
            f"{s[bad].iloc[0]!r}, but it is {kind} in the real table"
        )
    return values


def _normalize(frame: object, name: str, metadata: Metadata) -> pd.DataFrame:
    """``frame`` with the real table's columns, numbers as float64, datetimes as naive UTC,
    categories as text (nulls as one reserved label); id columns dropped."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    if len(frame) == 0:
        raise ValueError(f"{name} has no rows")
    missing = [c for c in metadata.columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks the real table's columns {missing}")
    extra = [str(c) for c in frame.columns if c not in metadata.columns]
    if extra:
        raise ValueError(
            f"{name} has columns the real table does not: {extra}; drop them "
            "(a CSV index column such as 'Unnamed: 0' comes from to_csv without index=False)"
        )
    out = {}
    for c, kind in metadata.columns.items():
        if kind == "id":
            continue
        if kind in NUMERIC_KINDS:
            values = as_numbers(_as_kind(frame[c], kind, c, name))
            if np.isinf(values).any():
                raise ValueError(f"column {c!r} of {name} holds inf; replace it with null")
            out[c] = pd.to_datetime(values, unit="s") if kind == "datetime" else values
        else:
            out[c] = as_labels(frame[c])
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _sample(df: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(df) <= n:
        return df
    return df.iloc[np.sort(rng.choice(len(df), n, replace=False))].reset_index(drop=True)


# ---- the report -------------------------------------------------------------------------
def report_sizes(rows: int | None = None, series_iterations: int | None = None) -> dict:
    """``ReportConfig`` sample sizes for a quicker, noisier report: every score's rows capped at
    ``rows``, each time-series GRU trained ``series_iterations`` steps, once (None: the
    defaults)."""
    sizes = {}
    if rows is not None:
        names = ("quality_rows", "detection_rows", "privacy_queries", "utility_rows")
        sizes.update(dict.fromkeys(names, rows))
    if series_iterations is not None:
        sizes.update(series_iterations=series_iterations, series_repeats=1)
    return sizes


def evaluate(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    holdout: pd.DataFrame | None = None,
    metadata: Metadata | dict | str | Path | None = None,
    target: str | None = None,
    sensitive: str | None = None,
    entity: str | None = None,
    time: str | None = None,
    attributes: list[str] | None = None,
    config: ReportConfig | None = None,
    privacy: dict | None = None,
) -> Report:
    """Score ``synthetic`` against the ``real`` rows it was made from.

    ``holdout``: real rows the generator never saw; needed for the privacy scores and used
    as the test set of the utility scores. ``target``: a column to predict (utility).
    ``sensitive``: a column an attacker wants to learn (attribute-inference risk).
    ``entity`` and ``time``: the tables are long time series (one row per entity and step);
    adds the time-series scores (``attributes``: the static columns, detected if None).
    ``privacy``: the privacy block of the DP model that made ``synthetic`` (``model.privacy_``),
    shown with the scores.
    """
    config = config or ReportConfig()
    metadata, real = _checked_inputs(
        real, metadata, holdout=holdout, target=target, sensitive=sensitive, entity=entity,
        time=time,
    )  # fmt: skip
    rng = np.random.default_rng(config.seed)
    real_n = _normalize(real, "real", metadata)
    syn_n = _normalize(synthetic, "synthetic", metadata)
    hold_n = None if holdout is None else _normalize(holdout, "holdout", metadata)
    scored = Metadata({c: k for c, k in metadata.columns.items() if k != "id"})
    scores: dict[str, float | None] = {}
    details: dict = {}
    # The order of the parts is the order of their draws from ``rng``: it fixes the scores.
    encoder, rows_used = _fidelity(real_n, syn_n, scored, config, rng, scores, details)
    if entity is not None:
        from .timeseries import series_scores

        series, details["series"] = series_scores(
            real,
            synthetic,
            entity,
            time,
            attributes,
            seed=config.seed,
            iterations=config.series_iterations,
            repeats=config.series_repeats,
        )
        scores.update(series)
    if target is not None:
        _utility(real_n, syn_n, hold_n, scored, target, config, rng, scores, details)
    verdicts = _privacy(
        real_n, syn_n, hold_n, scored, encoder, sensitive, entity is not None, config, scores,
        details,
    )  # fmt: skip
    inputs = {
        "real_rows": len(real),
        "synthetic_rows": len(synthetic),
        "holdout_rows": None if holdout is None else len(holdout),
        "columns": metadata.to_dict()["columns"],
        "excluded_columns": [c for c, k in metadata.columns.items() if k == "id"],
        "target": target,
        "sensitive": sensitive,
        "entity": entity,
        "time": time,
    }
    warnings = []
    if holdout is not None and len(holdout) < MIN_HOLDOUT_ROWS:
        warnings.append(
            f"the holdout has {len(holdout)} rows: the privacy verdicts and utility scores "
            f"need at least {MIN_HOLDOUT_ROWS} real rows the generator never saw to mean much"
        )
    for column in scored.columns:
        if syn_n[column].isna().all() and not real_n[column].isna().all():
            warnings.append(
                f"column {column!r} is all null in the synthetic rows (the real rows have "
                "values): Column Shapes ignores nulls and does not show it"
            )
    sampling = {
        k: v for k, v in asdict(config).items() if k not in ("thresholds", "quality_thresholds")
    }
    sampling["thresholds"] = {**config.thresholds.to_dict(), **config.quality_thresholds.to_dict()}
    sampling["rows_used"] = rows_used
    return Report(
        scores=scores,
        verdicts=verdicts,
        details=_jsonable(details),
        inputs=inputs,
        sampling=sampling,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        syngen_version=__version__,
        privacy=privacy,
        warnings=warnings,
        quality_verdicts=quality_verdicts(scores, config.quality_thresholds),
    )


def _checked_inputs(
    real, metadata, *, holdout, target, sensitive, entity, time
) -> tuple[Metadata, pd.DataFrame]:
    """The metadata and the real table as the scores read them, every argument checked."""
    if not isinstance(real, pd.DataFrame):
        raise TypeError(f"real must be a pandas DataFrame, got {type(real).__name__}")
    if (entity is None) != (time is None):
        raise ValueError("time-series scores need both entity and time columns")
    if entity is not None and (holdout is not None or target or sensitive):
        raise ValueError(
            "holdout, target and sensitive are not supported for time series yet: "
            "the report scores fidelity of entities only"
        )
    for arg, col in (("entity", entity), ("time", time)):
        if col is not None and col not in real.columns:
            raise ValueError(f"{arg} column {col!r} is not in the real table")
    if entity is not None:
        # The entity column names sequences; it is an id, not a value to compare.
        metadata = as_metadata(metadata).columns if metadata is not None else {}
        metadata = {**Metadata.detect(real, {entity: "id"}).columns, **metadata, entity: "id"}
    try:
        metadata, real = _metadata_and_parsed_real(metadata, real)
    except MetadataError as exc:
        raise ValueError(f"real table: {exc}") from exc
    for arg, col in (("target", target), ("sensitive", sensitive)):
        if col is not None and col not in metadata.columns:
            raise ValueError(f"{arg} column {col!r} is not in the real table")
        if col is not None and metadata.columns[col] in ("id", "constant"):
            raise ValueError(f"{arg} column {col!r} is an {metadata.columns[col]} column")
    if sensitive is not None and holdout is None:
        raise ValueError(
            "sensitive needs a holdout: attribute inference compares training "
            "rows with holdout rows"
        )
    return metadata, real


def _fidelity(real_n, syn_n, scored, config, rng, scores, details):
    """sdmetrics quality, coverage, detection, the plotted distributions and associations;
    the encoder fitted on the real rows (the privacy scores use it too), and the rows used."""
    plotted = [c for c, k in scored.columns.items() if k != "constant"]
    real_q = _sample(real_n, config.quality_rows, rng)
    syn_q = _sample(syn_n, config.quality_rows, rng)
    quality, details["quality"] = quality_details(real_q, syn_q, _sdmetrics_kinds(scored))
    scores.update({f"fidelity.{k}": v for k, v in quality.items()})
    cov = coverage(real_n, syn_n, scored)
    details["coverage"] = cov
    scores["fidelity.category_coverage"] = _mean(cov["category"].values())
    scores["fidelity.range_coverage"] = _mean(cov["range"].values())
    scores["fidelity.missing_values"] = _mean(cov["missing"].values())
    encoder = RowEncoder(scored).fit(real_n, config.seed)
    real_d = _sample(real_n, config.detection_rows, rng)
    syn_d = _sample(syn_n, config.detection_rows, rng)
    det = detection(
        real_d,
        syn_d,
        encoder,
        (row_hashes(real_d, scored), row_hashes(syn_d, scored)),
        seed=config.seed,
    )
    scores["fidelity.detection_auc"] = det["detection_auc"]
    details["detection"] = det
    details["distributions"] = {
        c: _distribution(real_q[c], syn_q[c], scored.columns[c]) for c in plotted
    }
    details["associations"] = {
        "columns": plotted,
        "real": association_matrix(real_q, plotted, scored, real_q),
        "synthetic": association_matrix(syn_q, plotted, scored, real_q),
    }
    rows_used = {"quality": [len(real_q), len(syn_q)], "detection": [len(real_d), len(syn_d)]}
    return encoder, rows_used


def _utility(real_n, syn_n, hold_n, scored, target, config, rng, scores, details) -> None:
    """Train-synthetic-test-real against train-real-test-real, tested on the holdout (else on
    a fifth of the real rows, which the generator saw)."""
    if hold_n is not None:
        train_u, test_u, test_note = real_n, hold_n, "holdout"
    else:
        test_idx = rng.random(len(real_n)) < 0.2
        train_u, test_u = real_n[~test_idx], real_n[test_idx]
        test_note = "20% of the real rows (the generator saw them: prefer a holdout)"
    u = utility(
        _sample(train_u, config.utility_rows, rng),
        _sample(syn_n, config.utility_rows, rng),
        test_u,
        scored,
        target,
        seed=config.seed,
    )
    u["test_rows"] = test_note
    details["utility"] = u
    scores.update({f"utility.{k}": v for k, v in u.items() if isinstance(v, float)})


def _privacy(
    real_n, syn_n, hold_n, scored, encoder, sensitive, series, config, scores, details
) -> list[dict]:
    """The privacy scores and their verdicts: against the holdout when there is one (else
    only the exact-copy rate); none yet for time series."""
    hashes = {"train": row_hashes(real_n, scored), "synthetic": row_hashes(syn_n, scored)}
    if series:
        details["privacy"] = {
            "note": "privacy scores for time-series entities are not computed yet"
        }
        return []
    if hold_n is None:
        scores["privacy.exact_copy_rate"] = float(
            np.isin(hashes["synthetic"], hashes["train"]).mean()
        )
        details["privacy"] = {
            "note": "no holdout given: privacy verdicts need real rows the "
            "generator never saw (--holdout)"
        }
        return []
    hashes["holdout"] = row_hashes(hold_n, scored)
    p, verdicts, arrays = privacy(
        real_n,
        hold_n,
        syn_n,
        encoder,
        hashes,
        config.thresholds,
        queries=config.privacy_queries,
        seed=config.seed,
    )
    scores.update({f"privacy.{k}": v for k, v in p.items()})
    details["privacy"] = {"dcr_histogram": _dcr_histogram(arrays)}
    if sensitive is not None:
        a, verdict = attribute_inference(
            real_n,
            hold_n,
            syn_n,
            scored,
            sensitive,
            config.thresholds,
            queries=config.privacy_queries,
            seed=config.seed,
        )
        scores.update({f"privacy.{k}": v for k, v in a.items()})
        verdicts.append(verdict)
    return verdicts


def _sdmetrics_kinds(metadata: Metadata) -> Metadata:
    # Categories arrive as text, so booleans are scored as two-level categories.
    return Metadata(
        {c: ("categorical" if k == "boolean" else k) for c, k in metadata.columns.items()}
    )


def _mean(values) -> float | None:
    values = list(values)
    return float(np.mean(values)) if values else None


def _distribution(real: pd.Series, synthetic: pd.Series, kind: str, bins: int = 30) -> dict:
    """Binned real and synthetic shares of one column, for its overlay plot."""
    if kind in NUMERIC_KINDS:
        r, s = as_numbers(real), as_numbers(synthetic)
        r_ok, s_ok = r[~np.isnan(r)], s[~np.isnan(s)]
        lo, hi = np.quantile(r_ok, [0.005, 0.995]) if len(r_ok) else (0.0, 1.0)
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, bins + 1)
        hr = np.histogram(np.clip(r_ok, lo, hi), edges)[0] / max(len(r), 1)
        hs = np.histogram(np.clip(s_ok, lo, hi), edges)[0] / max(len(s), 1)
        return {
            "kind": "datetime" if kind == "datetime" else "numeric",
            "edges": edges,
            "real": hr,
            "synthetic": hs,
            "real_null": float(np.isnan(r).mean()),
            "synthetic_null": float(np.isnan(s).mean()),
        }
    rc = pd.Series(as_labels(real)).value_counts(normalize=True)
    sc = pd.Series(as_labels(synthetic)).value_counts(normalize=True)
    top = list(rc.index[:12])
    real_shares = rc.reindex(top).to_numpy()
    syn_shares = sc.reindex(top).fillna(0).to_numpy()
    labels = ["(null)" if x == NULL_LABEL else x for x in top]
    rest_real, rest_syn = 1 - real_shares.sum(), 1 - syn_shares.sum()
    if max(rest_real, rest_syn) > 1e-9:
        labels.append("(other)")
        real_shares = np.r_[real_shares, rest_real]
        syn_shares = np.r_[syn_shares, rest_syn]
    return {"kind": "categorical", "labels": labels, "real": real_shares, "synthetic": syn_shares}


def _dcr_histogram(arrays: dict[str, np.ndarray], bins: int = 40) -> dict:
    hi = float(np.quantile(np.r_[arrays["dcr_synthetic"], arrays["dcr_holdout"]], 0.99)) or 1.0
    edges = np.linspace(0, hi, bins + 1)

    def share(a):
        return np.histogram(np.clip(a, 0, hi), edges)[0] / len(a)

    return {
        "edges": edges,
        "synthetic_to_train": share(arrays["dcr_synthetic"]),
        "holdout_to_train": share(arrays["dcr_holdout"]),
        "synthetic_to_holdout": share(arrays["dcr_synthetic_holdout"]),
    }
