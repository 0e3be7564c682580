"""Where the networks run: "auto" (CUDA when present), "cpu" or "cuda[:N]"."""

from __future__ import annotations

import torch


def resolve_device(name: str, loading: bool = False) -> torch.device:
    """The torch device for ``name``; ``loading=True`` (a saved model's device) falls back to
    the CPU where CUDA is missing: a model trained on a GPU must still sample on a laptop."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        if loading:
            return torch.device("cpu")
        raise RuntimeError(f"device {name!r} was asked for, but CUDA is not available here")
    return torch.device(name)
