"""One fit in its own process: ``python benchmarks/fit_worker.py SPEC.json``.

Run by ``run.py`` so that the peak memory of each fit is that process's alone. The spec names
the library (``syngen`` or ``sdv``), the training table (a parquet file written by the
parent), the model options, and what to sample afterwards. The worker writes:

* the current phase ("import", "fit", "sample", "done") to ``phase_file``, which the parent's
  memory poller reads to attribute the process tree's RSS to a phase;
* the result JSON to ``result_path``: wall and CPU seconds of the fit, per-epoch wall/CPU
  seconds, the high-water RSS (VmHWM) of this process after the imports and after the fit,
  sampling times, and the path of the evaluation sample.

Per-epoch times are taken the same way for every library: a clock is read as each epoch starts
and once as the last one ends. syngen's models report those moments through ``fit(...,
on_epoch=...)``; for SDV, the module-level ``tqdm`` name that its training loop iterates over
(``ctgan.synthesizers.ctgan.tqdm``) is wrapped so that the clock is read every time the loop
asks for the next epoch. Nothing else in the training code is touched.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import warnings
from pathlib import Path

import pandas as pd


def _maxrss_mib() -> float:
    """Peak resident memory of this process so far (MiB).

    VmHWM of /proc/self/status, the high-water RSS of this process's own address space. Not
    ``ru_maxrss``: Linux carries ``ru_maxrss`` across fork and execve, so a fresh worker starts
    with its parent's peak as a floor (the harness process holds data sets and libraries).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class _EpochClock:
    """Wraps a tqdm bar; records (wall, cpu) each time the loop starts an epoch and at its end."""

    marks: list[tuple[float, float]] = []
    finished = False

    def __init__(self, bar) -> None:
        self._bar = bar

    def __iter__(self):
        for item in self._bar:
            _EpochClock.marks.append((time.perf_counter(), time.process_time()))
            yield item
        _EpochClock.marks.append((time.perf_counter(), time.process_time()))
        _EpochClock.finished = True

    def __getattr__(self, name):
        return getattr(self._bar, name)


def _epoch_callback():
    """syngen's ``on_epoch``: the same marks as ``_EpochClock``, the last epoch's end included."""
    end: list[tuple[float, float]] = []

    def on_epoch(epoch: int, record: dict | None) -> None:
        mark = (time.perf_counter(), time.process_time())
        if record is None:
            _EpochClock.marks.append(mark)
        else:
            end[:] = [mark]

    def close() -> None:
        _EpochClock.marks.extend(end)
        _EpochClock.finished = True

    return on_epoch, close


def _install_clock(module) -> None:
    real = module.tqdm

    def clocked(*args, **kwargs):
        return _EpochClock(real(*args, **kwargs))

    module.tqdm = clocked


def _epoch_times(fit_end: tuple[float, float]) -> tuple[list[float], list[float], float | None]:
    """Per-epoch wall and CPU seconds, and the time from fit start to the first epoch."""
    marks = list(_EpochClock.marks)
    if not marks:
        return [], [], None
    # A loop left early (syngen's max_seconds) never returns to the iterator: close at fit end.
    if not _EpochClock.finished:
        marks.append(fit_end)
    wall = [round(b[0] - a[0], 4) for a, b in zip(marks, marks[1:], strict=False)]
    cpu = [round(b[1] - a[1], 4) for a, b in zip(marks, marks[1:], strict=False)]
    return wall, cpu, marks[0][0]


class _Phase:
    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None

    def __call__(self, name: str) -> None:
        if self.path:
            self.path.write_text(name)


def _fit_syngen(spec: dict, df: pd.DataFrame):
    from syngen import Metadata, TabularGAN

    metadata = Metadata(dict(spec["kinds"]))
    model = TabularGAN(**spec["params"])
    on_epoch, close = _epoch_callback()

    def fit():
        model.fit(df, metadata, on_epoch=on_epoch)
        close()
        return model

    def sample(n: int, seed: int) -> pd.DataFrame:
        return model.sample(n, seed=seed)

    def extra() -> dict:
        return {
            "epochs_trained": model.epochs_trained_,
            "history": model.history_,
            "config": model.config_.to_dict(),
            "output_dim": model.transformer_.output_dim_,
        }

    return fit, sample, extra


def _fit_sdv(spec: dict, df: pd.DataFrame):
    import ctgan.synthesizers.ctgan as ctgan_module
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer

    _install_clock(ctgan_module)
    table = spec["table"]
    metadata = Metadata.load_from_dict(spec["sdv_metadata"])
    synth = CTGANSynthesizer(metadata, **spec["params"])

    def fit():
        synth.fit({table: df})
        return synth

    def sample(n: int, seed: int) -> pd.DataFrame:
        # SDV seeds its own sampling; ``seed`` is unused (it has no per-call seed argument).
        out = synth.sample(n)
        return out[table] if isinstance(out, dict) else out

    def extra() -> dict:
        loss = synth.get_loss_values()
        model = synth._model
        return {
            "epochs_trained": int(len(loss)),
            "output_dim": int(model._transformer.output_dimensions),
        }

    return fit, sample, extra


BUILDERS = {
    "syngen": _fit_syngen,
    "sdv": _fit_sdv,
}


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    phase = _Phase(spec.get("phase_file"))
    result: dict = {"library": spec["library"], "label": spec.get("label")}

    phase("import")
    if spec.get("threads"):
        import torch

        torch.set_num_threads(int(spec["threads"]))
    df = pd.read_parquet(spec["train_path"])
    t0 = time.perf_counter()
    build = BUILDERS[spec["library"]]
    warnings.filterwarnings("ignore")
    fit, sample, extra = build(spec, df)
    result["import_seconds"] = round(time.perf_counter() - t0, 3)
    result["rows"] = len(df)
    result["rss_before_fit_mib"] = round(_maxrss_mib(), 1)
    import torch

    result["torch_threads"] = torch.get_num_threads()

    phase("fit")
    wall0, cpu0 = time.perf_counter(), time.process_time()
    fit()
    fit_end = (time.perf_counter(), time.process_time())
    result["fit_seconds"] = round(fit_end[0] - wall0, 3)
    result["fit_cpu_seconds"] = round(fit_end[1] - cpu0, 3)
    result["rss_after_fit_mib"] = round(_maxrss_mib(), 1)
    wall, cpu, first = _epoch_times(fit_end)
    result["epoch_wall_seconds"] = wall
    result["epoch_cpu_seconds"] = cpu
    result["seconds_before_first_epoch"] = round(first - wall0, 3) if first else None
    result.update(extra())

    phase("sample")
    times = []
    for r in range(int(spec.get("sample_repeats", 0))):
        t = time.perf_counter()
        out = sample(int(spec["sample_rows"]), 100 + r)
        times.append(round(time.perf_counter() - t, 3))
        if len(out) != int(spec["sample_rows"]):
            raise RuntimeError(f"asked {spec['sample_rows']}, got {len(out)}")
        del out
    result["sample_rows"] = spec.get("sample_rows")
    result["sample_seconds"] = times
    if spec.get("eval_rows"):
        t = time.perf_counter()
        synth = sample(int(spec["eval_rows"]), 1)
        result["eval_seconds"] = round(time.perf_counter() - t, 3)
        synth.to_parquet(spec["eval_path"])
        result["eval_path"] = spec["eval_path"]
    result["rss_end_mib"] = round(_maxrss_mib(), 1)
    phase("done")
    Path(spec["result_path"]).write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main(sys.argv[1])
