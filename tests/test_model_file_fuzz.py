"""Model files from someone else: a few hundred mutations of a real file's header and tensors,
each of which loads and samples sane rows, or is refused with a ModelFileError."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pandas as pd
import pytest
from safetensors.torch import load_file, save_file

from syngen import ModelFileError, TabularGAN, load

REPLACEMENTS = (None, True, False, -1, 0, 1, 2**70, -1e308, 1.5, "x", "", [], {}, [1, 2, 3],
                {"a": 1}, math.nan, math.inf)  # fmt: skip


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 200
    df = pd.DataFrame({
        "amount": rng.lognormal(3, 1, n).round(2),
        "age": rng.integers(18, 90, n),
        "grade": rng.choice(["a", "b", "c", None], n),
        "flag": rng.random(n) < 0.3,
        "opened": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
        "score": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
    })  # fmt: skip
    path = tmp_path_factory.mktemp("fuzz") / "model.syngen"
    small = {"generator_dims": (16,), "discriminator_dims": (16,), "calibrate": False}
    TabularGAN(epochs=1, seed=0, **small).fit(df).save(path)
    return path, list(df.columns), df.dtypes


def _paths(node, prefix=()):
    """Every place in the JSON header: (path, value)."""
    yield prefix, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _mutated(header: dict, rng: np.random.Generator) -> dict:
    header = copy.deepcopy(header)
    places = [p for p, _ in _paths(header) if p]
    path = places[rng.integers(len(places))]
    parent = header
    for key in path[:-1]:
        parent = parent[key]
    last, how = path[-1], rng.integers(4)
    if how == 0 and isinstance(parent, dict):
        del parent[last]
    elif how == 1 and isinstance(parent[last], list) and parent[last]:
        parent[last] = parent[last][:-1] if rng.random() < 0.5 else parent[last] * 2
    elif how == 2 and isinstance(parent[last], int | float) and not isinstance(parent[last], bool):
        parent[last] = -parent[last] if rng.random() < 0.5 else parent[last] * 1e6
    else:
        parent[last] = REPLACEMENTS[rng.integers(len(REPLACEMENTS))]
    return header


def _check(path, columns, dtypes) -> str:
    try:
        model = load(path)
    except ModelFileError:
        return "refused"
    rows = model.sample(60, seed=1)
    assert list(rows.columns) == columns and len(rows) == 60
    for c in ("amount", "age", "score"):
        values = rows[c].dropna().to_numpy(dtype="float64")
        assert np.isfinite(values).all() and (np.abs(values) < 1e15).all(), c
    assert rows["age"].dropna().min() >= 0  # never wrapped around
    return "loaded"


def test_mutated_headers_load_sane_or_are_refused(model_file, tmp_path):
    path, columns, dtypes = model_file
    tensors = load_file(str(path))
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        header = json.loads(f.metadata()["syngen-model"])
    rng = np.random.default_rng(0)
    seen = {"refused": 0, "loaded": 0}
    for k in range(300):
        forged = _mutated(header, rng)
        target = tmp_path / f"m{k % 5}.syngen"
        save_file(tensors, str(target), metadata={"syngen-model": json.dumps(forged)})
        seen[_check(target, columns, dtypes)] += 1
    assert seen["refused"] > 50 and seen["loaded"] > 10  # both kinds of mutation occurred


def test_mutated_tensors_load_sane_or_are_refused(model_file, tmp_path):
    path, columns, dtypes = model_file
    tensors = load_file(str(path))
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    meta = json.loads(raw[8 : 8 + n])["__metadata__"]
    rng = np.random.default_rng(1)
    names = sorted(tensors)
    seen = {"refused": 0, "loaded": 0}
    for k in range(60):
        name = names[rng.integers(len(names))]
        forged = dict(tensors)
        t = forged[name].clone()
        how = k % 4 if t.is_floating_point() else 1 + 2 * (k % 2)  # no NaN in an integer
        if how == 0:
            t.view(-1)[rng.integers(t.numel())] = math.nan
        elif how == 1:
            t = t[:-1] if t.dim() and len(t) > 1 else t.reshape(-1)[:0]
        elif how == 2:
            t = t * 1e30
        else:
            forged.pop(name)
            t = None
        if t is not None:
            forged[name] = t.contiguous()
        target = tmp_path / f"t{k % 5}.syngen"
        save_file(forged, str(target), metadata=meta)
        seen[_check(target, columns, dtypes)] += 1
    assert seen["refused"] >= 30
