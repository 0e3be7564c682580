"""A peer's bench cell: ``python peer_worker.py SPEC.json``, in any interpreter with pandas and
the peer's package (SDV, smartnoise-synth, gretel-synthetics); it imports nothing from syngen,
so a peer whose pins conflict with ours runs in its own environment. Same spec and result as
``worker.py``.

Budget: a peer that takes epochs gets ``spec["epochs"]``; with a time budget instead, probe
fits measure an epoch and a fit's fixed cost, and the peer gets the epochs that fit (all
recorded).
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


def _attributes(train, entity, time):
    """The columns constant within every entity: what the sequence peers take as context."""
    others = [c for c in train.columns if c not in (entity, time)]
    varying = train.groupby(entity)[others].nunique(dropna=False).max()
    return [c for c in others if varying[c] <= 1]


def _sdv_par(train, entity, time, epochs):
    import pandas as pd
    from sdv.metadata import Metadata
    from sdv.sequential import PARSynthesizer

    # With integer keys PAR draws each row's key from the training keys, merging sequences;
    # with text keys it makes one new key per sequence.
    original = train[entity].dtype
    train = train.astype({entity: str})
    meta = Metadata.detect_from_dataframes({"series": train})
    meta.update_column(entity, sdtype="id", table_name="series")
    meta.set_sequence_key(entity, table_name="series")
    meta.set_sequence_index(time, table_name="series")
    model = PARSynthesizer(
        meta, context_columns=_attributes(train, entity, time), epochs=epochs or 128,
        verbose=False, cuda=False,
    )  # fmt: skip
    model.fit({"series": train})

    def draw(n):  # n entities
        out = model.sample_sequences(num_sequences=n)
        out = out["series"] if isinstance(out, dict) else out
        if pd.api.types.is_integer_dtype(original):
            out[entity] = pd.factorize(out[entity])[0].astype(original)
        return out

    return draw, {}


def _gretel_dgan(train, entity, time, epochs, seed):
    """DGAN with DoppelGANger's defaults but batch 100 (its 1,024 gives a few updates per epoch
    on tables of hundreds of entities) and a sample length that divides the longest series."""
    import pandas as pd
    import torch
    from gretel_synthetics.timeseries_dgan.config import DGANConfig
    from gretel_synthetics.timeseries_dgan.dgan import DGAN

    torch.manual_seed(seed)
    lengths = train.groupby(entity).size()
    longest, entities = int(lengths.max()), len(lengths)
    sample_len = next(s for s in range(1, longest + 1) if longest % s == 0 and longest // s <= 50)
    model = DGAN(DGANConfig(
        max_sequence_len=longest, sample_len=sample_len, batch_size=min(100, entities),
        epochs=epochs or 400, cuda=False,
    ))  # fmt: skip
    # Numbers (integers too) are continuous and rounded back: DGAN's encoder for integer
    # codes calls scipy's mode in a way current scipy no longer supports.
    fixed = (entity, time)
    discrete = [c for c in train.columns
                if c not in fixed and not pd.api.types.is_numeric_dtype(train[c])]  # fmt: skip
    integers = [c for c in train.columns
                if c not in fixed and pd.api.types.is_integer_dtype(train[c])]  # fmt: skip
    model.train_dataframe(
        train.astype({c: "float64" for c in integers}),
        attribute_columns=_attributes(train, entity, time) or None,
        example_id_column=entity,
        time_column=time,
        discrete_columns=discrete or None,
        df_style="long",
    )

    def draw(n):
        rows = model.generate_dataframe(n)
        for c in integers:
            rows[c] = rows[c].round().astype(train[c].dtype)
        return rows

    return draw, {}


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
    if name == "sdv-par":
        return _sdv_par(train, spec["entity"], spec["time"], epochs)
    if name in ("sdv-ctgan", "sdv-tvae", "sdv-copula"):
        return _sdv(name, train, epochs, spec["seed"]), {}
    if name == "gretel-dgan":
        return _gretel_dgan(train, spec["entity"], spec["time"], epochs, spec["seed"])
    if name.startswith("smartnoise-"):
        return _smartnoise(name.removeprefix("smartnoise-"), train, epochs, spec["epsilon"])
    raise ValueError(f"the peer worker does not run {name!r}")


def _epochs_that_fit(spec, train, seconds, clock=time.perf_counter):
    """How many epochs fit in ``seconds``: a warm-up fit (a peer's first fit pays for lazy
    imports and caches, many times an epoch on a small table), then fits of 1 and 3 epochs,
    whose difference is two epochs and whose rest is the fixed cost of a fit."""
    _fit(spec, train, 1)
    took = {}
    for k in (1, 3):
        started = clock()
        _fit(spec, train, k)
        took[k] = clock() - started
    # Timing noise can make the difference vanish: then every second counts as epochs.
    epoch = (took[3] - took[1]) / 2 if took[3] > took[1] else took[3] / 3
    fixed = max(took[1] - epoch, 0.0)
    epochs = max(1, int((seconds - fixed) / epoch))
    return epochs, {"epoch_seconds": round(epoch, 4), "fixed_seconds": round(fixed, 3)}


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
        epochs, info["probe"] = _epochs_that_fit(spec, train, spec["seconds"])
    started = time.perf_counter()
    draw, more = _fit(spec, train, epochs)
    fitted = time.perf_counter()
    synthetic = draw(spec["rows"])
    sampled = time.perf_counter()
    if spec.get("entity"):
        # Sequence peers can write two rows at one step of an entity (DGAN, PAR after a
        # short fit); the first of each is kept, and the count recorded.
        repeated = synthetic.duplicated([spec["entity"], spec["time"]])
        synthetic = synthetic[~repeated].reset_index(drop=True)
        info["repeated_rows_dropped"] = int(repeated.sum())
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
