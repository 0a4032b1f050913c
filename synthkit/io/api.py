"""``read`` and ``write``: one entry point for every source the platform ingests.

Dispatch is by what the source *is*: a SQLAlchemy URL, a Synthea export folder, a FHIR bundle or
NDJSON file/folder, a folder of tables, or one tabular file (format from the name). Single tables
come back as a DataFrame, multi-table sources as a :class:`~synthkit.io.dataset.Dataset`.

The coercion report (what was sniffed and converted) is returned by :func:`read_with_report`, and
is also attached to every frame read as ``df.attrs["coercions"]`` (and ``Dataset.coercions``).
"""

from __future__ import annotations

import gzip
import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd

from synthkit.errors import DataError
from synthkit.io.dataset import Dataset
from synthkit.io.fhir import read_fhir, write_fhir
from synthkit.io.files import _COMPRESSION, FILE_FORMATS, read_file, write_file
from synthkit.io.lake import is_lake, read_lake
from synthkit.io.sql import is_sql_url, list_tables, read_sql, redact_url, reflect_keys
from synthkit.io.sql_write import write_sql
from synthkit.io.synthea import read_synthea, write_synthea

__all__ = ["read", "read_with_report", "write"]

log = logging.getLogger(__name__)

_TABLE_SUFFIXES = {s for s, f in FILE_FORMATS.items() if f not in ("json",)} | {".json"}


def read(
    source: Any, *, table: str | None = None, query: str | None = None, format: str | None = None, **opts: Any
) -> pd.DataFrame | Dataset:
    """Read a file, folder, FHIR bundle, Synthea export or SQL table/query (see module docstring).

    Options go to the reader: ``delimiter``, ``encoding``, ``header``, ``na_values``, ``nrows``,
    ``on_mixed`` ("keep" | "error" | "coerce"), ``parse_dates``, ``params`` (SQL query parameters).
    """
    return read_with_report(source, table=table, query=query, format=format, **opts)[0]


def read_with_report(
    source: Any, *, table: str | None = None, query: str | None = None, format: str | None = None, **opts: Any
) -> tuple[pd.DataFrame | Dataset, dict[str, Any]]:
    """Like :func:`read`, plus a JSON-ready report: ``{"source", "sniffed", "coercions"}`` for a
    table, ``{"tables": {name: report}}`` for a Dataset."""
    if isinstance(source, (pd.DataFrame, Dataset)):
        return source, {"source": "in-memory", "sniffed": {}, "coercions": []}
    if not isinstance(source, (str, os.PathLike)):
        raise DataError(f"cannot read from a {type(source).__name__}; give a file path, a folder or a SQL URL")
    fmt = format.lower() if format else None
    if is_sql_url(source):
        if table is None and query is None:
            names = list_tables(source)
            if not names:
                raise DataError(f"database {redact_url(source)} has no tables")
            frames, reports = {}, {}
            for name in names:
                frames[name], rep = read_sql(source, table=name, **opts)
                reports[name] = rep.to_dict()
            pks, rels = reflect_keys(source, names)  # keys the schema declares; profiling finds the rest
            ds = Dataset(frames, primary_keys=pks, relationships=rels, name=Path(str(source)).stem, coercions=reports)
            return ds, {"tables": reports}
        df, rep = read_sql(source, table=table, query=query, **opts)
        return df, rep.to_dict()
    if isinstance(source, str) and "://" in source:
        raise DataError(f"not a valid SQLAlchemy URL or file path: {source!r}")
    if query is not None:
        raise DataError("query= applies to SQL URLs only")

    if table is None and fmt in (None, "parquet", "csv") and is_lake(source):  # a Parquet folder / hive tree / glob: ONE table
        return read_lake(source), {"source": str(source), "sniffed": {"format": "lake"}, "coercions": []}
    path = Path(source)
    if not path.exists():
        raise DataError(f"file or folder not found: {path}")
    if table is not None:  # one table of a multi-table source (Synthea/FHIR/folder), as for SQL
        return _one_table(path, table, fmt, opts)
    if fmt == "synthea" or (fmt is None and path.is_dir() and _is_synthea(path)):
        ds = read_synthea(path, **opts)
        return ds, {"tables": ds.coercions}
    if fmt == "fhir" or (fmt is None and _is_fhir(path)):
        ds = read_fhir(path)
        return ds, {"tables": ds.coercions}
    if path.is_dir():
        return _read_folder(path, fmt, opts)
    df, rep = read_file(path, format=fmt, **opts)
    return df, rep.to_dict()


