"""Profile: what the data is (kinds, statistics, missingness, keys, relationships, PII) as JSON metadata.

``profile(df_or_dataset) -> Metadata``; ``Metadata.to_sdv()``, ``Metadata.to_expectation_suite()``;
GE validation in :mod:`synthkit.profile.expectations` (``validate``, ``save_suite``, ``load_suite``);
an HTML page in :mod:`synthkit.profile.html`.
"""

from synthkit.profile.metadata import ColumnMeta, Metadata, Relationship, TableMeta
from synthkit.profile.pii import detect_pii
from synthkit.profile.profiler import profile, profile_column, profile_table

__all__ = [
    "ColumnMeta",
    "Metadata",
    "Relationship",
    "TableMeta",
    "detect_pii",
    "profile",
    "profile_column",
    "profile_table",
]
