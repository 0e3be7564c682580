"""The tables a bench can run on: the bundled catalogue, a folder described by a manifest, or
the user's own files -- each a ``Dataset`` that says what it is and how to read it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from ..io import read_table

# What syngen.datasets bundles, described as a manifest would (see syngen/datasets/README.md).
_BUNDLED = {
    "adult_sample": {
        "domain": "census",
        "task": "binary",
        "licence": "CC BY 4.0 (UCI Machine Learning Repository)",
        "description": "4,000 rows of UCI Adult: does income exceed $50K a year",
    },
    "german_credit": {
        "domain": "finance",
        "task": "binary",
        "licence": "CC BY 4.0 (UCI Machine Learning Repository)",
        "description": "Statlog German credit: good or bad credit risk",
    },
}


@dataclass
class Dataset:
    """One table of a bench: where it comes from and what the manifest says about it."""

    name: str
    source: str  # a file path, or "bundled:<name>"
    kind: str = "tabular"  # or "timeseries"
    target: str | None = None
    task: str | None = None
    domain: str | None = None
    licence: str | None = None
    description: str | None = None
    entity: str | None = None  # time series: the entity and time columns
    time: str | None = None
    attributes: tuple[str, ...] = ()  # time series: the static columns, when the source names them
    rows: int | None = None
    columns: int | None = None
    # Identifiers the manifest marks (role "id"): nothing to learn, and a copy of each would be
    # a unique real value in the synthetic rows; left out of the bench's table.
    dropped: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    def load(self) -> pd.DataFrame:
        """The table as the bench models it (without ``dropped``)."""
        if self.source.startswith("bundled:"):
            from .. import datasets

            df = datasets.load(self.source.removeprefix("bundled:"))
        else:
            df = read_table(self.source)
        return df.drop(columns=[c for c in self.dropped if c in df.columns])

    def to_dict(self) -> dict:
        return asdict(self)


def bundled() -> list[Dataset]:
    """The tables that ship with syngen."""
    from .. import datasets

    out = []
    for name, (_, target, _) in datasets.CATALOGUE.items():
        df = datasets.load(name)
        out.append(
            Dataset(
                name=name,
                source=f"bundled:{name}",
                target=target,
                rows=len(df),
                columns=df.shape[1],
                **_BUNDLED[name],
            )
        )
    return out


def from_manifest(path: str | Path) -> list[Dataset]:
    """The tables of a folder described by ``manifest.json`` (a list of entries with name,
    file, kind, target, task, domain, licence; time series with entity_id and time_column)."""
    path = Path(path)
    try:
        entries = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable manifest ({exc})") from exc
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and "name" in e and "file" in e for e in entries
    ):
        raise ValueError(f"{path}: a manifest is a JSON list of entries with 'name' and 'file'")
    return [
        Dataset(
            name=e["name"],
            source=str(path.parent / e["file"]),
            kind=e.get("kind", "tabular"),
            target=e.get("target"),
            task=e.get("task"),
            domain=e.get("domain"),
            licence=e.get("license", e.get("licence")),
            description=e.get("description"),
            entity=e.get("entity_id"),
            time=e.get("time_column"),
            attributes=tuple(e.get("static_columns", ())),
            rows=e.get("n_rows"),
            columns=e.get("n_columns"),
            dropped=tuple(
                c["name"]
                for c in e.get("columns", [])
                if isinstance(c, dict) and c.get("role") == "id"
            ),
        )  # fmt: skip
        for e in entries
    ]


def from_file(
    path: str | Path,
    *,
    target: str | None = None,
    kind: str = "tabular",
    entity: str | None = None,
    time: str | None = None,
) -> Dataset:
    """The user's own table, named by its file's stem (time series: with its entity and time
    columns)."""
    path = Path(path)
    return Dataset(name=path.stem, source=str(path), kind=kind, target=target, entity=entity,
                   time=time, licence="the user's own")  # fmt: skip


def resolve(names: list[str], manifest: str | Path | None = None) -> list[Dataset]:
    """The datasets called ``names``, from the manifest when given, else the bundled ones."""
    known = {d.name: d for d in (from_manifest(manifest) if manifest else bundled())}
    unknown = [n for n in names if n not in known]
    if unknown:
        where = f"in {manifest}" if manifest else "bundled (syngen datasets list)"
        raise ValueError(
            f"unknown dataset {', '.join(map(repr, unknown))}; {where}: {', '.join(sorted(known))}"
        )
    return [known[n] for n in names]
