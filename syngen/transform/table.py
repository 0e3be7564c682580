"""TableTransformer: one reversible transform per column, and the layout of the model's rows."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..metadata import Metadata
from .base import ColumnTransform, transform_from_dict
from .categorical import CategoricalTransform
from .columns import (
    ConstantTransform,
    DatetimeTransform,
    IdTransform,
    NullableTransform,
    NumericalTransform,
)
from .dependencies import find_derived


@dataclass(frozen=True)
class Span:
    """A block of the model's row vector: ``[start, start + width)`` belongs to ``column``."""

    column: str
    start: int
    width: int
    activation: str  # "tanh" or "softmax"
    role: str  # "value", "mode", "category" or "null"


@dataclass
class EncodedTable:
    """The compact encoding of a table: class codes for softmax spans, scalars for tanh spans.

    Column ``j`` of ``codes`` is the j-th softmax span of the layout, column ``j`` of
    ``scalars`` the j-th tanh span. A dense one-hot matrix is built per batch from these.
    """

    codes: np.ndarray  # int32 (n_rows, n_softmax_spans)
    scalars: np.ndarray  # float32 (n_rows, n_tanh_spans)

    def __len__(self) -> int:
        return len(self.codes)


class TableTransformer:
    """Fit one transform per column; map a frame to model rows and model rows back to a frame.

    ``inverse_transform(transform(df))`` returns the original categories exactly, numbers within
    the precision of their mode, and the original dtypes; nulls come back at their rate.

    ``derive_columns``: a discrete column that the data shows to be a function of another
    (``syngen.transform.dependencies``) gets no span; ``derived_`` maps it to its source column
    and the lookup that decoding applies to the source's class codes.
    """

    def __init__(
        self,
        metadata: Metadata | None = None,
        *,
        max_modes: int = 10,
        max_categories: int = 500,
        discrete_threshold: int = 20,
        sample_size: int = 10_000,
        derive_columns: bool = False,
        n_jobs: int | None = None,
        seed: int | None = None,
        verbose: bool = False,
    ) -> None:
        self.metadata = metadata
        self.max_modes = max_modes
        self.max_categories = max_categories
        self.discrete_threshold = discrete_threshold
        self.sample_size = sample_size
        self.derive_columns = derive_columns
        self.n_jobs = n_jobs
        self.seed = seed
        self.verbose = verbose

    # ---- fit ----------------------------------------------------------------------------
    def fit(self, df: pd.DataFrame) -> TableTransformer:
        metadata = self.metadata or Metadata.detect(df)
        metadata.validate(df)
        self.metadata_ = metadata
        self.columns_ = list(metadata.columns)
        seeds = np.random.SeedSequence(self.seed).spawn(len(self.columns_))

        def fit_one(i: int) -> ColumnTransform:
            name = self.columns_[i]
            t = self._make(name, df[name])
            return t.fit(df[name], np.random.default_rng(seeds[i]))

        jobs = self.n_jobs or min(4, os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            fitted = pool.map(fit_one, range(len(self.columns_)))
            self.transforms_ = list(
                tqdm(
                    fitted,
                    total=len(self.columns_),
                    desc="fit transforms",
                    disable=not self.verbose,
                    leave=False,
                )
            )
        self.derived_ = self._find_derived(df) if self.derive_columns else {}
        self._build_layout()
        return self

    def _find_derived(self, df: pd.DataFrame) -> dict[str, tuple[str, np.ndarray]]:
        # A column with a rare tail decodes its "rare" class to a random tail value, so
        # neither side of a lookup may have one.
        candidates = {
            name: t
            for name, t in zip(self.columns_, self.transforms_, strict=True)
            if isinstance(t, CategoricalTransform) and not t.rare_values_
        }
        if len(candidates) < 2:
            return {}
        return find_derived(
            {name: t.codes_of(df[name]) for name, t in candidates.items()},
            {name: t.n_classes for name, t in candidates.items()},
        )

    def _make(self, name: str, s: pd.Series) -> ColumnTransform:
        kind = self.metadata_.columns[name]
        has_null = bool(s.isna().any())
        if kind in ("categorical", "boolean"):
            return CategoricalTransform(self.max_categories)
        if kind == "integer" and s.nunique() <= self.discrete_threshold:
            return CategoricalTransform(self.max_categories)
        if kind == "constant":
            return CategoricalTransform(2) if has_null and s.notna().any() else ConstantTransform()
        if kind == "id":
            return IdTransform()
        if kind == "datetime":
            inner = DatetimeTransform(max_modes=self.max_modes, sample_size=self.sample_size)
        else:
            inner = NumericalTransform(
                integer=kind == "integer", max_modes=self.max_modes, sample_size=self.sample_size
            )
        return NullableTransform(inner) if has_null else inner

    def _build_layout(self) -> None:
        spans, start = [], 0
        for name, t in zip(self.columns_, self.transforms_, strict=True):
            if name in self.derived_:
                continue
            for spec in t.spans:
                spans.append(Span(name, start, spec.width, spec.activation, spec.role))
                start += spec.width
        self.layout_ = spans
        self.output_dim_ = start
        self.softmax_spans_ = [s for s in spans if s.activation == "softmax"]
        self.tanh_spans_ = [s for s in spans if s.activation == "tanh"]
        # Where each derived column's source sits among the softmax spans (its codes' column).
        soft = {s.column: j for j, s in enumerate(self.softmax_spans_) if s.role == "category"}
        self._source_code = {name: soft[source] for name, (source, _) in self.derived_.items()}

    # ---- compact encoding ---------------------------------------------------------------
    def encode(self, df: pd.DataFrame, rng: np.random.Generator | None = None) -> EncodedTable:
        """Encode ``df`` (same columns as in fit) into class codes and scalars."""
        rng = rng if rng is not None else np.random.default_rng(self.seed)
        missing = [c for c in self.columns_ if c not in df.columns]
        if missing:
            raise ValueError(f"columns {missing} were in the fitted table but are missing here")
        codes, scalars = [], []
        for name, t in zip(self.columns_, self.transforms_, strict=True):
            if name in self.derived_:
                continue
            for spec, part in zip(t.spans, t.encode(df[name], rng), strict=True):
                (codes if spec.activation == "softmax" else scalars).append(part)
        n = len(df)
        return EncodedTable(
            codes=np.stack(codes, axis=1).astype("int32") if codes else np.zeros((n, 0), "int32"),
            scalars=(
                np.stack(scalars, axis=1).astype("float32")
                if scalars
                else np.zeros((n, 0), "float32")
            ),
        )

    def decode(
        self,
        codes: np.ndarray,
        scalars: np.ndarray,
        rng: np.random.Generator | None = None,
        offset: int = 0,
    ) -> pd.DataFrame:
        """The frame for encoded rows; ``offset`` numbers regenerated ids across batches."""
        rng = rng if rng is not None else np.random.default_rng(self.seed)
        n = len(codes)
        index = pd.RangeIndex(n)
        columns, i_soft, i_tanh = {}, 0, 0
        for name, t in zip(self.columns_, self.transforms_, strict=True):
            if name in self.derived_:
                lookup = self.derived_[name][1]
                parts = [lookup[codes[:, self._source_code[name]]]]
            else:
                parts = []
                for spec in t.spans:
                    if spec.activation == "softmax":
                        parts.append(codes[:, i_soft])
                        i_soft += 1
                    else:
                        parts.append(scalars[:, i_tanh])
                        i_tanh += 1
            column = t.decode(parts, rng, n, offset)
            if not column.index.equals(index):  # the frame aligns its columns on the index
                column = column.reset_index(drop=True)
            columns[name] = column
        # The columns are fresh: the frame can hold them without a copy (a quarter of decoding).
        return pd.DataFrame(columns, copy=False)

    # ---- dense matrix -------------------------------------------------------------------
    @property
    def tanh_positions(self) -> np.ndarray:
        return np.array([s.start for s in self.tanh_spans_], dtype="int64")

    @property
    def softmax_starts(self) -> np.ndarray:
        return np.array([s.start for s in self.softmax_spans_], dtype="int64")

    def to_dense(self, encoded: EncodedTable) -> np.ndarray:
        n = len(encoded)
        out = np.zeros((n, self.output_dim_), dtype="float32")
        out[:, self.tanh_positions] = encoded.scalars
        out[np.arange(n)[:, None], self.softmax_starts + encoded.codes] = 1.0
        return out

    def from_dense(self, matrix: np.ndarray) -> EncodedTable:
        """Scalars from tanh spans; the arg-max class of each softmax span."""
        matrix = np.asarray(matrix)
        codes = (
            np.stack(
                [
                    matrix[:, s.start : s.start + s.width].argmax(axis=1)
                    for s in self.softmax_spans_
                ],
                axis=1,
            )
            if self.softmax_spans_
            else np.zeros((len(matrix), 0))
        )
        return EncodedTable(codes.astype("int32"), matrix[:, self.tanh_positions].astype("float32"))

    def transform(self, df: pd.DataFrame, rng: np.random.Generator | None = None) -> np.ndarray:
        return self.to_dense(self.encode(df, rng))

    def inverse_transform(
        self, matrix: np.ndarray, rng: np.random.Generator | None = None
    ) -> pd.DataFrame:
        encoded = self.from_dense(matrix)
        return self.decode(encoded.codes, encoded.scalars, rng)

    # ---- lookups used by the conditional sampler and by conditions -----------------------
    def category_spans(self) -> list[tuple[int, Span]]:
        """(index among softmax spans, span) of every discrete column's class span."""
        return [(i, s) for i, s in enumerate(self.softmax_spans_) if s.role == "category"]

    def transform_of(self, column: str) -> ColumnTransform:
        if column not in self.columns_:
            raise KeyError(f"unknown column {column!r}; the table has {self.columns_}")
        return self.transforms_[self.columns_.index(column)]

    # ---- persistence --------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "params": {
                "max_modes": self.max_modes,
                "max_categories": self.max_categories,
                "discrete_threshold": self.discrete_threshold,
                "sample_size": self.sample_size,
                "derive_columns": self.derive_columns,
                "seed": self.seed,
            },
            "metadata": self.metadata_.to_dict(),
            "columns": self.columns_,
            "transforms": [{"type": t.name, **t.to_dict()} for t in self.transforms_],
            "derived": {
                name: {"source": source, "classes": lookup.tolist()}
                for name, (source, lookup) in self.derived_.items()
            },
            "layout": [asdict(s) for s in self.layout_],
        }

    @classmethod
    def from_dict(cls, data: dict) -> TableTransformer:
        metadata = Metadata.from_dict(data["metadata"])
        self = cls(metadata, **data["params"])
        self.metadata_ = metadata
        self.columns_ = list(data["columns"])
        self.transforms_ = [transform_from_dict(t) for t in data["transforms"]]
        if len(self.transforms_) != len(self.columns_) or self.columns_ != list(metadata.columns):
            raise ValueError("its columns, transforms and metadata differ")
        self.derived_ = {}
        for name, d in data.get("derived", {}).items():
            source, derived = self.transform_of(d["source"]), self.transform_of(name)
            lookup = np.asarray(d["classes"], dtype="int64")
            if not (
                isinstance(source, CategoricalTransform)
                and isinstance(derived, CategoricalTransform)
                and lookup.shape == (source.n_classes,)
                and ((lookup >= 0) & (lookup < derived.n_classes)).all()
            ):
                raise ValueError(f"model file is inconsistent: bad lookup for column {name!r}")
            self.derived_[name] = (d["source"], lookup)
        self._build_layout()
        if [asdict(s) for s in self.layout_] != data["layout"]:
            raise ValueError("model file is inconsistent: its layout does not match its transforms")
        return self
