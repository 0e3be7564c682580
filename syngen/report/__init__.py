"""Fidelity, utility and privacy scores of a synthetic table, as JSON and an HTML page."""

from .fidelity import independent_baseline, quality_scores, sdmetrics_metadata
from .privacy import PrivacyThresholds
from .report import Report, ReportConfig, evaluate
from .verdicts import QualityThresholds

__all__ = [
    "PrivacyThresholds",
    "QualityThresholds",
    "Report",
    "ReportConfig",
    "evaluate",
    "independent_baseline",
    "quality_scores",
    "sdmetrics_metadata",
]
