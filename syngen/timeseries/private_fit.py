"""fit_private: DoppelGANger's fit under entity-level differential privacy -- one entity, with
all its rows, is the privacy unit, and one (epsilon, delta) covers everything the model learns.

What the non-private fit reads from the data, and where it comes from here:

* the attributes' categories, ranges and modes, the sequence lengths, the start times and the
  time step, each numeric feature's per-entity minimum and maximum (the auto-normalization's
  midpoints and half-ranges, and the value range), whether it has nulls, and each categorical
  feature's categories: from ONE ROW PER ENTITY (``entity_summary``), released by the tabular
  model's private preprocessing (``privacy.preprocessing.private_proxy``: one noisy histogram
  per summary column, Gaussian partition selection for category lists). An entity is one row
  of the summary table, so adding or removing it moves one count per histogram: sensitivity 1,
  as for a row of a table. From the proxy summary alone a proxy set of sequences is built
  (``proxy_sequences``) and the ordinary encoders are fitted on it: post-processing.
* the networks: the real entities, moved into the released domain one by one
  (``clip_sequences``), are read only by DP-SGD on the two critics (``DPSequenceTrainer``),
  an entity one clipping unit, entities Poisson-sampled. The noise multiplier is chosen before
  training so that the histograms and every planned step compose to the target epsilon in one
  Renyi accountant, checked before each step.

Public metadata (``DPConfig.public_bounds`` / ``public_categories``) names the data's columns:
a feature's bounds are its per-entity minimum's and maximum's domain, the time column's bounds
the start times'. Which columns are attributes is schema: under DP it is not detected from the
values (``attributes=None`` models every column as a feature).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ..metadata import Metadata
from ..privacy.block import plan_training, privacy_block
from ..privacy.preprocessing import clip_to_domain, private_proxy
from .config import TimeSeriesConfig
from .dp_trainer import DPSequenceTrainer
from .sequences import Sequences, _no_nan_warning

LENGTH, START, STEP, NULLS = "<length>", "<start>", "<step>", "<nulls>"
SEVERAL = "<several>"  # an entity with nulls in two numeric features or more
# Enough proxy entities for the encoders' quantiles, few enough steps in all to stay small.
_PROXY_STEPS = 2_000_000


def entity_summary(
    seq: Sequences, kinds: dict[str, str], window: int | None = None
) -> tuple[pd.DataFrame, dict]:
    """One row per entity -- its attributes, length, start, median step, and per feature its
    minimum, maximum and whether it has nulls (numeric), or its most frequent value
    (categorical) -- and the summary columns' kinds. Which numeric features have nulls is one
    column for all of them (``<nulls>``: "", a feature's name, or ``<several>``): one release
    instead of one per feature. Windows of one series all have the
    window's length (the last one aside, whose length follows from the public number of rows):
    with ``window`` the length is left out, nothing to release."""
    columns = {c: seq.attributes[c].reset_index(drop=True) for c in seq.attributes.columns}
    summary_kinds = {c: kinds[c] for c in seq.attributes.columns}
    if window is None:
        columns[LENGTH] = pd.Series(seq.lengths.astype("int64"))
        summary_kinds[LENGTH] = "integer"
    columns[START] = pd.Series(seq.starts.astype("float64"))
    columns[STEP] = pd.Series(seq.steps.astype("float64"))
    summary_kinds.update({START: "numerical", STEP: "numerical"})
    width = seq.times.shape[1]
    valid = np.arange(width)[None, :] < seq.lengths[:, None]
    with_nulls = []
    for name, arr in seq.features.items():
        if kinds[name] in ("numerical", "integer"):
            present = np.where(valid, arr, np.nan)
            with _no_nan_warning():
                columns[f"{name}:min"] = pd.Series(np.nanmin(present, axis=1))
                columns[f"{name}:max"] = pd.Series(np.nanmax(present, axis=1))
            summary_kinds.update({f"{name}:min": "numerical", f"{name}:max": "numerical"})
            with_nulls.append(np.where((valid & np.isnan(arr)).any(axis=1), name, None))
        else:
            columns[f"{name}:mode"] = pd.Series(
                [_mode(arr[i, : seq.lengths[i]]) for i in range(len(arr))], dtype=object
            )
            summary_kinds[f"{name}:mode"] = "categorical"
    if with_nulls:
        patterns = []
        for names in zip(*with_nulls, strict=True):
            held = [n for n in names if n is not None]
            patterns.append(held[0] if len(held) == 1 else (SEVERAL if held else ""))
        columns[NULLS] = pd.Series(patterns, dtype=object)
        summary_kinds[NULLS] = "categorical"
    return pd.DataFrame(columns), summary_kinds


def _mode(values: np.ndarray):
    s = pd.Series(values, dtype=object).dropna()
    return None if s.empty else s.value_counts(sort=True).index[0]


def summary_public_domains(seq: Sequences, kinds: dict, dp) -> dict:
    """The user's public domains (named by the data's columns) for the summary's columns."""
    bounds, categories = {}, {}
    for column, value in dp.public_bounds.items():
        if column in seq.attributes.columns:
            bounds[column] = value
        elif column == seq.time:
            bounds[START] = _time_bounds(value, seq.dtypes[seq.time])
        elif column in seq.features:
            bounds[f"{column}:min"] = bounds[f"{column}:max"] = value
        elif column in (LENGTH, STEP):
            bounds[column] = value
        else:
            raise ValueError(f"public bounds name column {column!r}, not in the data")
    for column, values in dp.public_categories.items():
        if column in seq.attributes.columns:
            categories[column] = values
        elif column in seq.features:
            categories[f"{column}:mode"] = values
        else:
            raise ValueError(f"public categories name column {column!r}, not in the data")
    numeric = [name for name in seq.features if kinds[name] in ("numerical", "integer")]
    if numeric:  # the patterns' domain follows from the schema
        categories[NULLS] = ["", *numeric, SEVERAL]
    return {"public_bounds": bounds, "public_categories": categories}


