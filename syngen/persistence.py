"""The model file: safetensors weights with a JSON header; loading never runs code.

The header (format name and version, syngen version, model kind, config, metadata, transform
parameters, training history) is stored as one JSON string in the safetensors metadata, so a
model is a single file that ``safetensors`` can read without trusting it.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .io import atomic_path
from .version import __version__

FORMAT = "syngen-model"
# 2: every field a model reads is required (format 1 files could lack the condition mixture
# and the time-series quantiles, which their loaders guessed).
FORMAT_VERSION = 2
# kind -> model class, filled by the models as they are defined (``model_kind``).
MODEL_KINDS: dict[str, type] = {}


class ModelFileError(ValueError):
    """The file is not a syngen model this version can read."""


def save_model(path: str | Path, header: dict, tensors: dict[str, torch.Tensor]) -> None:
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "syngen_version": __version__,
        **header,
    }
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={FORMAT: json.dumps(header)})


def model_kind(kind: str):
    """Class decorator: files whose header says ``kind`` load as this class."""

    def register(cls: type) -> type:
        cls.kind = kind
        MODEL_KINDS[kind] = cls
        return cls

    return register


def read_model_file(
    path: str | Path, kind: str | None = None
) -> tuple[dict, dict[str, torch.Tensor]]:
    """The header and tensors of a syngen model file; with ``kind``, it must hold that kind."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: not a syngen model file (or it is corrupt): {exc}") from exc
    if FORMAT not in meta:
        raise ModelFileError(f"{path}: a safetensors file, but not one written by syngen")
    try:
        header = json.loads(meta[FORMAT])
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: the model header is corrupt: {exc}") from exc
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: the model header is not a JSON object")
    if header.get("format") != FORMAT:
        raise ModelFileError(
            f"{path}: the model header's format must be {FORMAT!r}, got {header.get('format')!r}"
        )
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(
            f"{path}: the model header's format_version must be a positive integer, got {version!r}"
        )
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {version} is newer than this syngen reads "
            f"({FORMAT_VERSION}); upgrade syngen"
        )
    if version < FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: written by an older syngen (model format {version}); this version reads "
            f"format {FORMAT_VERSION}: fit the model again with this version"
        )
    for name, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ModelFileError(f"{path}: tensor {name!r} holds NaN or infinite values")
    found = header.get("kind")
    if found not in MODEL_KINDS:
        raise ModelFileError(f"{path}: unknown model kind {found!r}")
    if kind is not None and found != kind:
        raise ModelFileError(f"{path}: holds a {found!r} model, not a {kind} one")
    return header, tensors


def load(path: str | Path):
    """Load any syngen model file and return the model of the right class."""
    from . import tabular, timeseries  # noqa: F401  (their classes register their kinds)

    header, tensors = read_model_file(path)
    return MODEL_KINDS[header["kind"]]._from_file(header, tensors)
