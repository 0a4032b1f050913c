"""Time series: long format (entity, time, measures), EAV rows, wide-per-entity, and presets.

Sequences load into a two-table :class:`~synthkit.io.Dataset`: ``entities`` (one row per entity,
with its static attributes) and ``measurements`` (one row per entity and timestamp, sorted),
linked by the entity column and marked with ``sequence_keys`` so profiling records entity and
time columns. Timestamps are kept as observed: irregular sampling is not resampled away.

Presets recognised from the columns:

* PhysioNet 2012 (``RecordID, Time, Parameter, Value``): EAV rows pivoted to one column per
  parameter; ``Time`` ("HH:MM" since ICU admission) becomes minutes; the descriptors Age, Gender,
  Height and ICUType go to ``entities``; ``-1`` (unknown) in descriptors and Weight is missing.
* Beijing multi-site air quality (``station, year, month, day, hour``): one file per station,
  concatenated; the date parts become one ``datetime`` column; the row counter ``No`` is dropped.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pandas as pd

from synthkit.errors import DataError
from synthkit.io.dataset import Dataset
from synthkit.io.files import read_file
from synthkit.meta import Relationship

__all__ = ["PRESETS", "eav_to_long", "long_to_wide", "read_sequences", "sequences_from_frame", "wide_to_long"]

log = logging.getLogger(__name__)

PRESETS: dict[str, dict[str, Any]] = {
    "physionet-2012": {
        "entity": "RecordID", "time": "Time", "parameter": "Parameter", "value": "Value",
        "static": ["Age", "Gender", "Height", "ICUType"], "unknown": {"Age": -1, "Gender": -1, "Height": -1, "ICUType": -1, "Weight": -1},
        "drop_parameters": ["RecordID"], "time_format": "hh:mm",
    },
    "beijing-air-quality": {
        "entity": "station", "time": "datetime", "time_parts": ["year", "month", "day", "hour"], "drop": ["No"],
    },
}
_HHMM = re.compile(r"^\d{1,3}:\d{2}$")
_STEP_SEP = "__"


def _detect_preset(columns: list[str]) -> str | None:
    cols = set(columns)
    if {"RecordID", "Time", "Parameter", "Value"} <= cols:
        return "physionet-2012"
    if {"station", "year", "month", "day", "hour"} <= cols:
        return "beijing-air-quality"
    return None


def _read_source(source: Any, nrows: int | None, opts: dict[str, Any]) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.name.lower().endswith((".csv", ".csv.gz", ".tsv", ".parquet", ".jsonl")))
        if not files:
            raise DataError(f"folder {path} holds no time-series files")
        frames = [read_file(p, nrows=nrows, **opts)[0] for p in files]
        columns = list(frames[0].columns)
        for p, f in zip(files, frames, strict=True):
            if list(f.columns) != columns:
                raise DataError(f"{p} has columns {list(f.columns)[:6]}..., unlike {files[0].name}; cannot stack them")
        return pd.concat(frames, ignore_index=True)
    return read_file(path, nrows=nrows, parse_dates=False, **opts)[0] if _is_eav_file(path) else read_file(path, nrows=nrows, **opts)[0]


def _is_eav_file(path: Path) -> bool:
    return path.name.lower().startswith("set-")


def read_sequences(
    source: Any,
    *,
    entity: str | None = None,
    time: str | None = None,
    measures: list[str] | None = None,
    parameter: str | None = None,
    value: str | None = None,
    static: list[str] | None = None,
    time_parts: list[str] | None = None,
    preset: str | None = None,
    wide: bool = False,
    nrows: int | None = None,
    **read_opts: Any,
) -> Dataset:
    """Load long-format, EAV or wide (``wide=True``: one row per entity, ``<col>__<step>``
    columns as :func:`long_to_wide` writes them) time series from a file, a folder of files with
    the same columns, or a DataFrame, as an entities/measurements Dataset."""
    df = _read_source(source, nrows, read_opts)
    if wide:
        if not entity or not time:
            raise DataError("wide time series need entity= and time=")
        df = wide_to_long(df, entity, time)
    preset = preset or (None if entity else _detect_preset(list(df.columns)))
    cfg: dict[str, Any] = dict(PRESETS[preset]) if preset else {}
    if preset and preset not in PRESETS:
        raise DataError(f"unknown time-series preset {preset!r}; known: {sorted(PRESETS)}")
    return sequences_from_frame(
        df.drop(columns=[c for c in cfg.get("drop", []) if c in df.columns]),
        entity=entity or cfg.get("entity"), time=time or cfg.get("time"), measures=measures,
        parameter=parameter or cfg.get("parameter"), value=value or cfg.get("value"),
        static=static if static is not None else cfg.get("static"), time_parts=time_parts or cfg.get("time_parts"),
        unknown=cfg.get("unknown"), drop_parameters=cfg.get("drop_parameters"), name=preset or "sequences",
    )


def sequences_from_frame(
    df: pd.DataFrame,
    *,
    entity: str | None,
    time: str | None,
    measures: list[str] | None = None,
    parameter: str | None = None,
    value: str | None = None,
    static: list[str] | None = None,
    time_parts: list[str] | None = None,
    unknown: dict[str, float] | None = None,
    drop_parameters: list[str] | None = None,
    name: str = "sequences",
) -> Dataset:
    """The entities/measurements Dataset from an in-memory long or EAV frame."""
    if not entity or not time:
        raise DataError("time series need entity= and time= columns (or a recognised preset)")
    if entity not in df.columns:
        raise DataError(f"entity column {entity!r} not in columns {list(df.columns)[:10]}")
    if time_parts:
        missing = [c for c in time_parts if c not in df.columns]
        if missing:
            raise DataError(f"time part columns {missing} not found")
        parts = df[time_parts].rename(columns=dict(zip(time_parts, ["year", "month", "day", "hour", "minute", "second"], strict=False)))
        df = df.drop(columns=time_parts).assign(**{time: pd.to_datetime(parts, errors="coerce")})
    if parameter and value:
        long, static_frame = _from_eav(df, entity, time, parameter, value, static or [], drop_parameters or [])
    else:
        if time not in df.columns:
            raise DataError(f"time column {time!r} not in columns {list(df.columns)[:10]}")
        keep = [entity, time] + (measures or [c for c in df.columns if c not in (entity, time) and c not in (static or [])])
        missing = [c for c in keep if c not in df.columns]
        if missing:
            raise DataError(f"measure columns {missing} not found")
        long = df[keep]
        static_frame = df[[entity] + list(static or [])].drop_duplicates(entity)
    long = _normalise_time(long, time)
    if long[time].isna().any():
        raise DataError(f"time column {time!r} has {int(long[time].isna().sum())} missing or unparsable values")
    for col, marker in (unknown or {}).items():
        for frame in (long, static_frame):
            if col in frame.columns:
                frame[col] = frame[col].mask(frame[col] == marker)
    long = long.sort_values([entity, time], kind="stable").reset_index(drop=True)
    static_frame = static_frame.sort_values(entity, kind="stable").reset_index(drop=True)
    return Dataset(
        {"entities": static_frame, "measurements": long},
        primary_keys={"entities": entity},
        relationships=[Relationship(parent_table="entities", parent_key=entity, child_table="measurements", child_key=entity)],
        sequence_keys={"measurements": (entity, time)},
        name=name,
    )


def _from_eav(
    df: pd.DataFrame, entity: str, time: str, parameter: str, value: str, static: list[str], drop: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Entity-attribute-value rows to one column per parameter (last value wins at equal times)."""
    for col in (time, parameter, value):
        if col not in df.columns:
            raise DataError(f"EAV column {col!r} not in columns {list(df.columns)[:10]}")
    df = df[~df[parameter].isin(drop)]
    is_static = df[parameter].isin(static)
    static_rows = df[is_static]
    static_frame = (
        static_rows.groupby([entity, parameter], sort=False)[value].first().unstack(parameter)
        .reindex(columns=[s for s in static if s in set(static_rows[parameter])])
    )
    entities = pd.Index(df[entity].unique(), name=entity)
    static_frame = static_frame.reindex(entities).reset_index()
    static_frame.columns.name = None
    series = df[~is_static]
    long = series.groupby([entity, time, parameter], sort=False)[value].last().unstack(parameter).reset_index()
    long.columns.name = None
    return long, static_frame


