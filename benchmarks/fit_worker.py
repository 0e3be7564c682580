"""One fit in its own process: ``python benchmarks/fit_worker.py SPEC.json``.

Run by ``run.py`` so that the peak memory of each fit is that process's alone. The spec names
the library (``syngen`` or ``sdv`` for tables; ``doppelganger``, ``dgan`` (gretel-synthetics)
or ``par`` (SDV PARSynthesizer) for sequences, whose ``sample_rows`` count entities), the
training table (a parquet file written by the parent), the model options, and what to sample
afterwards. The worker writes:

* the current phase ("import", "fit", "sample", "done") to ``phase_file``, which the parent's
  memory poller reads to attribute the process tree's RSS to a phase;
* the result JSON to ``result_path``: wall and CPU seconds of the fit, per-epoch wall/CPU
  seconds, the high-water RSS (VmHWM) of this process after the imports and after the fit,
  sampling times, and the path of the evaluation sample.

Per-epoch times are taken the same way for every library: a clock is read as each epoch starts
and once as the last one ends. syngen's models report those moments through ``fit(...,
on_epoch=...)``; for the peers, the module-level ``tqdm`` name that their training loop iterates
over (``ctgan.synthesizers.ctgan.tqdm``, ``deepecho.models.par.tqdm``) is wrapped so that the
clock is read every time the loop asks for the next epoch. Nothing else in the training code is
touched.
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


def _fit_doppelganger(spec: dict, df: pd.DataFrame):
    from syngen import DoppelGANger

    model = DoppelGANger(**spec["params"])
    on_epoch, close = _epoch_callback()

    def fit():
        model.fit(
            df,
            entity=spec["entity"],
            time=spec["time"],
            attributes=spec["attributes"],
            on_epoch=on_epoch,
        )
        close()
        return model

    def sample(n: int, seed: int) -> pd.DataFrame:
        return model.sample(n, seed=seed)

    def extra() -> dict:
        return {"epochs_trained": model.epochs_trained_, "config": model.config_.to_dict()}

    return fit, sample, extra


def _fit_dgan(spec: dict, df: pd.DataFrame):
    """gretel-synthetics' torch DGAN on the long frame (it learns lengths too)."""
    from gretel_synthetics.timeseries_dgan.config import DGANConfig
    from gretel_synthetics.timeseries_dgan.dgan import DGAN

    # No epoch clock: its loop is a plain range, and the module is left untouched.
    if spec.get("seed") is not None:
        import torch

        torch.manual_seed(spec["seed"])
    model = DGAN(DGANConfig(**spec["params"]))
    entity, time_col = spec["entity"], spec["time"]
    discrete = [
        c
        for c in df.columns
        if c not in (entity, time_col) and not pd.api.types.is_float_dtype(df[c])
    ]

    def fit():
        model.train_dataframe(
            df,
            attribute_columns=spec["attributes"] or None,
            example_id_column=entity,
            time_column=time_col,
            discrete_columns=discrete or None,
            df_style="long",
        )
        return model

    def sample(n: int, seed: int) -> pd.DataFrame:
        return model.generate_dataframe(n)

    def extra() -> dict:
        return {"epochs_trained": spec["params"]["epochs"]}

    return fit, sample, extra


def _fit_par(spec: dict, df: pd.DataFrame):
    """SDV's PARSynthesizer; it samples one sequence at a time."""
    import deepecho.models.par as par_module  # the loop SDV's PAR runs
    from sdv.metadata import Metadata
    from sdv.sequential import PARSynthesizer

    _install_clock(par_module)
    table, entity, time_col = spec["table"], spec["entity"], spec["time"]
    metadata = Metadata.detect_from_dataframes({table: df})
    metadata.update_column(entity, sdtype="id", table_name=table)
    metadata.set_sequence_key(entity, table_name=table)
    metadata.set_sequence_index(time_col, table_name=table)
    synth = PARSynthesizer(metadata, context_columns=spec["attributes"], **spec["params"])

    def fit():
        synth.fit({table: df})
        return synth

    def sample(n: int, seed: int) -> pd.DataFrame:
        out = synth.sample_sequences(num_sequences=n)
        return out[table] if isinstance(out, dict) else out

    def extra() -> dict:
        return {"epochs_trained": spec["params"].get("epochs", 128)}

    return fit, sample, extra


BUILDERS = {
    "syngen": _fit_syngen,
    "sdv": _fit_sdv,
    "doppelganger": _fit_doppelganger,
    "dgan": _fit_dgan,
    "par": _fit_par,
}


def _count(spec: dict, frame: pd.DataFrame) -> int:
    """Rows, or entities for the sequence libraries."""
    return frame[spec["entity"]].nunique() if "entity" in spec else len(frame)


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
        if _count(spec, out) != int(spec["sample_rows"]):
            raise RuntimeError(f"asked {spec['sample_rows']}, got {_count(spec, out)}")
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
