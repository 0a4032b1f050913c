"""Profile: what the data is (kinds, missingness, keys, PII) as JSON metadata."""

from synthkit.profile.metadata import ColumnMeta, Metadata, Relationship, TableMeta
from synthkit.profile.profiler import profile, profile_table

__all__ = ["ColumnMeta", "Metadata", "Relationship", "TableMeta", "profile", "profile_table"]
