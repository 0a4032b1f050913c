"""Ingestion: read and write files, SQL, time series and medical records (Synthea, FHIR).

Entry points: :func:`read` / :func:`read_with_report` / :func:`write`, the multi-table
:class:`Dataset`, and :func:`read_sequences` with the long/wide helpers for time series.
"""

from synthkit.io.api import read, read_with_report, write
from synthkit.io.coerce import Coercion, CoercionReport
from synthkit.io.dataset import Dataset, ValidationReport
from synthkit.io.files import read_file, sniff_csv, write_file
from synthkit.io.sql import list_tables, read_sql, write_sql
from synthkit.io.synthea import read_synthea, write_synthea
from synthkit.io.timeseries import (
    eav_to_long,
    long_to_wide,
    read_sequences,
    sequences_from_frame,
    wide_to_long,
)

__all__ = [
    "Coercion",
    "CoercionReport",
    "Dataset",
    "ValidationReport",
    "eav_to_long",
    "list_tables",
    "long_to_wide",
    "read",
    "read_file",
    "read_sequences",
    "read_sql",
    "read_synthea",
    "read_with_report",
    "sequences_from_frame",
    "sniff_csv",
    "wide_to_long",
    "write",
    "write_file",
    "write_sql",
    "write_synthea",
]
