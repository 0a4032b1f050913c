"""Build :class:`Metadata` from data: kinds, statistics, PII, keys, relationships, sequences.

``profile(df)`` profiles one table; ``profile(dataset)`` profiles every table of a
:class:`~synthkit.io.Dataset`, keeps the keys it declares and discovers the rest
(:mod:`synthkit.profile.keys`). Columns that link tables (primary and foreign keys) are kind
``id`` so models regenerate or link them instead of learning them as categories.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from synthkit.errors import DataError
from synthkit.io.dataset import Dataset
from synthkit.meta import ColumnMeta, Metadata, Relationship, TableMeta
from synthkit.profile.codes import code_system
from synthkit.profile.infer import datetime_text_format, infer_kind, numeric_subtype
from synthkit.profile.keys import (
    find_foreign_keys,
    find_primary_key,
    find_sequence_keys,
)
from synthkit.profile.names import column_facts
from synthkit.profile.pii import detect_pii
from synthkit.profile.stats import column_stats

__all__ = ["profile", "profile_column", "profile_table"]

log = logging.getLogger(__name__)


def profile_column(series: pd.Series, name: str | None = None) -> ColumnMeta:
    """Kind, PII class, missingness, cardinality and statistics of one column."""
    name = str(series.name if name is None else name)
    facts = column_facts(series)
    kind = infer_kind(series, facts)
    pii = detect_pii(series, kind, facts)
    if pii in ("date_of_birth",) and kind != "datetime":
        pii = "none"
    if pii != "none" and kind in ("id", "text") and pii in ("latitude", "longitude", "date_of_birth"):
        pii = "none"
    if pii in ("ssn", "passport", "drivers_license", "email", "phone") and kind == "categorical":
        kind = "id" if facts.nunique > 0.5 * max(len(facts.present), 1) else kind
    subtype = None
    if kind == "numerical":
        subtype = numeric_subtype(series)
    system = code_system(series, facts) if kind == "categorical" else None
    if system:
        subtype = "code"
    stats = column_stats(series, kind, pii, facts)
    if system:
        stats["code_system"] = system
    return ColumnMeta(
        name=name,
        kind=kind,  # type: ignore[arg-type]
        subtype=subtype,
        dtype=str(series.dtype),
        pii=pii,  # type: ignore[arg-type]
        missing_share=round(facts.missing_share, 6),
        cardinality=facts.nunique,
        datetime_format=_datetime_format(series, kind),
        stats=stats,
    )


def _datetime_format(series: pd.Series, kind: str) -> str | None:
    if kind != "datetime":
        return None
    fmt = series.attrs.get("datetime_format") if hasattr(series, "attrs") else None
    return fmt or datetime_text_format(series) or None


def _profile_readable(series: pd.Series, name: str) -> ColumnMeta:
    """``profile_column``, with values pandas cannot hash or decode (lists, dicts, non-UTF-8 bytes)
    reported as a DataError naming the column instead of a TypeError from deep inside pandas."""
    try:
        return profile_column(series, name)
    except (TypeError, UnicodeDecodeError) as exc:
        raise DataError(
            f"column {name!r} holds values that are not numbers, text or dates "
            f"({type(exc).__name__}: {str(exc).splitlines()[0][:100]}); convert them to plain text or numbers first"
        ) from None


def _check_frame(df: Any, name: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(df).__name__}")
    names = pd.Index([str(c) for c in df.columns])  # names are used as text: 0 and "0" collide
    if names.duplicated().any():
        dupes = sorted(set(names[names.duplicated()]))
        raise DataError(f"table {name!r} has duplicate column names: {dupes}")
    if df.shape[1] == 0:
        raise DataError(f"table {name!r} has no columns")


def profile_table(
    df: pd.DataFrame,
    name: str = "table",
    *,
    primary_key: str | None = None,
    sequence_key: str | None = None,
    sequence_index: str | None = None,
    detect_sequences: bool = True,
) -> TableMeta:
    """Profile one DataFrame into a :class:`TableMeta` (keys given here win over detection)."""
    _check_frame(df, name)
    columns = [_profile_readable(df[col], str(col)) for col in df.columns]
    for key in (primary_key, sequence_key, sequence_index):
        if key is not None and key not in df.columns:
            raise DataError(f"table {name!r} has no column {key!r}")
    pk = primary_key or find_primary_key(df, columns, name)
    if sequence_key is None and sequence_index is None and detect_sequences:
        found = find_sequence_keys(df, columns)
        if found:
            sequence_key, sequence_index = found
            log.info("table %r looks like sequences: entity %r, time %r", name, *found)
    if pk is not None and pk == sequence_key:
        pk = None
    columns = [_as_key(c) if c.name == pk and c.kind != "id" else c for c in columns]
    return TableMeta(
        name=name, columns=columns, primary_key=pk, sequence_key=sequence_key,
        sequence_index=sequence_index, n_rows=len(df),
    )


def _as_key(meta: ColumnMeta) -> ColumnMeta:
    """A key column is an id: no category list, no numeric summary."""
    return meta.model_copy(update={"kind": "id", "subtype": None, "stats": {k: v for k, v in meta.stats.items() if k in ("count", "constant", "near_unique")}})


def profile(data: Any, name: str = "table", **kwargs: Any) -> Metadata:
    """Profile a DataFrame (single-table metadata) or a Dataset (all tables + relationships)."""
    if isinstance(data, Dataset):
        return _profile_dataset(data)
    if isinstance(data, dict) and data and all(isinstance(v, pd.DataFrame) for v in data.values()):
        return _profile_dataset(Dataset(dict(data), name=name))
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame or synthkit Dataset, got {type(data).__name__}")
    return Metadata.single(profile_table(data, name=name, **kwargs))


def _profile_dataset(ds: Any) -> Metadata:
    tables: dict[str, TableMeta] = {}
    for tname, df in ds.tables.items():
        entity, time = ds.sequence_keys.get(tname, (None, None))
        tables[tname] = profile_table(
            df, tname, primary_key=ds.primary_keys.get(tname), sequence_key=entity, sequence_index=time,
            detect_sequences=False,
        )
    pks = {t: m.primary_key for t, m in tables.items()}
    rels: list[Relationship] = list(ds.relationships) or find_foreign_keys(ds.tables, pks)
    linked = {(r.child_table, r.child_key) for r in rels} | {(r.parent_table, r.parent_key) for r in rels}
    for tname, meta in tables.items():
        cols = [_as_key(c) if (tname, c.name) in linked and c.kind != "id" else c for c in meta.columns]
        update: dict[str, Any] = {"columns": cols}
        if meta.sequence_key is None:
            # a child table's entity is its link to the parent, ordered by its first datetime column
            fk = next((r.child_key for r in rels if r.child_table == tname), None)
            when = next((c.name for c in cols if c.kind == "datetime"), None)
            if fk and when and len(ds.tables[tname]) and not ds.tables[tname].duplicated([fk, when]).mean() > 0.05:
                update.update(sequence_key=fk, sequence_index=when)
        tables[tname] = TableMeta(**{**meta.model_dump(exclude={"columns"}), "columns": cols, **update})
    return Metadata(tables=tables, relationships=rels)
