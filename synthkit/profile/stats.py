"""Per-column statistics: aggregates only, never a row.

For PII columns no extremes are kept (a minimum birth date *is* somebody's birth date): only
interior quantiles (5 %..95 %). Category lists are kept only for non-PII columns, and a category
is listed only when at least ``MIN_CATEGORY_COUNT`` rows share it, so a rare value (one person's
job title) never reaches a profile or report. Low-cardinality value sets (all values, each with
at least ``MIN_CATEGORY_COUNT`` rows) back the value-set expectations of the GE suite.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthkit.profile.names import ColumnFacts, column_facts

__all__ = ["MAX_VALUE_SET", "MIN_CATEGORY_COUNT", "TOP_K", "column_stats"]

MIN_CATEGORY_COUNT = 5
MAX_VALUE_SET = 50
TOP_K = 10
_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
_PII_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def column_stats(series: pd.Series, kind: str, pii: str = "none", facts: ColumnFacts | None = None) -> dict[str, Any]:
    """JSON-ready statistics of one column (see module docstring for what is withheld)."""
    n = len(series)
    facts = facts or column_facts(series)
    present, nunique = facts.present, facts.nunique
    stats: dict[str, Any] = {
        "count": len(present),
        "constant": nunique <= 1,
        "near_unique": bool(len(present) >= 20 and nunique >= 0.95 * len(present)),
    }
    if n == 0 or present.empty:
        return stats
    if kind == "numerical":
        stats.update(_numeric(present, pii))
    elif kind == "datetime":
        stats.update(_datetime(present, pii))
    elif kind == "boolean":
        stats["true_share"] = round(float(_truthy(present).mean()), 6)
    elif kind == "categorical" and pii == "none":
        stats.update(_categorical(present, nunique))
    elif kind == "text" and pii == "none":
        lengths = present.astype(str).str.len()
        stats["mean_length"] = round(float(lengths.mean()), 3)
        stats["max_length"] = int(lengths.max())
    return stats


def _numeric(values: pd.Series, pii: str) -> dict[str, Any]:
    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    arr = arr[np.isfinite(arr)]
    if not len(arr):
        return {}
    integral = bool(np.all(np.floor(arr) == arr))
    nunique = len(np.unique(arr))
    out: dict[str, Any] = {
        "numeric_type": "discrete" if integral and nunique <= max(50, 0.05 * len(arr)) else "continuous",
        "mean": _num(arr.mean()),
        "std": _num(arr.std(ddof=1)) if len(arr) > 1 else 0.0,
        "zero_share": round(float(np.mean(arr == 0)), 6),
    }
    qs = _PII_QUANTILES if pii != "none" else _QUANTILES
    out["quantiles"] = {str(q): _num(v) for q, v in zip(qs, np.quantile(arr, qs), strict=True)}
    if pii == "none":
        out["min"], out["max"] = _num(arr.min()), _num(arr.max())
        out["integer"] = integral
    return out


def _datetime(values: pd.Series, pii: str) -> dict[str, Any]:
    dt = values if pd.api.types.is_datetime64_any_dtype(values.dtype) else pd.to_datetime(values, errors="coerce", utc=True)
    dt = dt.dropna()
    if dt.empty:
        return {}
    qs = _PII_QUANTILES if pii != "none" else (0.25, 0.5, 0.75)
    ints = dt.astype("int64") if getattr(dt.dtype, "tz", None) is None else dt.dt.tz_convert("UTC").dt.tz_localize(None).astype("int64")
    unit = np.datetime_data(dt.dtype if getattr(dt.dtype, "tz", None) is None else dt.dt.tz_localize(None).dtype)[0]
    quants = np.quantile(ints.to_numpy(dtype=float), qs)
    out: dict[str, Any] = {
        "quantiles": {str(q): pd.Timestamp(int(v), unit=unit).isoformat() for q, v in zip(qs, quants, strict=True)},
        "timezone": str(getattr(dt.dtype, "tz", None)) if getattr(dt.dtype, "tz", None) else None,
        "date_only": bool((dt.dt.normalize() == dt).all()),
    }
    if pii == "none":
        out["min"], out["max"] = dt.min().isoformat(), dt.max().isoformat()
    return out


def _categorical(values: pd.Series, nunique: int) -> dict[str, Any]:
    counts = values.astype(str).value_counts()
    n = int(counts.sum())
    shown = counts[counts >= MIN_CATEGORY_COUNT]
    out: dict[str, Any] = {
        "top": [{"value": str(v), "count": int(c), "share": round(c / n, 6)} for v, c in shown.iloc[:TOP_K].items()],
        "rare_share": round(float(counts[counts < MIN_CATEGORY_COUNT].sum() / n), 6),
    }
    if nunique <= MAX_VALUE_SET and len(shown) == nunique:
        out["values"] = _typed_values(values)
    return out


def _typed_values(values: pd.Series) -> list[Any]:
    """The distinct values as JSON natives of the column's type (GE compares typed values)."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        uniq = np.unique(values.to_numpy(dtype=float))
        return [int(v) if float(v).is_integer() else float(v) for v in uniq]
    return sorted(str(v) for v in pd.unique(values.astype(str)))


def _truthy(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype(bool)
    return values.astype(str).str.lower().isin({"true", "1", "yes", "y", "t"})


def _num(value: float) -> float:
    return float(round(float(value), 10))
