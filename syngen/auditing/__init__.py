"""The one-run privacy audit: an empirical lower bound on a training run's epsilon."""

from .audit import AuditResult, audit
from .bound import epsilon_lower_bound, one_run_p_value

__all__ = ["AuditResult", "audit", "epsilon_lower_bound", "one_run_p_value"]