def _time_bounds(value, dtype: dict) -> tuple[float, float]:
    """Public start bounds in the time column's ticks."""
    if dtype["dtype"] != "datetime":
        return tuple(float(v) for v in value)
    ns = np.timedelta64(1, dtype["unit"]) / np.timedelta64(1, "ns")
    return tuple(pd.Timestamp(v).value / ns for v in value)


def proxy_sequences(
    summary: pd.DataFrame,
    seq: Sequences,
    kinds: dict,
    rng: np.random.Generator,
    window: int | None = None,
    min_nulls: float = 0.0,
) -> Sequences:
    """Sequences built from a (proxy) summary alone: each entity's length (``window``, if
    given), start and step, its attributes, and per numeric feature values spanning its minimum
    and maximum (with a null where the summary says it has nulls); a categorical feature holds
    its mode throughout. A feature gets nulls only if the summary's share of entities with
    nulls, times the (public) number of entities, is at least ``min_nulls``: a noisy count
    that noise alone would reach is no evidence of nulls."""
    if window is not None:
        lengths = np.full(len(summary), int(window), "int64")
    else:
        lengths = np.clip(np.round(summary[LENGTH].to_numpy("float64")), 1, None).astype("int64")
    keep = max(500, _PROXY_STEPS // max(int(lengths.max()), 1))
    summary, lengths = summary.iloc[:keep].reset_index(drop=True), lengths[:keep]
    n, width = len(summary), int(lengths.max())
    valid = np.arange(width)[None, :] < lengths[:, None]
    last = lengths - 1
    rows = np.arange(n)
    features = {}
    for name in seq.features:
        if kinds[name] in ("numerical", "integer"):
            a = summary[f"{name}:min"].to_numpy("float64")
            b = summary[f"{name}:max"].to_numpy("float64")
            lo, hi = np.fmin(a, b), np.fmax(a, b)
            arr = lo[:, None] + rng.random((n, width)) * (hi - lo)[:, None]
            arr[:, 0], arr[rows, last] = lo, hi
            pattern = summary[NULLS].astype(object).to_numpy()
            null = ((pattern == name) | (pattern == SEVERAL)) & (lengths >= 3)
            if null.mean() * len(seq.entities) < min_nulls:
                null[:] = False
            arr[rows[null], rng.integers(1, np.maximum(last[null], 2))] = np.nan
            arr[~valid] = np.nan
        else:
            arr = np.full((n, width), None, dtype=object)
            modes = summary[f"{name}:mode"].to_numpy(object)
            arr[valid] = np.repeat(modes, lengths)
        features[name] = arr
    starts = summary[START].to_numpy("float64")
    steps = summary[STEP].to_numpy("float64")
    steps = np.where(np.isnan(steps), np.nanmedian(steps) if (~np.isnan(steps)).any() else 1, steps)
    starts = np.where(np.isnan(starts), np.nanmedian(starts), starts)
    times = (starts[:, None] + np.arange(width)[None, :] * steps[:, None]).astype("int64")
    return Sequences(
        entity=seq.entity,
        time=seq.time,
        columns=seq.columns,
        entities=np.arange(n),
        attributes=summary[list(seq.attributes.columns)],
        features=features,
        times=np.where(valid, times, 0),
        lengths=lengths,
        dtypes=seq.dtypes,
    )


def clip_sequences(seq: Sequences, model) -> Sequences:
    """``seq`` moved into the released domain entity by entity, by the released parameters
    alone: sequences cut to the longest released length (padded to it), attributes through
    ``clip_to_domain``, an unreleased category of a feature replaced by its first released one,
    an entity's all-null numeric feature (whose encoding would otherwise read the other
    entities' mean) set to the middle of the released range. Neighbouring data stay
    neighbours: every entity's image depends on that entity alone."""
    width = model.features_.max_len_
    lengths = np.minimum(seq.lengths, width)

    def fit_width(arr, fill):
        out = np.full((len(arr), width), fill, dtype=arr.dtype)
        k = min(width, arr.shape[1])
        out[:, :k] = arr[:, :k]
        return out

    valid = np.arange(width)[None, :] < lengths[:, None]
    enc = model.features_
    features = {}
    for name, arr in seq.features.items():
        arr = fit_width(arr, np.nan if arr.dtype != object else None)
        if name in enc.ranges_:
            r = enc.ranges_[name]
            empty = np.isnan(np.where(valid, arr, np.nan)).all(axis=1)
            arr[empty & (lengths > 0), 0] = (r.value_lo + r.value_hi) / 2
        else:
            cats = enc.categories_[name]
            flat = pd.Series(arr.ravel(), dtype=object)
            known = flat.isin(pd.Index([c for c in cats if c is not None], dtype=object))
            if None in cats:
                known |= flat.isna()
            arr[valid & ~known.to_numpy().reshape(arr.shape)] = cats[0]
        features[name] = arr
    attributes = seq.attributes
    if model.attribute_transformer_ is not None:
        attributes = clip_to_domain(seq.attributes, model.attribute_transformer_)
    return replace(
        seq,
        features=features,
        times=fit_width(seq.times, 0),
        lengths=lengths,
        attributes=attributes,
    )


def snapped_step(step: float, dtype: dict) -> int:
    """A released time step on the calendar: for datetimes, the whole number of days, hours,
    minutes or seconds (the largest unit that comes within 10%); ticks otherwise
    (post-processing of the noisy step)."""
    step = max(float(step), 1.0)
    if dtype["dtype"] != "datetime":
        return int(round(step))
    tick = np.timedelta64(1, dtype["unit"]) / np.timedelta64(1, "ns")
    ns = step * tick
    for unit in (86_400e9, 3_600e9, 60e9, 1e9):
        k = round(ns / unit)
        if k >= 1 and abs(ns - k * unit) <= 0.1 * ns:
            return int(k * unit / tick)
    return int(round(step))


def on_grid(ticks: list[int], step: int, dtype: dict) -> list[int]:
    """``ticks`` rounded to whole ``step``s: of local wall-clock time for a zone-aware datetime
    (a day starts at the zone's midnight, not at UTC's), of the ticks otherwise."""
    if dtype["dtype"] != "datetime" or dtype.get("tz") is None:
        return [int(round(t / step)) * step for t in ticks]
    unit = dtype["unit"]
    utc = pd.Series(np.asarray(ticks, "int64").astype(f"datetime64[{unit}]")).dt.tz_localize("UTC")
    wall = utc.dt.tz_convert(dtype["tz"]).dt.tz_localize(None).astype("int64")
    snapped = pd.Series(
        (np.round(wall / step) * step).astype("int64").astype(f"datetime64[{unit}]")
    )
    local = snapped.dt.tz_localize(dtype["tz"], ambiguous="NaT", nonexistent="shift_forward")
    back = local.dt.tz_convert("UTC").dt.tz_localize(None).astype("int64").to_numpy()
    return np.where(local.isna(), np.asarray(ticks, "int64"), back).tolist()


def fit_private(
    model,
    seq: Sequences,
    kinds: dict,
    cfg: TimeSeriesConfig,
    rng: np.random.Generator,
    epochs,
    window: int | None = None,
) -> dict:
    """Fit ``model`` on the sequences ``seq`` (cut into ``window``s of one series, if given)
    under ``cfg.dp``; the privacy block of the fit."""
    dp, n = cfg.dp, len(seq.entities)
    summary, summary_kinds = entity_summary(seq, kinds, window)
    public = summary_public_domains(seq, kinds, dp)
    # Start ticks are timestamps: their range narrows once more (as a datetime column's).
    pre = private_proxy(summary, Metadata(summary_kinds), replace(dp, **public), rng, zoom={START})
    # Nulls of a feature: a noisy count above three noise deviations (post-processing).
    min_nulls = 3 * (pre.noise_multiplier or 0.0)
    proxy = proxy_sequences(pre.proxy, seq, kinds, rng, window, min_nulls)
    model._learn_schema(proxy, kinds, rng)
    time_dtype = seq.dtypes[seq.time]
    step = snapped_step(model.schema_["step"], time_dtype)
    model.schema_.update(
        entity_start=0,  # the largest real id would be read from the data
        step=step,
        # The proxy's starts lie off the data's grid: back onto the step's.
        start_quantiles=on_grid(model.schema_["start_quantiles"], step, time_dtype),
    )
    real = clip_sequences(seq, model)
    attr = model._encode_attributes(real.attributes, rng)
    features, additional = model.features_.encode(real)
    model._build()

    budget, steps_per_epoch, planned = plan_training(pre, dp.epsilon, cfg.batch_size, n, cfg.epochs)
    trainer = DPSequenceTrainer(
        model.generator_, cfg, (attr, additional, features), rng, model.device_, budget
    )
    trainer.run(epochs, steps_per_epoch)
    model._critic = trainer.D  # the audit's white-box score could read it; never saved
    return privacy_block(
        unit="entity",
        mechanism="DP-SGD on both critics (per-entity clipping, Gaussian noise, Poisson "
        "sampling of entities) and Gaussian histograms of one summary row per entity, composed "
        "in Renyi DP",
        dp=dp,
        pre=pre,
        budget=budget,
        planned=planned,
        # Named by the data's columns, as given (the summary's columns are paid_columns).
        public=sorted({*dp.public_bounds, *dp.public_categories}),
    )
