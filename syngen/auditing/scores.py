"""How strongly a trained model points at each canary having been in its training rows; higher
means "more likely in". Any function of what training produced is a valid score (the audit's
bound holds for any score: it is post-processing), so a weak score only loosens the bound.

* ``critic``: white-box. The fitted critic's score of the canary, averaged over the condition
  classes of the canary's own discrete values. A critic scores rows it was trained on as real,
  higher than rows it never saw, the signal of discriminator-based membership attacks (LOGAN).
  Under DP the critic is the network DP-SGD trained, so the score is covered by the guarantee.
* ``vocabulary``: white-box, on the model file. How many of the canary's own text values
  (``canaries.make_canaries``) the model's column encoders know: a pipeline that keeps every
  category it saw stores the value of each canary it trained on, and may emit it verbatim.
* ``distance``: black-box. Minus the distance from the canary to its nearest synthetic row (the
  report's mixed-type distance): a model that remembers a canary generates rows next to it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.neighbors import NearestNeighbors

from ..metadata import Metadata
from ..privacy.preprocessing import clip_to_domain
from ..report.features import RowEncoder
from ..tabular.critics import PackCritic
from ..tabular.draw_order import RealRows


def critic_scores(model, canaries: pd.DataFrame, own: list[str]) -> np.ndarray:
    """The last fit's critic on each canary (a pack of copies of it, for a pack critic).

    The canaries' own values (``own`` columns) are replaced by each column's first category for
    every canary alike: known to the model only for canaries it trained on, they would make
    the two groups differ in their encoding rather than in what the critic learned (the
    vocabulary score reads them). Everything else is moved into the model's domain, as DP-SGD
    moves every row."""
    critic, tt = model._critic, model.transformer_
    common = {c: tt.transform_of(c).categories_[0] for c in own}
    canaries = clip_to_domain(canaries.assign(**common), tt)
    encoded = tt.encode(canaries.reset_index(drop=True), np.random.default_rng(0))
    rows = RealRows(encoded, tt, model.layout_, model.device_)(np.arange(len(canaries)))
    cat = [i for i, _ in tt.category_spans()]
    classes = encoded.codes[:, cat].astype("int64") + model.sampler_.offsets  # (m, columns)
    was_training = critic.training
    critic.eval()  # no dropout: the same score every time
    try:
        with torch.no_grad():
            per_condition = [
                _score(critic, rows, None if c is None else torch.from_numpy(c), model)
                for c in (classes.T if classes.shape[1] else [None])
            ]
    finally:
        critic.train(was_training)
    return torch.stack(per_condition).mean(0).double().cpu().numpy()


def _score(critic, rows: torch.Tensor, classes: torch.Tensor | None, model) -> torch.Tensor:
    if isinstance(critic, PackCritic):
        pac = critic.pac
        x = rows.repeat_interleave(pac, 0)
        cond = None if classes is None else classes.to(rows.device).repeat_interleave(pac)
        return critic(x, cond).reshape(-1)
    cond_dim = model.sampler_.cond_dim
    if classes is None:
        onehot = torch.zeros(len(rows), 0, device=rows.device)
    else:
        onehot = F.one_hot(classes.to(rows.device), cond_dim).float()
    return critic(rows, onehot).reshape(-1)


def vocabulary_scores(model, canaries: pd.DataFrame, own: list[str]) -> np.ndarray:
    """Per canary, how many of its own values (in the ``own`` columns) the model knows."""
    score = np.zeros(len(canaries))
    for column in own:
        t = model.transformer_.transform_of(column)
        known = {*getattr(t, "categories_", ()), *getattr(t, "rare_values_", ())}
        score += canaries[column].isin(known).to_numpy()
    return score


def distance_scores(
    canaries: pd.DataFrame, synthetic: pd.DataFrame, real: pd.DataFrame, metadata: Metadata
) -> np.ndarray:
    """Minus each canary's distance to its nearest synthetic row, in the distance space of the
    report fitted on the real rows (without canaries)."""
    encoder = RowEncoder(metadata).fit(real)
    reference = encoder.distances(synthetic)
    nn = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(reference)
    distance, _ = nn.kneighbors(encoder.distances(canaries))
    return -distance[:, 0]
