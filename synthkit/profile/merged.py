"""Metadata from a merged :class:`~synthkit.profile.sketch.TableSketch` (tables larger than memory).

Counts, missing shares, cardinalities, extremes, means, category counts and value sets come from
the sketch, i.e. from every row; quantiles come from its quantile summary (within its stated rank
error). What needs to look at values — the kind of a text column, PII classes, date formats — is
decided on the sketch's seeded row sample with the same rules :func:`synthkit.profile.profile`
uses, and cardinality rules (codes vs numbers, unique ids) are re-applied with the full counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthkit.meta import ColumnMeta, Metadata, TableMeta
from synthkit.profile.profiler import profile_column
from synthkit.profile.sketch import ColumnSketch, TableSketch
from synthkit.profile.stats import _PII_QUANTILES, _QUANTILES, MAX_VALUE_SET, MIN_CATEGORY_COUNT, TOP_K, _num

__all__ = ["profile_sketch"]

_MAX_NUMERIC_CODES = 10


def profile_sketch(sketch: TableSketch, name: str = "table") -> Metadata:
    """Single-table metadata of all the rows a sketch summarizes."""
    columns = [_column(sketch.columns[c], sketch.sample[c], sketch.rows) for c in sketch.columns]
    return Metadata.single(TableMeta(name=name, columns=columns, n_rows=sketch.rows))


def _column(sk: ColumnSketch, sample: pd.Series, rows: int) -> ColumnMeta:
    base = profile_column(sample.reset_index(drop=True), sk.name)
    kind = _kind(sk, base.kind)
    stats: dict[str, Any] = {
        "count": sk.present,
        "constant": sk.distinct <= 1,
        "near_unique": bool(sk.present >= 20 and sk.distinct >= 0.95 * sk.present),
    }
    if sk.present:
        if kind == "numerical":
            stats.update(_numeric(sk, base.pii))
        elif kind == "datetime" and sk.family == "datetime":
            stats.update(_datetime(sk, base.pii))
        elif kind == "boolean":
            stats["true_share"] = round(_true_share(sk), 6)
        elif kind == "categorical" and base.pii == "none" and sk.categories is not None:
            stats.update(_categorical(sk))
        elif kind == "text" and base.pii == "none":
            stats["mean_length"] = round(sk.length_sum / sk.present, 3)
            stats["max_length"] = sk.length_max
        elif kind == base.kind:
            stats.update({k: v for k, v in base.stats.items() if k not in stats})  # from the sample
    subtype = base.subtype
    if kind == "numerical" and sk.family == "numeric":
        subtype = "integer" if sk.integral else "float"
    return base.model_copy(update={
        "kind": kind, "subtype": subtype, "dtype": sk.dtype, "missing_share": round(sk.missing / rows, 6) if rows else 0.0,
        "cardinality": sk.distinct, "stats": stats,
    })


def _kind(sk: ColumnSketch, sampled: str) -> str:
    """The sample's kind, with the rules that depend on full counts re-applied to the sketch."""
    if sk.family != "numeric" or sampled not in ("numerical", "categorical", "boolean"):
        return sampled
    keys = set(sk.categories or {})
    if sk.distinct == 2 and sk.integral and keys <= {0.0, 1.0}:
        return "boolean"
    if sampled == "categorical" and sk.categories is not None and len(keys) <= _MAX_NUMERIC_CODES and not sk.integral:
        return "numerical"
    if sampled == "numerical" and sk.integral and sk.distinct <= _MAX_NUMERIC_CODES and sk.distinct < max(3, 0.01 * sk.present):
        return "categorical"
    if sampled == "categorical" and sk.integral and sk.categories is not None and sk.distinct > _MAX_NUMERIC_CODES:
        return "numerical"
    return sampled


def _true_share(sk: ColumnSketch) -> float:
    if sk.family == "boolean":
        return sk.trues / sk.present
    cats = sk.categories or {}
    truthy = sum(v for k, v in cats.items() if str(k).lower() in {"true", "1", "1.0", "yes", "y", "t"})
    return truthy / sk.present


def _numeric(sk: ColumnSketch, pii: str) -> dict[str, Any]:
    n = sk.present
    out: dict[str, Any] = {
        "numeric_type": "discrete" if sk.integral and sk.distinct <= max(50, 0.05 * n) else "continuous",
        "mean": _num(sk.mean),
        "std": _num(sk.std) if n > 1 else 0.0,
        "zero_share": round(sk.zeros / n, 6),
    }
    qs = _PII_QUANTILES if pii != "none" else _QUANTILES
    out["quantiles"] = {str(q): _num(v) for q, v in zip(qs, sk.quantiles(qs), strict=True)}
    if pii == "none":
        out["min"], out["max"] = _num(sk.minimum), _num(sk.maximum)
        out["integer"] = sk.integral
    return out


def _datetime(sk: ColumnSketch, pii: str) -> dict[str, Any]:
    qs = _PII_QUANTILES if pii != "none" else (0.25, 0.5, 0.75)
    tz = sk.dtype.split(", ", 1)[1].rstrip("]") if ", " in sk.dtype else None

    def iso(ns: float) -> str:
        stamp = pd.Timestamp(int(ns), unit="ns")
        return (stamp.tz_localize("UTC").tz_convert(tz) if tz else stamp).isoformat()

    out: dict[str, Any] = {
        "quantiles": {str(q): iso(v) for q, v in zip(qs, sk.quantiles(qs), strict=True)},
        "timezone": tz,
        "date_only": sk.date_only,
    }
    if pii == "none":
        out["min"], out["max"] = iso(sk.minimum or 0), iso(sk.maximum or 0)
    return out


def _categorical(sk: ColumnSketch) -> dict[str, Any]:
    cats = sk.categories or {}
    integer = sk.family == "numeric" and "int" in sk.dtype.lower()
    counts = pd.Series({_text(k, integer): v for k, v in cats.items()}, dtype="int64").sort_values(ascending=False, kind="stable")
    n = int(counts.sum())
    shown = counts[counts >= MIN_CATEGORY_COUNT]
    out: dict[str, Any] = {
        "top": [{"value": str(v), "count": int(c), "share": round(c / n, 6)} for v, c in shown.iloc[:TOP_K].items()],
        "rare_share": round(float(counts[counts < MIN_CATEGORY_COUNT].sum() / n), 6),
    }
    if len(counts) <= MAX_VALUE_SET and len(shown) == len(counts):
        if sk.family == "numeric":
            out["values"] = [int(v) if float(v).is_integer() else float(v) for v in sorted(float(k) for k in cats)]
        else:
            out["values"] = sorted(_text(k, integer) for k in cats)
    return out


def _text(value: Any, integer: bool) -> str:
    """Category keys as text the way pandas' ``astype(str)`` spells them (3 in an int column, 1.0 in a float one)."""
    if integer and isinstance(value, float) and np.isfinite(value):
        return str(int(value))
    return str(value)
