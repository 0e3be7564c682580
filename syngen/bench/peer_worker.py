"""A peer's bench cell: ``python peer_worker.py SPEC.json``, in any interpreter with pandas and
the peer's package (SDV, smartnoise-synth); it imports nothing from syngen, so a peer whose pins
conflict with ours runs in its own environment. Same spec and result as ``worker.py``.

Budget: a peer that takes epochs gets ``spec["epochs"]``; with a time budget instead, a
one-epoch probe fit measures an epoch and the peer gets the epochs that fit (both recorded).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path


def _peak_rss_mib():
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _sdv(name, train, epochs, seed):
    from sdv.metadata import Metadata
    from sdv.single_table import (
        CTGANSynthesizer,
        GaussianCopulaSynthesizer,
        TVAESynthesizer,
    )

    meta = Metadata.detect_from_dataframes({"table": train})
    kind = {"sdv-ctgan": CTGANSynthesizer, "sdv-tvae": TVAESynthesizer}.get(name)
    if kind is None:
        model = GaussianCopulaSynthesizer(meta)
    else:
        model = kind(meta, epochs=epochs or 300)
    model.fit({"table": train})  # SDV 2 takes one-table dicts

    def draw(n):
        out = model.sample(n)
        return out["table"] if isinstance(out, dict) else out

    return draw


def _smartnoise(name, train, epochs, epsilon):
    import pandas as pd
    from snsynth import Synthesizer

    numeric = [c for c in train.columns if pd.api.types.is_numeric_dtype(train[c])]
    cont = [c for c in numeric if not pd.api.types.is_bool_dtype(train[c])]
    cat = [c for c in train.columns if c not in cont]
    data = train.copy()
    data[cat] = data[cat].astype(str)
    kw = {"epochs": epochs} if name == "dpctgan" and epochs else {}
    synth = Synthesizer.create(name, epsilon=epsilon, delta=1.0 / (10 * len(train)), **kw)
    synth.fit(
        data,
        categorical_columns=cat,
        continuous_columns=cont,
        nullable=bool(data.isna().any().any()),
        preprocessor_eps=0.1 * epsilon,
    )
    # Its own accounting: the preprocessor's (pure DP, subtracted from the target) plus
    # training's; DP-CTGAN checks its accountant before each epoch and may overshoot.
    spent = epsilon
    if name == "dpctgan" and getattr(synth, "gan", synth).epsilon_list:
        spent = 0.1 * epsilon + getattr(synth, "gan", synth).epsilon_list[-1]

    def draw(n):
        rows = synth.sample(n)
        rows[cat] = rows[cat].replace({"None": None, "nan": None})
        for c in train.columns:  # numbers may come back as text or floats
            if pd.api.types.is_bool_dtype(train[c]):
                rows[c] = rows[c].astype(str).str.lower().eq("true")
            elif pd.api.types.is_integer_dtype(train[c]):
                values = pd.to_numeric(rows[c], errors="coerce")
                rows[c] = values.fillna(values.median()).round().astype(train[c].dtype)
        return rows[train.columns]

    return draw, {"spent_epsilon": spent, "target_epsilon": epsilon}


def _fit(spec, train, epochs):
    name = spec["model"]
    if name.startswith("sdv-"):
        return _sdv(name, train, epochs, spec["seed"]), {}
    if name.startswith("smartnoise-"):
        return _smartnoise(name.removeprefix("smartnoise-"), train, epochs, spec["epsilon"])
    raise ValueError(f"the peer worker does not run {name!r}")


def main(spec_path):
    import pandas as pd

    warnings.filterwarnings("ignore")
    spec = json.loads(Path(spec_path).read_text())
    if spec.get("threads"):
        try:
            import torch

            torch.set_num_threads(spec["threads"])
        except ImportError:
            pass
    train = pd.read_parquet(spec["train"])
    epochs, info = spec.get("epochs"), {}
    if spec.get("budget") == "epochs" and epochs is None and spec.get("seconds"):
        started = time.perf_counter()
        _fit(spec, train, 1)
        probe = time.perf_counter() - started
        epochs = max(1, int((spec["seconds"] - probe) / probe))
        info["probe_seconds"] = round(probe, 3)
    started = time.perf_counter()
    draw, more = _fit(spec, train, epochs)
    fitted = time.perf_counter()
    synthetic = draw(spec["rows"])
    sampled = time.perf_counter()
    synthetic.to_parquet(spec["output"])
    sample_seconds = sampled - fitted
    result = {
        "fit_seconds": round(fitted - started, 3),
        "sample_seconds": round(sample_seconds, 3),
        "sample_rows_per_second": round(len(synthetic) / sample_seconds)
        if sample_seconds > 0
        else None,
        "peak_rss_mib": _peak_rss_mib(),
        "epochs": epochs,
        **info,
        **more,
    }
    Path(spec["result"]).write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    main(sys.argv[1])
