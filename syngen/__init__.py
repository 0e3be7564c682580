"""syngen: synthetic copies of sensitive tables and time series."""

from importlib import import_module

from .version import __version__

# Every name is imported on first use: `syngen --help` and light scripts do not pay for
# torch, scikit-learn and sdmetrics up front.
_WHERE = {
    "Metadata": "metadata",
    "MetadataError": "metadata",
    "ModelFileError": "persistence",
    "load": "persistence",
    "TabularConfig": "tabular",
    "TabularGAN": "tabular",
    "DoppelGANger": "timeseries",
    "TimeSeriesConfig": "timeseries",
    "PrivacyThresholds": "report",
    "QualityThresholds": "report",
    "Report": "report",
    "ReportConfig": "report",
    "evaluate": "report",
    "DPConfig": "privacy.config",
    "AuditResult": "auditing",
    "audit": "auditing",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'syngen' has no attribute {name!r}")


__all__ = [
    "AuditResult",
    "DPConfig",
    "DoppelGANger",
    "Metadata",
    "MetadataError",
    "ModelFileError",
    "PrivacyThresholds",
    "QualityThresholds",
    "Report",
    "ReportConfig",
    "TabularConfig",
    "TabularGAN",
    "TimeSeriesConfig",
    "__version__",
    "audit",
    "evaluate",
    "load",
]
