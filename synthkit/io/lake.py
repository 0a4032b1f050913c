"""Parquet lakes and CSV globs as ONE table that may be larger than memory.

``LakeSource.open(path)`` accepts a folder of Parquet part files (one schema), a hive-partitioned
folder (``year=2020/region=eu/part-0.parquet``), a glob (``data/*.parquet``, ``logs/2024-*.csv``) or
a single file. It reads nothing up front but the schema: ``dataset()`` is a ``pyarrow.dataset``
streamed in batches, ``ray_dataset()`` the same files as a ``ray.data.Dataset``. A folder of
differently shaped CSV files is not a lake: it stays a multi-table :class:`~synthkit.io.Dataset`.

``write_partitioned`` writes a partitioned sink (hive folders when ``partition_cols`` are given)
plus ``_common_metadata`` holding the Arrow schema, so reading it back restores every column's
type, partition columns included.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from synthkit.errors import DataError

__all__ = ["LakeSource", "is_lake", "read_lake", "write_partitioned"]

_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
_COMMON = "_common_metadata"


def _is_glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def _data_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in _FORMATS
                  and not any(part.startswith((".", "_")) for part in p.relative_to(folder).parts))


def _hive(folder: Path, files: list[Path]) -> bool:
    return any("=" in part for f in files for part in f.relative_to(folder).parts[:-1])


@dataclass(frozen=True)
class LakeSource:
    """Files of one table: their format, the folder hive partitions hang from, the schema."""

    files: tuple[str, ...]
    format: str
    base_dir: str | None = None
    hive: bool = False

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> LakeSource:
        text = str(path)
        if _is_glob(text):
            files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
            if not files:
                raise DataError(f"no files match {text!r}")
            base = Path(text.split("*")[0].split("?")[0].split("[")[0])
            base = base if base.is_dir() else base.parent
        elif Path(text).is_dir():
            base = Path(text)
            files = _data_files(base)
            if not files:
                raise DataError(f"folder {text} holds no Parquet or CSV part files")
        elif Path(text).is_file():
            files, base = [Path(text)], Path(text).parent
        else:
            raise DataError(f"file or folder not found: {text}")
        formats = {_FORMATS.get(f.suffix.lower()) for f in files}
        if len(formats) != 1 or None in formats:
            raise DataError(f"{text}: a lake holds files of one format (Parquet or CSV), found {sorted(map(str, formats))}")
        source = cls(tuple(str(f) for f in files), formats.pop() or "parquet", str(base), _hive(base, files))
        source._check_parts()
        return source

    def _check_parts(self) -> None:
        """Fail now, naming two files, if Parquet parts disagree on their columns (footers only)."""
        if self.format != "parquet":
            return

        def footer(path: str) -> Any:
            try:
                return pq.read_schema(path).remove_metadata()
            except Exception as exc:  # ArrowInvalid, OSError: not a readable Parquet file
                raise DataError(f"cannot read Parquet part {path}: {str(exc).splitlines()[0][:200]}") from None

        first = footer(self.files[0])
        for other in self.files[1:]:
            schema = footer(other)
            if not schema.equals(first):
                raise DataError(f"{self.files[0]} and {other} do not form one table: columns {first.names} "
                                f"({', '.join(map(str, first.types))}) vs {schema.names} ({', '.join(map(str, schema.types))})")

    # -- pyarrow -------------------------------------------------------------------------
    def _partitioning(self) -> Any:

        if not self.hive:
            return None
        common = self._common_schema()
        if common is not None:
            names = {part.split("=", 1)[0] for f in self.files for part in Path(f).relative_to(self.base_dir or "/").parts[:-1]
                     if "=" in part}
            fields = [common.field(n) for n in common.names if n in names]
            if fields:

                return ds.partitioning(pa.schema(fields), flavor="hive")
        return ds.HivePartitioning.discover(infer_dictionary=False)

    def _common_schema(self) -> Any:

        marker = Path(self.base_dir or ".") / _COMMON
        return pq.read_schema(marker) if self.format == "parquet" and marker.is_file() else None

    def dataset(self) -> Any:
        """The files as one ``pyarrow.dataset.Dataset`` (nothing read until batches are pulled)."""

        try:
            return ds.dataset(list(self.files), format=self.format, partitioning=self._partitioning(),
                              partition_base_dir=self.base_dir, schema=self._common_schema())
        except Exception as exc:  # ArrowInvalid / ArrowTypeError: the parts disagree
            raise DataError(f"{self.base_dir}: the part files do not form one table ({str(exc).splitlines()[0][:200]})") from None

    @property
    def schema(self) -> Any:
        return self.dataset().schema

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    def count_rows(self) -> int:
        return int(self.dataset().count_rows())

    def ray_dataset(self, columns: list[str] | None = None) -> Any:
        """The same files as a ``ray.data.Dataset`` (hive partition columns included)."""
        import ray.data
        from ray.data.datasource import Partitioning

        part = Partitioning("hive", base_dir=self.base_dir) if self.hive else None
        if self.format == "csv":
            ds = ray.data.read_csv(list(self.files), partitioning=part)
            return ds.select_columns(columns) if columns else ds
        return ray.data.read_parquet(list(self.files), partitioning=part, columns=columns, schema=self._common_schema())


def is_lake(path: Any) -> bool:
    """True for a glob, or a folder whose data files are all Parquet (or hive-partitioned)."""
    text = str(path)
    if _is_glob(text):
        return True
    folder = Path(text)
    if not folder.is_dir():
        return False
    files = _data_files(folder)
    if not files:
        return False
    suffixes = {f.suffix.lower() for f in files}
    return suffixes <= {".parquet", ".pq"} or _hive(folder, files)


def read_lake(path: Any, columns: list[str] | None = None) -> pd.DataFrame:
    """The whole lake in memory (for tables that fit; large ones go through an engine)."""
    table = LakeSource.open(path).dataset().to_table(columns=columns)
    return restore_dtypes(table.to_pandas(), table.schema)


def restore_dtypes(frame: pd.DataFrame, schema: Any) -> pd.DataFrame:
    """Datetime units Parquet cannot store (``datetime64[s]`` is written as ms) back as they were."""
    meta = schema.pandas_metadata or {}
    for col in meta.get("columns", []):
        name, numpy_type = col.get("name"), str(col.get("numpy_type", ""))
        if name in frame.columns and numpy_type.startswith("datetime64[") and str(frame[name].dtype) != numpy_type:
            if getattr(frame[name].dtype, "tz", None) is None:
                frame[name] = frame[name].astype(numpy_type)
    return frame


def write_partitioned(data: pd.DataFrame | Iterable[pd.DataFrame], folder: str | Path, *,
                      partition_cols: list[str] | None = None, max_rows_per_file: int = 1_000_000) -> Path:
    """Write frames (one, or an iterable streamed one at a time) as a Parquet lake at ``folder``."""

    folder = Path(folder)
    frames = [data] if isinstance(data, pd.DataFrame) else data
    schema = None
    for i, frame in enumerate(frames):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if schema is None:
            schema = table.schema
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_metadata(schema, folder / _COMMON)
        elif table.schema != schema:
            table = table.cast(schema)
        part_schema = pa.schema([schema.field(c) for c in partition_cols]) if partition_cols else None
        ds.write_dataset(table, folder, format="parquet", basename_template=f"part-{i:06d}-{{i}}.parquet",
                         partitioning=ds.partitioning(part_schema, flavor="hive") if part_schema else None,
                         existing_data_behavior="overwrite_or_ignore", max_rows_per_file=max_rows_per_file,
                         max_rows_per_group=min(max_rows_per_file, 1 << 20))
    if schema is None:
        raise DataError("nothing to write: no frames given")
    return folder
