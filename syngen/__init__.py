"""syngen: synthetic copies of sensitive tables and time series."""

from .metadata import Metadata, MetadataError  # noqa: E402
from .persistence import ModelFileError, load  # noqa: E402
from .tabular import TabularConfig, TabularGAN  # noqa: E402
from .timeseries import DoppelGANger, TimeSeriesConfig  # noqa: E402
from .version import __version__  # noqa: E402

# The report pulls in scikit-learn, sdmetrics and matplotlib: imported on first use only.
_REPORT_NAMES = ("PrivacyThresholds", "Report", "ReportConfig", "evaluate")


def __getattr__(name: str):
    if name in _REPORT_NAMES:
        from . import report

        return getattr(report, name)
    raise AttributeError(f"module 'syngen' has no attribute {name!r}")


__all__ = [
    "DoppelGANger",
    "Metadata",
    "MetadataError",
    "ModelFileError",
    "PrivacyThresholds",
    "Report",
    "ReportConfig",
    "TabularConfig",
    "TabularGAN",
    "TimeSeriesConfig",
    "__version__",
    "evaluate",
    "load",
]
