"""Calibration: after training, match the generated class shares to the data's -- first by the
mixture of conditions generation draws from, then by a per-class logit bias.

A GAN's marginals drift (a binary column at 0.3 where the data has 0.5). Rows generated under
one condition are whole rows the generator made for it, their joint structure intact, so the
mixture of conditions takes what reweighting whole rows can (``fit_condition_mixture``); a
logit bias moves one column's class in every row whatever the rest of the row says, so it only
corrects what remains, the continuous columns' modes among it (``calibrate``). Neither costs
anything at sampling time. See docs/experiments.md for what each did on Adult.
"""

from __future__ import annotations

import numpy as np
import torch

# The mixture fit generates rows for each condition class and holds a square matrix of them:
# above this many classes it is skipped.
MIXTURE_MAX_CLASSES = 2000


def calibrate(
    model,
    codes: np.ndarray,
    rng: np.random.Generator,
    rows: int = 20_000,
    max_rounds: int = 16,
    tolerance: float = 0.02,
) -> None:
    """Refit ``model``'s mixture of conditions, then shift its class logits until each softmax
    span's class shares in generated rows are within ``tolerance`` (total variation) of their
    shares in ``codes``, the real rows' class codes, or ``max_rounds`` have run.

    The bias rounds are fixed-point steps on ``rows`` generated rows each; they go on to the
    tolerance because a span that the conditional vector mostly decides answers its bias slowly.
    """
    spans = model.transformer_.softmax_spans_
    if not spans:
        return
    gen = torch.Generator(device=model.device_)
    gen.manual_seed(int(rng.integers(2**63)))
    if 0 < model.sampler_.cond_dim <= MIXTURE_MAX_CLASSES:
        fit_condition_mixture(model, gen)
    real = np.concatenate(
        [np.bincount(codes[:, j], minlength=s.width) / len(codes) for j, s in enumerate(spans)]
    )
    starts = np.cumsum([0] + [s.width for s in spans[:-1]])
    floor = 1.0 / rows
    chunk = min(rows, 5_000)  # bounded memory: the shares are counted chunk by chunk
    for _ in range(max_rounds):
        counts = [np.zeros(s.width) for s in spans]
        with model._row_source(gen) as source:
            for _ in range(rows // chunk):
                g = (
                    model.sampler_.sample_mixture(chunk, rng)[1]
                    if model.sampler_.cond_dim
                    else None
                )
                made = source(chunk, g)[0]
                for j, s in enumerate(spans):
                    counts[j] += np.bincount(made[:, j], minlength=s.width)
        share = np.concatenate(counts) / (rows // chunk * chunk)
        if np.add.reduceat(np.abs(share - real), starts).max() / 2 < tolerance:
            break
        step = np.log(np.maximum(real, floor)) - np.log(np.maximum(share, floor))
        bias = model.class_bias_ + torch.from_numpy(step).float().to(model.device_)
        model.class_bias_ = bias.clamp(-8, 8)


def fit_condition_mixture(model, gen: torch.Generator, rows: int = 50_000) -> None:
    """Choose how often generation conditions on each class so that the discrete columns'
    class shares match the data's, before any logit bias.

    ``P[c, k]``, the share of class k in rows conditioned on c, is measured on ``rows``
    generated rows in all; the mixture weights ``w`` then minimise the summed KL divergence of
    each column's real shares from ``w @ P`` by the EM update of mixture weights.
    """
    sampler = model.sampler_
    cat = [j for j, _ in model.transformer_.category_spans()]
    per_class = max(32, rows // sampler.cond_dim)
    shares = np.empty((sampler.cond_dim, sampler.cond_dim))
    with model._row_source(gen) as source:
        for c in range(sampler.cond_dim):
            made = source(per_class, np.full(per_class, c))[0][:, cat]
            shares[c] = (
                np.bincount((made + sampler.offsets).ravel(), minlength=sampler.cond_dim)
                / per_class
            )
    w = sampler.original_mixture()
    real = w * sampler.n_columns  # each column's class shares in the data
    for _ in range(300):
        ratio = real / np.maximum(w @ shares, 1e-12)
        w = w * (shares @ ratio) / sampler.n_columns
    sampler.set_mixture(w)
