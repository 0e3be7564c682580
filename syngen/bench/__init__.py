"""syngen bench: a leaderboard of generators on the user's own tables, from one command."""

from .catalogue import Dataset, bundled, from_file, from_manifest, resolve
from .runner import BenchConfig, read_results, run_bench

__all__ = [
    "BenchConfig",
    "Dataset",
    "bundled",
    "from_file",
    "from_manifest",
    "read_results",
    "resolve",
    "run_bench",
]
