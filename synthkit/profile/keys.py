"""Keys: primary keys per table, foreign keys between tables, entity + time of sequences.

Foreign keys are found by *value containment* (child values are (nearly) all present among the
parent's primary-key values) backed by a *name* link (the child column is named after the parent
table or its key, e.g. ``encounters.PATIENT -> patients.Id``). Requiring both keeps small integer
columns from pointing at every table with ids 1..n.
"""

from __future__ import annotations

import pandas as pd

from synthkit.meta import ColumnMeta, Relationship
from synthkit.profile.names import compact_name, name_tokens

__all__ = ["find_foreign_keys", "find_primary_key", "find_sequence_keys"]

_MIN_CONTAINMENT = 0.95
_TIME_TOKENS = {"time", "date", "datetime", "timestamp", "ts", "start", "period", "step", "t"}


def find_primary_key(df: pd.DataFrame, columns: list[ColumnMeta], table: str = "") -> str | None:
    """A unique, complete id column; name hints (``id``, ``<table>_id``) break ties."""
    candidates = []
    for meta in columns:
        if meta.kind != "id":
            continue
        col = df[meta.name]
        if col.isna().any() or not col.is_unique or pd.api.types.is_float_dtype(col.dtype):
            continue
        name = compact_name(meta.name)
        singular = compact_name(table).rstrip("s")
        score = 2 if name in ("id", f"{singular}id", f"{compact_name(table)}id") else 1 if "id" in name_tokens(meta.name) else 0
        candidates.append((score, -list(df.columns).index(meta.name), meta.name))
    if not candidates:
        return None
    return max(candidates)[2]


def _names_parent(child_col: str, parent_table: str, parent_key: str) -> bool:
    """``PATIENT``, ``patient_id``, ``patients_id`` or the parent's key name refer to ``patients``."""
    col = compact_name(child_col)
    table = compact_name(parent_table)
    singular = table.removesuffix("s")
    key = compact_name(parent_key)
    if col == key and key not in ("id",):
        return True
    return col in {table, singular, f"{singular}id", f"{table}id", f"{singular}{key}", f"{singular}nbr"}


def find_foreign_keys(
    tables: dict[str, pd.DataFrame], primary_keys: dict[str, str | None]
) -> list[Relationship]:
    """Relationships child.col -> parent.pk where names link them and values are contained."""
    rels: list[Relationship] = []
    parent_values = {t: set(tables[t][k].dropna().astype(str)) for t, k in primary_keys.items() if k}
    for child, df in tables.items():
        for col in df.columns:
            if col == primary_keys.get(child):
                continue
            for parent, key in primary_keys.items():
                if not key or (parent == child) or not _names_parent(str(col), parent, key):
                    continue
                values = df[col].dropna()
                if values.empty or pd.api.types.is_float_dtype(values.dtype) and not bool((values % 1 == 0).all()):
                    continue
                as_text = values.astype("int64").astype(str) if pd.api.types.is_float_dtype(values.dtype) else values.astype(str)
                if as_text.isin(parent_values[parent]).mean() >= _MIN_CONTAINMENT:
                    rels.append(Relationship(parent_table=parent, parent_key=key, child_table=child, child_key=str(col)))
                    break
    return rels


def find_sequence_keys(df: pd.DataFrame, columns: list[ColumnMeta]) -> tuple[str, str] | None:
    """(entity, time) when rows are repeated measurements of entities over time.

    Needs a datetime column (or one named like time) and an entity column (id or categorical)
    such that entities repeat (median >= 3 rows) and (entity, time) is nearly unique.
    """
    if len(df) < 10:
        return None
    kinds = {c.name: c.kind for c in columns}
    times = [c.name for c in columns if c.kind == "datetime"]
    times += [c.name for c in columns if c.kind == "numerical" and set(name_tokens(c.name)) & _TIME_TOKENS]
    entities = [c.name for c in columns if c.kind in ("id", "categorical") and c.pii == "none"]
    for time in times:
        if df[time].isna().mean() > 0.05 or df[time].is_unique:
            continue
        for entity in entities:
            if entity == time or kinds[entity] == "id" and df[entity].is_unique:
                continue
            sizes = df[entity].value_counts()
            if len(sizes) < 2 or sizes.median() < 3:
                continue
            if not df.duplicated([entity, time]).mean() <= 0.05:
                continue
            return entity, time
    return None
