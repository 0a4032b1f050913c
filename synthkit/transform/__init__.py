"""Reversible, vectorized encoders shared by the synthesizers."""

from synthkit.transform.schema import TableSchema

__all__ = ["TableSchema"]
