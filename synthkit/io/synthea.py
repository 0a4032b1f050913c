"""Synthea CSV exports: one folder of tables linked by ``PATIENT``/``ENCOUNTER``/... keys.

Reading gives a :class:`~synthkit.io.Dataset` with Synthea's documented keys (``Id`` of patients,
encounters, organizations, providers, payers, careplans) and relationships; writing produces the
same layout, with timestamps in Synthea's own formats (``YYYY-MM-DD`` for dates,
``YYYY-MM-DDTHH:MM:SSZ`` for instants) so other Synthea tools can read the output.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from synthkit.errors import DataError
from synthkit.io.dataset import Dataset
from synthkit.io.files import read_file
from synthkit.meta import Relationship
from synthkit.utils.atomic import atomic_path

__all__ = ["SYNTHEA_LINKS", "read_synthea", "write_synthea"]

log = logging.getLogger(__name__)

#: child column -> parent table (whose key is ``Id``), as Synthea's CSV data dictionary defines
SYNTHEA_LINKS = {
    "PATIENT": "patients",
    "ENCOUNTER": "encounters",
    "ORGANIZATION": "organizations",
    "PROVIDER": "providers",
    "PAYER": "payers",
}
_KEYED = ("patients", "encounters", "organizations", "providers", "payers", "careplans", "claims", "imaging_studies")
# Synthea's columns that hold codes: read as text so "08" (CVX) keeps its zero
_TEXT_COLUMNS = {"CODE": str, "REASONCODE": str, "REACTION1": str, "REACTION2": str, "ZIP": str, "SSN": str, "PHONE": str}


def _table_name(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".csv"):
        name = name.removesuffix(suffix)
    return name.lower()


def read_synthea(
    folder: str | Path, *, tables: list[str] | None = None, nrows: int | None = None, **opts: Any
) -> Dataset:
    """Read a Synthea CSV export folder (``*.csv`` or ``*.csv.gz``) into one Dataset."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"Synthea export folder not found: {folder}")
    files = {_table_name(p): p for p in sorted(folder.iterdir()) if p.name.lower().endswith((".csv", ".csv.gz"))}
    if "patients" not in files:
        raise DataError(f"{folder} is not a Synthea export: no patients.csv(.gz)")
    wanted = tables or sorted(files)
    unknown = sorted(set(wanted) - set(files))
    if unknown:
        raise DataError(f"Synthea folder {folder} has no table(s) {unknown}; found {sorted(files)}")
    frames: dict[str, pd.DataFrame] = {}
    reports: dict[str, dict[str, Any]] = {}
    for name in wanted:
        path = files[name]
        header = pd.read_csv(path, nrows=0).columns
        dtype = {c: t for c, t in _TEXT_COLUMNS.items() if c in header}
        df, rep = read_file(path, format="csv", nrows=nrows, dtype=dtype, allow_empty=True, **opts)
        frames[name], reports[name] = df, rep.to_dict()
    return _with_keys(frames, folder.name, reports)


def _with_keys(frames: dict[str, pd.DataFrame], name: str, reports: dict[str, dict[str, Any]]) -> Dataset:
    pks = {t: "Id" for t in _KEYED if t in frames and "Id" in frames[t].columns}
    rels = []
    for child, df in frames.items():
        for col, parent in SYNTHEA_LINKS.items():
            if col in df.columns and parent in pks and parent != child:
                rels.append(Relationship(parent_table=parent, parent_key="Id", child_table=child, child_key=col))
    return Dataset(frames, primary_keys=pks, relationships=rels, name=name, coercions=reports)


def _synthea_text(series: pd.Series) -> pd.Series:
    """Timestamps as Synthea writes them: dates for date-only columns, else UTC ``...Z``."""
    if not pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series
    dt = series
    if getattr(dt.dtype, "tz", None) is not None:
        dt = dt.dt.tz_convert("UTC")
        return dt.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    present = dt.dropna()
    if len(present) and bool((present.dt.normalize() == present).all()):
        return dt.dt.strftime("%Y-%m-%d")
    return dt.dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_synthea(dataset: Dataset, folder: str | Path, *, compress: bool = False) -> Path:
    """Write every table as ``<folder>/<table>.csv`` (``.csv.gz`` with ``compress``), each atomically."""
    if not isinstance(dataset, Dataset):
        raise DataError(f"write_synthea needs a Dataset, got {type(dataset).__name__}")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in dataset.tables.items():
        out = df.copy()
        for col in out.columns:
            out[col] = _synthea_text(out[col])
        target = folder / f"{name}.csv{'.gz' if compress else ''}"
        with atomic_path(target) as tmp:
            out.to_csv(tmp, index=False, compression="gzip" if compress else None)
    log.info("wrote %d Synthea table(s) to %s", len(dataset.tables), folder)
    return folder
