"""The privacy block: what a DP fit spent, in the words the CLI and the report use."""

from __future__ import annotations


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
