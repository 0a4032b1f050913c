"""Build :class:`Metadata` from data.

First version: kinds, subtypes, missing shares and cardinalities. PII detection, statistics,
keys and relationships are layered on here (see ``synthkit.profile.pii``) as they land.
"""

from __future__ import annotations

import pandas as pd

from synthkit.errors import DataError
from synthkit.profile.infer import infer_kind, numeric_subtype
from synthkit.profile.metadata import ColumnMeta, Metadata, TableMeta

__all__ = ["profile", "profile_table"]


def profile_table(df: pd.DataFrame, name: str = "table") -> TableMeta:
    """Profile one DataFrame into a :class:`TableMeta`."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if df.columns.duplicated().any():
        dupes = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise DataError(f"table {name!r} has duplicate column names: {dupes}")
    columns = []
    n = len(df)
    for col in df.columns:
        series = df[col]
        kind = infer_kind(series)
        columns.append(
            ColumnMeta(
                name=str(col),
                kind=kind,  # type: ignore[arg-type]
                subtype=numeric_subtype(series) if kind == "numerical" else None,
                dtype=str(series.dtype),
                missing_share=float(series.isna().mean()) if n else 0.0,
                cardinality=int(series.nunique(dropna=True)),
            )
        )
    return TableMeta(name=name, columns=columns, n_rows=n)


def profile(data: pd.DataFrame, name: str = "table") -> Metadata:
    """Profile a DataFrame into single-table :class:`Metadata`."""
    return Metadata.single(profile_table(data, name=name))