def _one_table(path: Path, table: str, fmt: str | None, opts: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    if fmt == "synthea" or (fmt is None and path.is_dir() and _is_synthea(path)):
        opts = {**opts, "tables": [table]}
    data, report = read_with_report(path, format=fmt, **opts)
    if not isinstance(data, Dataset):
        raise DataError(f"{path} is a single table; table= selects a table of a multi-table source")
    if table not in data.tables:
        raise DataError(f"{path} has no table {table!r}; tables: {sorted(data.tables)}")
    return data.tables[table], report["tables"][table]


def _table_files(folder: Path) -> list[Path]:
    files = []
    for p in sorted(folder.iterdir()):
        name = p.name.lower()
        for comp in _COMPRESSION:
            name = name.removesuffix(comp)
        if p.is_file() and not p.name.startswith(".") and Path(name).suffix in _TABLE_SUFFIXES - {".txt", ".data"}:
            files.append(p)
    return files


def _table_name(path: Path) -> str:
    name = path.name
    for comp in _COMPRESSION:
        name = name.removesuffix(comp)
    return Path(name).stem


def _is_synthea(folder: Path) -> bool:
    names = {_table_name(p).lower() for p in _table_files(folder)}
    return "patients" in names and bool(names & {"encounters", "conditions", "observations"})


def _is_fhir(path: Path) -> bool:
    """A .json/.ndjson file (or a folder of them) whose first object carries ``resourceType``."""
    if path.is_dir():
        files = [p for p in sorted(path.iterdir()) if _table_name(p) != p.name and p.is_file()]
        files = [p for p in files if p.name.lower().removesuffix(".gz").endswith((".json", ".ndjson"))]
        return bool(files) and all(_is_fhir(p) for p in files[:3])
    if not path.name.lower().removesuffix(".gz").endswith((".json", ".ndjson")):
        return False

    try:
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as fh:
            head = fh.read(4096).decode("utf-8", errors="replace")
    except OSError:
        return False
    return head.lstrip().startswith("{") and '"resourceType"' in head


def _read_folder(folder: Path, fmt: str | None, opts: dict[str, Any]) -> tuple[Dataset, dict[str, Any]]:
    files = _table_files(folder)
    if not files:
        raise DataError(f"folder {folder} holds no readable table files (csv, tsv, parquet, jsonl, json, arff)")
    frames, reports = {}, {}
    for f in files:
        name = _table_name(f)
        if name in frames:
            raise DataError(f"folder {folder} has two files for table {name!r}")
        frames[name], rep = read_file(f, format=fmt, **opts)
        reports[name] = rep.to_dict()
    return Dataset(frames, name=folder.name, coercions=reports), {"tables": reports}


def write(
    data: pd.DataFrame | Dataset,
    target: Any,
    *,
    table: str | None = None,
    if_exists: str = "replace",
    format: str | None = None,
) -> str | Path:
    """Write a DataFrame (file or SQL table) or a Dataset (SQL, Synthea CSV folder, FHIR bundle).

    Files are written atomically; SQL writes of all tables happen in one transaction.
    """
    fmt = format.lower() if format else None
    if is_sql_url(target):
        if isinstance(data, Dataset):
            return write_sql(dict(data.tables), target, if_exists=if_exists)
        if not table:
            raise DataError("writing a DataFrame to SQL needs table=")
        return write_sql({table: data}, target, if_exists=if_exists)
    path = Path(target)
    if isinstance(data, Dataset):
        if fmt == "fhir" or (fmt is None and path.suffix.lower() in (".json", ".ndjson")):
            return write_fhir(data, path, ndjson=path.suffix.lower() == ".ndjson")
        if fmt not in (None, "synthea", "csv"):
            raise DataError(f"a Dataset writes to SQL, a Synthea-style CSV folder or FHIR; not format {fmt!r}")

        return write_synthea(data, path)
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"expected a DataFrame or Dataset to write, got {type(data).__name__}")
    if table is not None:
        raise DataError("table= applies to SQL targets only")
    return write_file(data, path, format=fmt)
