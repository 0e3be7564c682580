"""Reversible per-column transforms and the table-level transformer built from them."""

from .continuous import ModeSpecificNormalizer
from .table import EncodedTable, Span, TableTransformer

__all__ = ["EncodedTable", "ModeSpecificNormalizer", "Span", "TableTransformer"]
