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
from ..privacy.block import plan_training, privacy_block
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
    proxy = pre.proxy
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

    budget, steps_per_epoch, planned = plan_training(pre, dp.epsilon, cfg.batch_size, n, cfg.epochs)
    trainer = DPTrainer(model, cfg, encoded, rng, budget, dp.max_grad_norm)
    with output_in_draw_order(model.generator_, model.layout_):
        trainer.run(epochs, steps_per_epoch)
    model._critic = trainer.D  # the audit's white-box score reads it; never saved
    if cfg.calibrate:
        calibrate(model, proxy_codes, rng)  # the proxy's shares: post-processing
    return privacy_block(
        unit="row",
        mechanism="DP-SGD on the critic (per-row clipping, Gaussian noise, Poisson sampling) "
        "and Gaussian histograms, composed in Renyi DP",
        dp=dp,
        pre=pre,
        budget=budget,
        planned=planned,
        public=pre.public_columns,
    )
