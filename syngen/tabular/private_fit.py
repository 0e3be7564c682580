"""fit_private: TabularGAN's fit under differential privacy, from the raw rows to a model
whose every learned statistic is covered by one (epsilon, delta).

The order of the spending: the preprocessing share pays for one noisy histogram per column
(``privacy.preprocessing``); the transformer, the condition sampler and calibration are fitted
on a proxy table drawn from those histograms alone; the real rows, moved into the released
domain row by row, are read only by DP-SGD on the critic (``DPTrainer``), whose noise
multiplier is chosen once, before training, so that the histograms and every planned step
compose to the target epsilon. The accountant is checked before each step.
"""

from __future__ import annotations

import pandas as pd

from ..metadata import Metadata, MetadataError, as_metadata
from ..privacy.accountant import (
    PrivacyLedger,
    TrainingBudget,
    gaussian_noise_for,
    sgd_noise_for,
)
from ..privacy.preprocessing import (
    NUMERIC_KINDS,
    clip_to_domain,
    private_metadata,
    proxy_table,
    public_domain,
    release_count,
    release_histograms,
    uniform_histogram,
)
from ..transform import TableTransformer
from .calibration import calibrate
from .config import TabularConfig
from .dp_trainer import DPTrainer
from .draw_order import output_in_draw_order
from .sampler import ConditionSampler


def fit_private(model, data: pd.DataFrame, metadata, cfg: TabularConfig, rng, epochs) -> dict:
    """Fit ``model`` on ``data`` under ``cfg.dp``; the privacy block of the fit."""
    dp, n = cfg.dp, len(data)
    meta = private_metadata(data, None if metadata is None else as_metadata(metadata))
    for column in [*dp.public_bounds, *dp.public_categories]:
        if column not in meta.columns:
            raise MetadataError(f"public metadata names column {column!r}, not in the data")
    public = public_domain(meta, dp.public_bounds, dp.public_categories)
    delta = dp.resolved_delta(n)
    # Category lists read from the data pay a delta of their own (partition selection).
    selected = [
        c
        for c, kind in meta.columns.items()
        if kind not in (*NUMERIC_KINDS, "id") and c not in dp.public_categories
    ]
    if dp.preprocessing_share == 0:
        private = [c for c, k in meta.columns.items() if k != "id" and c not in public]
        if private:
            raise ValueError(
                f"preprocessing_share is 0, but columns {private} have no public domain: their "
                "ranges and categories would be read from the data without budget. Give their "
                "bounds or categories (DPConfig public_bounds / public_categories, or the "
                'metadata file\'s "public" block), or a preprocessing share above 0'
            )
        skip, selected = set(public), []
    else:
        skip = set()
    delta_threshold = delta / 2 / len(selected) if selected else 0.0
    ledger = PrivacyLedger(delta / 2 if selected else delta)
    releases = release_count(meta, dp.public_bounds, skip)
    eps_pre = dp.preprocessing_share * dp.epsilon
    sigma_pre = gaussian_noise_for(eps_pre, ledger.delta, releases) if releases else None
    hists, made = release_histograms(
        data,
        meta,
        noise_multiplier=sigma_pre or 0.0,
        delta_threshold=delta_threshold,
        public_bounds=dp.public_bounds,
        public_categories=dp.public_categories,
        rng=rng,
        skip=skip,
    )
    for release in made:
        ledger.add(release)
    hists += [
        uniform_histogram(
            c,
            meta.columns[c],
            dp.public_bounds.get(c),
            dp.public_categories.get(c),
            data[c],
        )
        for c in sorted(skip)
    ]
    proxy = proxy_table(data, meta, hists, rng)
    model.transformer_ = TableTransformer(
        Metadata(dict(meta.columns)),
        max_modes=cfg.max_modes,
        max_categories=cfg.max_categories,
        discrete_threshold=cfg.discrete_threshold,
        sample_size=cfg.transformer_sample_size,
        derive_columns=False,
        seed=int(rng.integers(2**31)),
        verbose=cfg.verbose,
    ).fit(proxy)
    tt = model.transformer_
    if tt.output_dim_ == 0:
        raise ValueError("nothing to learn: every column is an id; check the metadata kinds")
    encoded = tt.encode(clip_to_domain(data, tt), rng)
    proxy_codes = tt.encode(proxy, rng).codes
    cat = [i for i, _ in tt.category_spans()]
    model._build(ConditionSampler.from_codes(proxy_codes[:, cat], model._condition_widths(), False))

    sample_rate = min(1.0, cfg.batch_size / n)
    steps_per_epoch = max(1, round(1 / sample_rate))
    planned = cfg.epochs * steps_per_epoch
    sigma = sgd_noise_for(dp.epsilon, ledger.delta, sample_rate, planned, ledger.releases)
    budget = TrainingBudget(ledger, sigma, sample_rate, dp.epsilon)
    with output_in_draw_order(model.generator_, model.layout_):
        DPTrainer(model, cfg, encoded, rng, budget, dp.max_grad_norm).run(epochs, steps_per_epoch)
    if cfg.calibrate:
        calibrate(model, proxy_codes, rng)  # the proxy's shares: post-processing
    parts = ledger.by_component()
    preprocessing = [r for r in ledger.releases if r.component.startswith("preprocessing")]
    return {
        "unit": "row",
        "epsilon": ledger.epsilon(),
        "target_epsilon": dp.epsilon,
        "delta": delta,
        "delta_split": {
            "renyi": ledger.delta,
            "category_selection": delta_threshold * len(selected),
        },
        "accountant": "rdp",
        "mechanism": "DP-SGD on the critic (per-row clipping, Gaussian noise, Poisson sampling) "
        "and Gaussian histograms, composed in Renyi DP",
        "noise_multiplier": sigma,
        "sample_rate": sample_rate,
        "steps": budget.steps,
        "planned_steps": planned,
        "max_grad_norm": dp.max_grad_norm,
        "preprocessing_noise_multiplier": sigma_pre,
        "epsilon_by_component": {
            "preprocessing": PrivacyLedger.epsilon_of(preprocessing, ledger.delta),
            "training": parts.get("training", 0.0),
        },
        "preprocessing_share": dp.preprocessing_share,
        "public_columns": sorted(public),
        "paid_columns": sorted(c for c, k in meta.columns.items() if k != "id" and c not in skip),
    }
