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

from ..metadata import as_metadata
from ..privacy.accountant import PrivacyLedger, TrainingBudget, sgd_noise_for
from ..privacy.preprocessing import clip_to_domain, private_proxy
from ..transform import TableTransformer
from .calibration import calibrate
from .config import TabularConfig
from .dp_trainer import DPTrainer
from .draw_order import output_in_draw_order
from .sampler import ConditionSampler


def fit_private(model, data: pd.DataFrame, metadata, cfg: TabularConfig, rng, epochs) -> dict:
    """Fit ``model`` on ``data`` under ``cfg.dp``; the privacy block of the fit."""
    dp, n = cfg.dp, len(data)
    pre = private_proxy(data, None if metadata is None else as_metadata(metadata), dp, rng)
    ledger, proxy = pre.ledger, pre.proxy
    model.transformer_ = TableTransformer(
        pre.metadata,
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
    trainer = DPTrainer(model, cfg, encoded, rng, budget, dp.max_grad_norm)
    with output_in_draw_order(model.generator_, model.layout_):
        trainer.run(epochs, steps_per_epoch)
    model._critic = trainer.D  # the audit's white-box score reads it; never saved
    if cfg.calibrate:
        calibrate(model, proxy_codes, rng)  # the proxy's shares: post-processing
    preprocessing = [r for r in ledger.releases if r.component.startswith("preprocessing")]
    return {
        "unit": "row",
        "epsilon": ledger.epsilon(),
        "target_epsilon": dp.epsilon,
        "delta": pre.delta,
        "delta_split": {"renyi": ledger.delta, "category_selection": pre.delta - ledger.delta},
        "accountant": "rdp",
        "mechanism": "DP-SGD on the critic (per-row clipping, Gaussian noise, Poisson sampling) "
        "and Gaussian histograms, composed in Renyi DP",
        "noise_multiplier": sigma,
        "sample_rate": sample_rate,
        "steps": budget.steps,
        "planned_steps": planned,
        "max_grad_norm": dp.max_grad_norm,
        "preprocessing_noise_multiplier": pre.noise_multiplier,
        "epsilon_by_component": {
            "preprocessing": PrivacyLedger.epsilon_of(preprocessing, ledger.delta),
            "training": ledger.by_component().get("training", 0.0),
        },
        "preprocessing_share": dp.preprocessing_share,
        "public_columns": pre.public_columns,
        "paid_columns": pre.paid_columns,
    }
