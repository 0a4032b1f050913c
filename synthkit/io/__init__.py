"""Ingestion: read and write files, SQL, time series and medical records (Synthea, FHIR).

Entry points: :func:`read` / :func:`read_with_report` / :func:`write`, the multi-table
:class:`Dataset`, and :func:`read_sequences` with the long/wide helpers for time series.
"""

from synthkit.io.api import read, read_with_report, write
from synthkit.io.coerce import Coercion, CoercionReport
from synthkit.io.dataset import Dataset, ValidationReport
from synthkit.io.files import read_file, sniff_csv, write_file
from synthkit.io.sql import list_tables, read_sql, write_sql

__all__ = [
    "Coercion",
    "CoercionReport",
    "Dataset",
    "ValidationReport",
    "list_tables",
    "read",
    "read_file",
    "read_sql",
    "read_with_report",
    "sniff_csv",
    "write",
    "write_file",
    "write_sql",
]
