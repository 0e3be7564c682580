"""syngen: synthetic copies of sensitive tables and time series."""

__version__ = "0.1.0"

from .metadata import Metadata, MetadataError  # noqa: E402
from .persistence import ModelFileError, load  # noqa: E402
from .tabular import TabularConfig, TabularGAN  # noqa: E402

__all__ = [
    "Metadata",
    "MetadataError",
    "ModelFileError",
    "TabularConfig",
    "TabularGAN",
    "__version__",
    "load",
]
