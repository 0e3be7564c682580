"""One bench cell's fit and sample in a process of its own: ``python -m syngen.bench.worker
SPEC.json`` (syngen's models and the baselines) or ``python peer_worker.py SPEC.json`` (peers,
in any interpreter that has pandas and the peer's package).

The spec names the model, the training (and reference) rows as Parquet files, the rows to
sample, the seed, the budget (``epochs`` or ``seconds``), ``epsilon`` and the thread count. The
worker writes the synthetic rows to ``spec["output"]`` and its measurements to
``spec["result"]``: fit and sample seconds, sampling rows per second, the process's peak
resident memory and what the model says about its fit (epochs, privacy block). A failure
leaves no result: the parent records the exit status and the last line of stderr.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def peak_rss_mib() -> float | None:
    """The high-water resident memory of this process (VmHWM), MiB; None off Linux.

    Not ``ru_maxrss``: Linux carries it across fork and exec, so a fresh worker would start
    from its parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def main(spec_path: str) -> None:
    import warnings

    import pandas as pd

    from .models import fit_sample

    warnings.filterwarnings("ignore")
    spec = json.loads(Path(spec_path).read_text())
    set_threads(spec.get("threads"))
    train = pd.read_parquet(spec["train"])
    reference = pd.read_parquet(spec["reference"])
    started = time.perf_counter()
    draw, info = fit_sample(spec, train, reference)
    fitted = time.perf_counter()
    synthetic = draw()
    sampled = time.perf_counter()
    synthetic.to_parquet(spec["output"])
    sample_seconds = sampled - fitted
    result = {
        "fit_seconds": round(fitted - started, 3),
        "sample_seconds": round(sample_seconds, 3),
        "sample_rows_per_second": round(len(synthetic) / sample_seconds)
        if sample_seconds > 0
        else None,
        "peak_rss_mib": peak_rss_mib(),
        **info,
    }
    Path(spec["result"]).write_text(json.dumps(result, default=str))


if __name__ == "__main__":  # pragma: no cover - run as a process by the bench
    main(sys.argv[1])
