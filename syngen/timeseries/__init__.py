"""Time series: DoppelGANger (Lin et al. 2020) for entities with attributes and sequences."""

from .config import TimeSeriesConfig
from .model import DoppelGANger

__all__ = ["DoppelGANger", "TimeSeriesConfig"]