def _normalise_time(df: pd.DataFrame, time: str) -> pd.DataFrame:
    """"HH:MM" elapsed times become minutes; other text is parsed as dates."""
    col = df[time]
    if col.dtype == object:
        text = col.astype(str)
        if text.str.match(_HHMM).all():
            hm = text.str.split(":", expand=True).astype(int)
            return df.assign(**{time: hm[0] * 60 + hm[1]})
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
        return df.assign(**{time: parsed})
    return df


def eav_to_long(df: pd.DataFrame, entity: str, time: str, parameter: str, value: str) -> pd.DataFrame:
    """EAV rows (entity, time, parameter, value) to long rows with one column per parameter."""
    return _from_eav(df, entity, time, parameter, value, [], [])[0]


def long_to_wide(df: pd.DataFrame, entity: str, time: str, measures: list[str] | None = None) -> pd.DataFrame:
    """One row per entity: columns ``<time>__<k>`` and ``<measure>__<k>`` for the k-th step.

    Shorter sequences are padded with missing values; ``wide_to_long`` drops the padding again.
    """
    for col in (entity, time):
        if col not in df.columns:
            raise DataError(f"column {col!r} not found")
    measures = measures or [c for c in df.columns if c not in (entity, time)]
    ordered = df.sort_values([entity, time], kind="stable")
    step = ordered.groupby(entity, sort=False).cumcount()
    wide = ordered.assign(_step=step).pivot(index=entity, columns="_step", values=[time, *measures])
    wide.columns = [f"{col}{_STEP_SEP}{k}" for col, k in wide.columns]
    order = sorted(wide.columns, key=lambda c: (int(c.rsplit(_STEP_SEP, 1)[1]), [time, *measures].index(c.rsplit(_STEP_SEP, 1)[0])))
    return wide[order].reset_index()


def wide_to_long(wide: pd.DataFrame, entity: str, time: str) -> pd.DataFrame:
    """Inverse of :func:`long_to_wide`: long rows sorted by entity and time, padding removed."""
    if entity not in wide.columns:
        raise DataError(f"column {entity!r} not found")
    stepped = [c for c in wide.columns if c != entity and _STEP_SEP in str(c)]
    if not stepped:
        raise DataError(f"no '<name>{_STEP_SEP}<step>' columns in the wide frame")
    melted = wide.melt(id_vars=[entity], value_vars=stepped)
    split = melted["variable"].str.rsplit(_STEP_SEP, n=1, expand=True)
    melted = melted.assign(_name=split[0], _step=split[1].astype(int))
    long = melted.pivot_table(index=[entity, "_step"], columns="_name", values="value", aggfunc="first", dropna=False, observed=True)
    long = long[long[time].notna()].reset_index().drop(columns="_step")
    long.columns.name = None
    names = list(dict.fromkeys(split[0]))
    long = long[[entity, *names]]
    for col in long.columns:
        if long[col].dtype == object:
            converted = pd.to_numeric(long[col], errors="coerce")
            if converted.notna().sum() == long[col].notna().sum():
                long[col] = converted
    return long.sort_values([entity, time], kind="stable").reset_index(drop=True)
