"""Sharded sampling: n rows as a folder of Parquet parts, each drawn with a seed of its own.

``ShardPlan(rows, shards, seed)`` splits the rows as evenly as possible and spawns one seed per
part from the user's (``numpy.random.SeedSequence``): no two parts repeat each other's draws,
and the same seed gives the same folder whichever process writes which part, and when. A part
can be written alone (``syngen sample --shard i``: a Slurm array task, a Spark or Dask task;
under torchrun each rank takes the parts ``i % WORLD_SIZE == RANK``). Each part is written
atomically with a sidecar (``_part-00003.json``) naming the plan it belongs to; the folder's
``_manifest.json`` is written last, by whichever run finds every part of its plan in place, so
a reader that waits for the manifest never sees a half-written dataset.

Generated ids do not collide across parts: part i's ids start after the rows of the parts
before it (with conditions, whose rejected draws also use ids, at i x 2**40).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .io import atomic_path

# Names that start with "_" are skipped by Parquet dataset readers (pyarrow, Spark, Dask), as
# Spark's _SUCCESS is: the folder reads as its parts alone.
MANIFEST = "_manifest.json"
_CONDITIONED_ID_STRIDE = 2**40


@dataclass(frozen=True)
class ShardPlan:
    """``rows`` (entities, for a time-series model) in ``shards`` parts from ``seed``."""

    rows: int
    shards: int
    seed: int

    def __post_init__(self) -> None:
        for name in ("rows", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if isinstance(self.shards, bool) or not isinstance(self.shards, int) or self.shards < 1:
            raise ValueError(f"shards must be a positive integer, got {self.shards!r}")

    def sizes(self) -> list[int]:
        base, extra = divmod(self.rows, self.shards)
        return [base + (i < extra) for i in range(self.shards)]

    def seeds(self) -> list[int]:
        children = np.random.SeedSequence(self.seed).spawn(self.shards)
        return [int(c.generate_state(1, dtype=np.uint64)[0]) for c in children]

    def first_ids(self, conditioned: bool) -> list[int]:
        if conditioned:
            return [i * _CONDITIONED_ID_STRIDE for i in range(self.shards)]
        return np.r_[0, np.cumsum(self.sizes())[:-1]].astype(int).tolist()

    def part(self, folder: Path, i: int) -> Path:
        return Path(folder) / f"part-{i:05d}.parquet"

    def sidecar(self, folder: Path, i: int) -> Path:
        return Path(folder) / f"_part-{i:05d}.json"

    def to_dict(self) -> dict:
        return {k: int(v) for k, v in asdict(self).items()}


def new_seed() -> int:
    """A seed for a sharded run without one (recorded in the manifest)."""
    return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0])


def rank_shards(plan: ShardPlan) -> list[int]:
    """The parts this process writes: under torchrun (``WORLD_SIZE`` > 1), those of its
    ``RANK``; otherwise all of them."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    return list(range(rank, plan.shards, world)) if world > 1 else list(range(plan.shards))


def write_shards(
    model,
    plan: ShardPlan,
    folder: str | Path,
    *,
    only: list[int] | None = None,
    conditions: dict | None = None,
    batch_size: int = 10_000,
) -> dict | None:
    """Write the parts ``only`` (default: all) of ``plan`` into ``folder``; the manifest if
    every part is then in place (returned), else None."""
    folder = Path(folder)
    indices = list(range(plan.shards)) if only is None else list(only)
    bad = [i for i in indices if not 0 <= i < plan.shards]
    if bad:
        raise ValueError(f"shard {bad[0]} is not one of the {plan.shards} parts (0 to "
                         f"{plan.shards - 1})")  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    sizes, seeds = plan.sizes(), plan.seeds()
    first = plan.first_ids(bool(conditions))
    for i in indices:
        options = {"seed": seeds[i], "batch_size": batch_size, "first_id": first[i]}
        # The third argument: conditions of a table, attributes of a series.
        rows = model.sample_to(plan.part(folder, i), sizes[i], conditions, **options)
        sidecar = {"plan": plan.to_dict(), "part": i, "units": sizes[i], "rows": rows}
        with atomic_path(plan.sidecar(folder, i)) as tmp:
            tmp.write_text(json.dumps(sidecar))
    return write_manifest(model, plan, folder, conditions)


def write_manifest(model, plan: ShardPlan, folder: Path, conditions: dict | None) -> dict | None:
    """The manifest, written (atomically) once every part of ``plan`` is in ``folder``."""
    parts = []
    for i in range(plan.shards):
        sidecar = plan.sidecar(folder, i)
        if not (sidecar.is_file() and plan.part(folder, i).is_file()):
            return None
        record = json.loads(sidecar.read_text())
        if record.get("plan") != plan.to_dict():
            return None  # a part of another run: it is rewritten when its shard runs again
        parts.append({"file": plan.part(folder, i).name, "rows": record["rows"],
                      "units": record["units"]})  # fmt: skip
    manifest = {
        "format": "syngen-sample",
        "version": 1,
        **plan.to_dict(),
        "unit": "entity" if "entity" in getattr(model, "schema_", {}) else "row",
        "conditions": {str(k): str(v) for k, v in (conditions or {}).items()},
        "total_rows": sum(p["rows"] for p in parts),
        "parts": parts,
        "privacy": getattr(model, "privacy_", None),
    }
    with atomic_path(Path(folder) / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1))
    return manifest
