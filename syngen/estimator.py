"""Synthesizer: the estimator shape both models share.

A constructor that stores a config (plus keyword overrides), the fit prelude (config resolved,
device, one seed for everything), the training history, the model file (save, load, the kind
check), the fitted check and the repr -- written once here so that ``TabularGAN`` and
``DoppelGANger`` hold only what is their own. ``ModelConfig`` is the config dataclasses' shared
validation and JSON round trip.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from .device import resolve_device
from .persistence import ModelFileError, read_model_file, save_model
from .training import EpochLoop, seeded


class ModelConfig:
    """Mixed into each model's config dataclass: the checks every config needs, and
    ``to_dict``/``from_dict`` for the model file (tuples as lists, unknown fields refused)."""

    def _check_common(self) -> None:
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ValueError(f"max_seconds must be positive, got {self.max_seconds}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {self.device!r}")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict):
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields {unknown}; known: {sorted(known)}")
        return cls(**data)


class Synthesizer:
    """The base of the models: ``Model(config=None, **overrides)``, ``fit`` returns self,
    learned state ends with ``_``; ``save``/``load`` through ``syngen.persistence``.

    A subclass sets ``config_class`` and ``fit_call`` (how its fit is called, for messages),
    is registered with ``persistence.model_kind``, and writes ``_header``/``_tensors`` (what
    its file holds besides config and history) and ``_restore`` (the way back).
    """

    kind: ClassVar[str]
    config_class: ClassVar[type]
    fit_call: ClassVar[str] = "fit(df)"
    # The seconds of the time budget and of the history's "seconds": injectable, so that a
    # test can drive the budget with a fake clock instead of the host's speed.
    clock: Callable[[], float] = staticmethod(time.perf_counter)

    def __init__(self, config=None, **overrides) -> None:
        name = self.config_class.__name__
        if config is not None and not isinstance(config, self.config_class):
            raise TypeError(f"config must be a {name}, got {type(config).__name__}")
        base = config or self.config_class()
        try:
            self.config = replace(base, **overrides) if overrides else base
        except TypeError as exc:
            if "unexpected keyword" not in str(exc):
                raise  # a known option with a value of the wrong type
            raise TypeError(f"unknown {type(self).__name__} option: {exc}") from None

    # ---- fit --------------------------------------------------------------------------------
    def _begin_fit(self, cfg) -> np.random.Generator:
        """Store the resolved config and the device; the fit's one source of randomness."""
        self.config_ = cfg
        self.device_ = resolve_device(cfg.device)
        return np.random.default_rng(cfg.seed)

    @contextmanager
    def _seeded(self, rng: np.random.Generator):
        """torch's generators seeded from ``rng`` for the fit, the caller's restored after (see
        ``training.seeded``)."""
        with seeded(int(rng.integers(2**31)), self.device_):
            yield

    def _epochs(self, cfg, started: float, on_epoch) -> EpochLoop:
        """The fit's epochs; they fill ``history_``."""
        loop = EpochLoop(
            cfg.epochs,
            started=started,
            max_seconds=cfg.max_seconds,
            verbose=cfg.verbose,
            on_epoch=on_epoch,
            clock=self.clock,
        )
        self.history_ = loop.history
        return loop

    @property
    def epochs_trained_(self) -> int:
        return len(self.history_)

    # ---- model file -------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write weights and JSON header to one safe file (see ``syngen.persistence``)."""
        self._check_fitted()
        header = {
            "kind": self.kind,
            "config": self.config_.to_dict(),
            **self._header(),
            "history": self.history_,
        }
        save_model(path, header, self._tensors())

    @classmethod
    def load(cls, path: str | Path):
        """The model saved at ``path``, which must be of this class's kind."""
        return cls._from_file(*read_model_file(path, kind=cls.kind))

    @classmethod
    def _from_file(cls, header: dict, tensors: dict[str, torch.Tensor]):
        try:
            cfg = cls.config_class.from_dict(header["config"])
            self = cls(cfg)
            self.config_ = cfg
            self.device_ = resolve_device(cfg.device, loading=True)
            self.history_ = list(header["history"])
            self._restore(header, dict(tensors))
            # A few rows drawn now: a part that does not fit the rest (a tensor's shape, a
            # table's size) fails here, as a ModelFileError, not in the user's sampling.
            self._check_sample()
        except ModelFileError:
            raise
        except (
            KeyError,
            TypeError,
            ValueError,
            RuntimeError,
            IndexError,
            AttributeError,
            OverflowError,
            ZeroDivisionError,
        ) as exc:
            what = f"{type(exc).__name__}: {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ModelFileError(f"model file is inconsistent or corrupt: {what}") from exc
        return self

    def _check_sample(self) -> None:
        raise NotImplementedError

    def _header(self) -> dict:
        raise NotImplementedError

    def _tensors(self) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _restore(self, header: dict, tensors: dict[str, torch.Tensor]) -> None:
        raise NotImplementedError

    # ---- state ------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "generator_"):
            raise RuntimeError(
                f"this {type(self).__name__} is not fitted yet; call {self.fit_call} first"
            )

    def __repr__(self) -> str:
        fitted = hasattr(self, "generator_")
        state = f"fitted, {self.epochs_trained_} epochs" if fitted else "unfitted"
        return f"{type(self).__name__}({state})"
