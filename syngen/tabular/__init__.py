"""The conditional tabular GAN."""

from .config import TabularConfig
from .model import TabularGAN

__all__ = ["TabularConfig", "TabularGAN"]
