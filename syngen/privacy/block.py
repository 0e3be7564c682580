"""The privacy block: what a DP fit spent, as the model file holds it (``privacy_block``)
and in the words the CLI and the report use (``describe``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports this module at start: opacus only when a fit needs it
    from .accountant import TrainingBudget


def plan_training(pre, epsilon: float, batch_size: int, units: int, epochs: int):
    """DP-SGD's plan after the preprocessing ``pre`` (a ``PrivateProxy``): Poisson sampling at
    ``batch_size / units``, the epochs' steps, and the noise multiplier that makes the
    histograms and every planned step compose to ``epsilon``. (budget, steps per epoch, planned
    steps); the budget checks each step against the ledger."""
    from .accountant import TrainingBudget, sgd_noise_for

    sample_rate = min(1.0, batch_size / units)
    steps_per_epoch = max(1, round(1 / sample_rate))
    planned = epochs * steps_per_epoch
    ledger = pre.ledger
    sigma = sgd_noise_for(epsilon, ledger.delta, sample_rate, planned, ledger.releases)
    return TrainingBudget(ledger, sigma, sample_rate, epsilon), steps_per_epoch, planned


def privacy_block(
    *, unit: str, mechanism: str, dp, pre, budget: TrainingBudget, planned: int, public: list
) -> dict:
    """The model file's privacy block of a finished DP fit (``budget`` closed)."""
    from .accountant import PrivacyLedger

    ledger = pre.ledger
    preprocessing = [r for r in ledger.releases if r.component.startswith("preprocessing")]
    return {
        "unit": unit,
        "epsilon": ledger.epsilon(),
        "target_epsilon": dp.epsilon,
        "delta": pre.delta,
        "delta_split": {"renyi": ledger.delta, "category_selection": pre.delta - ledger.delta},
        "accountant": "rdp",
        "mechanism": mechanism,
        "noise_multiplier": budget.noise_multiplier,
        "sample_rate": budget.sample_rate,
        "steps": budget.steps,
        "planned_steps": planned,
        "max_grad_norm": dp.max_grad_norm,
        "preprocessing_noise_multiplier": pre.noise_multiplier,
        "epsilon_by_component": {
            "preprocessing": PrivacyLedger.epsilon_of(preprocessing, ledger.delta),
            "training": ledger.by_component().get("training", 0.0),
        },
        "preprocessing_share": dp.preprocessing_share,
        "public_columns": public,
        "paid_columns": pre.paid_columns,
    }


def describe(block: dict | None) -> list[str]:
    """Plain lines for a model's privacy block (None: a model trained without DP)."""
    if block is None:
        return ["privacy: no differential privacy (trained on the rows as they are)"]
    parts = block["epsilon_by_component"]
    lines = [
        f"privacy: ({block['epsilon']:.3f}, {block['delta']:.3g})-differential privacy for each "
        f"{block['unit']} of the training table, the whole pipeline covered "
        f"(target epsilon {block['target_epsilon']:g}; {block['accountant'].upper()} accountant)",
        f"  preprocessing: epsilon {parts['preprocessing']:.3f} alone "
        f"(share {block['preprocessing_share']:g}; noisy histograms of "
        f"{len(block['paid_columns'])} columns)",
        f"  training: epsilon {parts['training']:.3f} alone, {block['steps']} of "
        f"{block['planned_steps']} planned DP-SGD steps, noise multiplier "
        f"{block['noise_multiplier']:.3f}, sampling rate {block['sample_rate']:.4g}, clipping "
        f"norm {block['max_grad_norm']:g}",
    ]
    if block["public_columns"]:
        lines.append(f"  public metadata (no cost): {', '.join(block['public_columns'])}")
    return lines
