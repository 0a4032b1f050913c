"""Multi-table data: named tables, primary keys, foreign-key relationships, sequence keys.

A :class:`Dataset` is what the relational and sequential stages consume: Synthea exports, FHIR
bundles, a SQL database or long-format time series all load into one. ``validate()`` reports
duplicate or missing primary keys and orphan foreign keys as counts (never the key values
themselves, so a validation report can be shared like any other aggregate).
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, ValuesView
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from synthkit.errors import ConfigError, DataError
from synthkit.meta import Relationship

__all__ = ["Dataset", "ValidationReport"]


@dataclass
class ValidationReport:
    """Key problems found in a :class:`Dataset` (counts only)."""

    duplicate_keys: dict[str, int] = field(default_factory=dict)  # table -> rows sharing a key
    missing_keys: dict[str, int] = field(default_factory=dict)  # table -> rows with a null primary key
    orphans: list[dict[str, Any]] = field(default_factory=list)  # one entry per relationship with orphans
    duplicate_steps: dict[str, int] = field(default_factory=dict)  # sequence table -> repeated (entity, time)

    @property
    def ok(self) -> bool:
        return not (self.duplicate_keys or self.missing_keys or self.orphans or self.duplicate_steps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "duplicate_keys": dict(self.duplicate_keys),
            "missing_keys": dict(self.missing_keys),
            "orphans": list(self.orphans),
            "duplicate_steps": dict(self.duplicate_steps),
        }

    def raise_if_invalid(self) -> None:
        """Raise :class:`DataError` describing every problem at once."""
        if self.ok:
            return
        parts = [f"{t}: {n} rows share a primary key" for t, n in self.duplicate_keys.items()]
        parts += [f"{t}: {n} rows lack a primary key" for t, n in self.missing_keys.items()]
        parts += [
            f"{o['child_table']}.{o['child_key']}: {o['count']} rows refer to no {o['parent_table']}.{o['parent_key']}"
            for o in self.orphans
        ]
        parts += [f"{t}: {n} rows repeat an (entity, time) step" for t, n in self.duplicate_steps.items()]
        raise DataError("invalid dataset keys: " + "; ".join(parts))


@dataclass
class Dataset:
    """Named tables with keys. ``sequence_keys`` maps a table to its (entity column, time column)."""

    tables: dict[str, pd.DataFrame]
    primary_keys: dict[str, str] = field(default_factory=dict)
    relationships: list[Relationship] = field(default_factory=list)
    sequence_keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    name: str = "dataset"
    coercions: dict[str, dict[str, Any]] = field(default_factory=dict)  # table -> CoercionReport.to_dict()

    def __post_init__(self) -> None:
        if isinstance(self.tables, Dataset):
            self.tables = dict(self.tables.tables)
        if not isinstance(self.tables, dict) or not self.tables:
            raise DataError("a Dataset needs at least one table")
        for tname, df in self.tables.items():
            if not isinstance(df, pd.DataFrame):
                raise DataError(f"table {tname!r} is a {type(df).__name__}, not a DataFrame")
        for tname, key in self.primary_keys.items():
            self._require(tname, key)
        for rel in self.relationships:
            self._require(rel.parent_table, rel.parent_key)
            self._require(rel.child_table, rel.child_key)
        for tname, (entity, time) in self.sequence_keys.items():
            self._require(tname, entity)
            self._require(tname, time)

    def _require(self, table: str, column: str) -> None:
        if table not in self.tables:
            raise DataError(f"dataset has no table {table!r}; tables: {sorted(self.tables)}")
        if column not in self.tables[table].columns:
            raise DataError(f"table {table!r} has no column {column!r}")

    # -- access ---------------------------------------------------------------------------
    def __getitem__(self, name: str) -> pd.DataFrame:
        try:
            return self.tables[name]
        except KeyError:
            raise DataError(f"dataset has no table {name!r}; tables: {sorted(self.tables)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self.tables

    def __len__(self) -> int:
        return len(self.tables)

    # a Dataset reads like the dict of its tables (what multi-table models used to return)
    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def keys(self) -> KeysView[str]:
        return self.tables.keys()

    def values(self) -> ValuesView[pd.DataFrame]:
        return self.tables.values()

    def items(self) -> ItemsView[str, pd.DataFrame]:
        return self.tables.items()

    def get(self, name: str, default: Any = None) -> Any:
        return self.tables.get(name, default)

    @property
    def table_names(self) -> list[str]:
        return list(self.tables)

    def children_of(self, table: str) -> list[Relationship]:
        return [r for r in self.relationships if r.parent_table == table]

    def parents_of(self, table: str) -> list[Relationship]:
        return [r for r in self.relationships if r.child_table == table]

    def shape(self) -> dict[str, tuple[int, int]]:
        return {name: df.shape for name, df in self.tables.items()}

    def root(self) -> tuple[str, str]:
        """The table every relationship leads back to, and its primary key."""
        children = {r.child_table for r in self.relationships}
        roots = [t for t in self.tables if t not in children and t in self.primary_keys]
        if not roots:
            raise ConfigError("the dataset has no root table (one with a primary key that is nobody's child)")
        return roots[0], self.primary_keys[roots[0]]

    # -- checks -----------------------------------------------------------------------------
    def validate(self) -> ValidationReport:
        """Duplicate/missing primary keys, orphan foreign keys and repeated sequence steps, as counts."""
        report = ValidationReport()
        for tname, key in self.primary_keys.items():
            col = self.tables[tname][key]
            missing = int(col.isna().sum())
            if missing:
                report.missing_keys[tname] = missing
            dup = int(col.dropna().duplicated(keep=False).sum())
            if dup:
                report.duplicate_keys[tname] = dup
        for rel in self.relationships:
            parent = self.tables[rel.parent_table][rel.parent_key].dropna()
            child = self.tables[rel.child_table][rel.child_key].dropna()
            orphan = ~_as_key(child).isin(set(_as_key(parent)))
            n = int(orphan.sum())
            if n:
                report.orphans.append(
                    {**rel.model_dump(), "count": n, "share": round(n / max(len(child), 1), 6)}
                )
        for tname, (entity, time) in self.sequence_keys.items():
            dup = int(self.tables[tname].duplicated([entity, time], keep=False).sum())
            if dup:
                report.duplicate_steps[tname] = dup
        return report


def _as_key(values: pd.Series) -> pd.Series:
    """Compare keys by text so ``7`` (int) in one table matches ``"7"`` in another."""
    if pd.api.types.is_float_dtype(values.dtype):
        if bool((values % 1 == 0).all()):
            return values.astype("Int64").astype(str)
        return values.astype(str)
    return values.astype(str)
