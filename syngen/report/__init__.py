"""Scores of a synthetic table against the real one."""

from .fidelity import independent_baseline, quality_scores, sdmetrics_metadata

__all__ = ["independent_baseline", "quality_scores", "sdmetrics_metadata"]
