"""Ingestion: read and write files, SQL, time series and medical records (Synthea, FHIR).

Entry points:

* ``read(source, *, table=None, query=None, format=None, **opts)`` -> DataFrame or :class:`Dataset`.
  ``source`` is a file (csv/tsv/txt/data/parquet/jsonl/json/arff, optionally gzip/bz2/xz), a
  SQLAlchemy URL (``table=`` or ``query=`` + ``params=``; neither: every table as a Dataset), a
  Synthea export folder, a FHIR Bundle/NDJSON file or folder, or a folder of table files.
  ``table=`` on a multi-table file source returns that one table. Options: ``delimiter``,
  ``encoding``, ``header`` (True/False/None = sniff), ``names``, ``na_values``, ``nrows``,
  ``on_mixed`` ("keep" | "error" | "coerce"), ``parse_dates``, ``allow_empty``.
* The coercion report -- what was sniffed (format, encoding, delimiter, header) and which text
  columns became numbers/booleans/dates or were left as text because they mix types -- comes back
  from ``read_with_report(...) -> (data, report)`` as a JSON-ready dict (``{"tables": {...}}`` for a
  Dataset). It is also attached as ``df.attrs["coercions"]`` and ``Dataset.coercions``. It holds
  counts and formats, never data values.
* ``write(data, target, *, table=None, if_exists="replace", format=None)``: files atomically; SQL
  in one transaction; a Dataset to a Synthea-style CSV folder or a FHIR bundle (``.json``/``.ndjson``).
* :class:`Dataset` (tables, primary keys, relationships, sequence keys; ``validate()``) and
  :func:`read_sequences` / :func:`long_to_wide` / :func:`wide_to_long` for time series.
"""

from synthkit.io.api import read, read_with_report, write
from synthkit.io.coerce import Coercion, CoercionReport
from synthkit.io.dataset import Dataset, ValidationReport
from synthkit.io.files import read_file, sniff_csv, write_file
from synthkit.io.sql import iter_sql, list_tables, read_sql, redact_url
from synthkit.io.sql_write import write_sql
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
    "iter_sql",
    "list_tables",
    "long_to_wide",
    "read",
    "read_file",
    "read_sequences",
    "read_sql",
    "read_synthea",
    "redact_url",
    "read_with_report",
    "sequences_from_frame",
    "sniff_csv",
    "wide_to_long",
    "write",
    "write_file",
    "write_sql",
    "write_synthea",
]
