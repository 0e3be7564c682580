"""The audit of a time-series model: canaries are whole entities, and so are the scores' units.

A canary entity has a fresh id, a length drawn from the real entities' lengths, a real entity's
start and the median time step, attributes drawn as ``canaries.make_canaries`` draws a row's
values (a text attribute holds a value of its own, ``canary-17``), and at every step each
feature drawn on its own, uniformly over what the column holds: a jagged sequence no real
entity resembles. Scores, higher meaning "more likely in":

* ``critic``: the last fit's main critic on the canary, encoded as DP-SGD encodes a real entity
  (moved into the model's domain; its own attribute values replaced by a common one);
* ``vocabulary``: how many of its own attribute values the model's attribute encoder knows;
* ``distance``: minus the distance from the canary's summary (per numeric feature: mean,
  spread, first and last value, and the mean absolute step change; the length) to the nearest
  synthetic entity's, each summary column standardized on the real entities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.neighbors import NearestNeighbors

from ..metadata import Metadata
from ..timeseries.sequences import Sequences, _no_nan_warning
from .canaries import _is_text, make_canaries


def make_canary_entities(
    data: pd.DataFrame, seq: Sequences, metadata: Metadata, m: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[str]]:
    """``m`` canary entities as a long frame like ``data`` (ids after the real ones), and the
    text attributes in which each holds a value of its own."""
    attributes = list(seq.attributes.columns)
    static, own = make_canaries(
        seq.attributes, Metadata({c: metadata.columns[c] for c in attributes}), m, rng
    )
    lengths = seq.lengths[rng.integers(0, len(seq.lengths), m)]
    starts = seq.starts[rng.integers(0, len(seq.starts), m)]
    step = int(round(float(np.nanmedian(seq.steps)))) or 1
    rows = np.repeat(np.arange(m), lengths)
    position = np.concatenate([np.arange(n) for n in lengths])
    ids = seq.entities
    if np.issubdtype(np.asarray(ids).dtype, np.integer):
        new_ids = np.asarray(ids).max() + 1 + np.arange(m)
    else:
        # Zero-padded: sorted as entities are, the canaries keep their order.
        new_ids = np.array([f"canary-{i:06d}" for i in range(m)], dtype=object)
    out = {seq.entity: pd.Series(new_ids[rows]).astype(data[seq.entity].dtype)}
    ticks = starts[rows] + position * step
    t = data[seq.time]
    if pd.api.types.is_datetime64_any_dtype(t):
        times = pd.Series(ticks.astype(f"datetime64[{t.dt.unit}]"))
        if t.dt.tz is not None:
            times = times.dt.tz_localize("UTC").dt.tz_convert(t.dt.tz)
        out[seq.time] = times
    else:
        out[seq.time] = pd.Series(ticks).astype(t.dtype)
    for column in attributes:
        out[column] = static[column].iloc[rows].reset_index(drop=True)
    features = [c for c in data.columns if c in seq.features]
    steps, _ = make_canaries(
        data[features], Metadata({c: metadata.columns[c] for c in features}), len(rows), rng
    )
    for column in features:
        if column in _own_columns(data[features], metadata):  # a text feature: real levels
            levels = pd.unique(data[column].dropna())
            steps[column] = pd.Series(levels[rng.integers(0, len(levels), len(rows))])
        out[column] = steps[column].reset_index(drop=True).astype(data[column].dtype)
    return pd.DataFrame(out)[list(data.columns)], own


def _own_columns(frame: pd.DataFrame, metadata: Metadata) -> list[str]:
    return [c for c in frame.columns if metadata.columns[c] == "categorical" and _is_text(frame[c])]


def critic_scores(model, canaries: Sequences, own: list[str]) -> np.ndarray:
    """The last fit's main critic on each canary entity."""
    from ..timeseries.private_fit import clip_sequences
    from ..timeseries.trainer import with_difference

    tt = model.attribute_transformer_
    attributes = canaries.attributes
    if tt is not None and own:
        common = {c: tt.transform_of(c).categories_[0] for c in own}
        attributes = attributes.assign(**common)
    seq = clip_sequences(
        Sequences(**{**canaries.__dict__, "attributes": attributes.reset_index(drop=True)}), model
    )
    rng = np.random.default_rng(0)
    attr = model._encode_attributes(seq.attributes, rng)
    features, additional = model.features_.encode(seq)
    parts = [torch.from_numpy(x).float().to(model.device_) for x in (attr, additional, features)]
    critic = model._critic
    with torch.no_grad():
        score = critic(*with_difference(parts, model.config_.difference_weight))
    return score.reshape(-1).double().cpu().numpy()


def vocabulary_scores(model, canaries: Sequences, own: list[str]) -> np.ndarray:
    """Per canary entity, how many of its own attribute values the model knows."""
    score = np.zeros(len(canaries.entities))
    for column in own:
        t = model.attribute_transformer_.transform_of(column)
        known = {*getattr(t, "categories_", ()), *getattr(t, "rare_values_", ())}
        score += canaries.attributes[column].isin(known).to_numpy()
    return score


def distance_scores(canaries: Sequences, synthetic: Sequences, real: Sequences) -> np.ndarray:
    """Minus each canary's distance to the nearest synthetic entity, on entity summaries
    standardized on the real entities."""
    numeric = [name for name, arr in real.features.items() if arr.dtype != object]
    ref = _summary(real, numeric)
    mean, std = np.nanmean(ref, 0), np.nanstd(ref, 0)
    std[~(std > 0)] = 1.0

    def scaled(seq):
        return np.nan_to_num((_summary(seq, numeric) - mean) / std)

    nn = NearestNeighbors(n_neighbors=1).fit(scaled(synthetic))
    distance, _ = nn.kneighbors(scaled(canaries))
    return -distance[:, 0]


def _summary(seq: Sequences, numeric: list[str]) -> np.ndarray:
    width = seq.times.shape[1]
    valid = np.arange(width)[None, :] < seq.lengths[:, None]
    columns = [seq.lengths.astype("float64")]
    rows = np.arange(len(seq.lengths))
    with np.errstate(all="ignore"), _no_nan_warning():
        for name in numeric:
            x = np.where(valid, seq.features[name], np.nan)
            change = np.abs(np.diff(x, axis=1))
            columns += [
                np.nanmean(x, 1),
                np.nanstd(x, 1),
                x[:, 0],
                x[rows, seq.lengths - 1],
                np.nanmean(change, 1) if width > 1 else np.zeros(len(x)),
            ]
    return np.stack(columns, 1)
