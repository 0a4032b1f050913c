"""Great Expectations suites from :class:`Metadata`, and validation of any DataFrame against them.

The suite encodes what the profile knows (column order, types, null shares, ranges, value sets,
unique keys) so that the real data passes 100 % and synthetic output can be checked the same
way. GE runs offline: analytics are disabled through ``GX_ANALYTICS_ENABLED`` before GE is first
imported, and every run uses an ephemeral (in-memory) context. GE is imported lazily because it
takes seconds to import.

Result summaries hold counts only: GE's ``partial_unexpected_list`` (raw values) is dropped, so a
validation summary can go into a shareable report.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from synthkit.errors import ConfigError, DataError
from synthkit.meta import Metadata, TableMeta
from synthkit.utils.jsonfile import read_json
from synthkit.utils.atomic import write_json

__all__ = ["build_suite", "load_suite", "save_suite", "validate"]

log = logging.getLogger(__name__)

_NUMERIC = ["int", "float", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
            "float16", "float32", "float64", "Int8", "Int16", "Int32", "Int64", "Float32", "Float64", "long", "double"]
_BOOL = ["bool", "bool_", "boolean", "BooleanDtype"]
_DATETIME = ["datetime64", "datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]", "Timestamp", "datetime"]
_TEXT = ["str", "object", "string", "StringDtype", "category", "CategoricalDtypeType"]
# an object column may hold Python scalars of several types (GE checks each value's type name)
_OBJECT_VALUES = ["int", "float", "bool", "Decimal", "date", "datetime", "Timestamp", "list", "dict"]
# share of rows a null-share expectation may miss by (absolute): synthetic data need not match to 1e-6
_NULL_SLACK = 0.01


def _gx() -> Any:
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    return gx


def _type_list(kind: str, dtype: str | None) -> list[str]:
    types: list[str] = []
    for family, members in (("numeric", _NUMERIC), ("bool", _BOOL), ("datetime", _DATETIME), ("text", _TEXT)):
        by_kind = {"numerical": "numeric", "boolean": "bool", "datetime": "datetime"}.get(kind, "text")
        by_dtype = _dtype_family(dtype)
        if family in (by_kind, by_dtype):
            types += members
    if kind in ("categorical", "id") and _dtype_family(dtype) == "numeric":
        types += _NUMERIC
    if (dtype or "object") == "object":
        types += _OBJECT_VALUES
    return sorted(set(types))


def _dtype_family(dtype: str | None) -> str:
    d = (dtype or "object").lower()
    if d.startswith("bool"):
        return "bool"
    if d.startswith(("int", "uint", "float")):
        return "numeric"
    if d.startswith("datetime"):
        return "datetime"
    return "text"


def build_suite(metadata: Metadata, table: str | None = None, name: str | None = None) -> Any:
    """A GE ``ExpectationSuite`` for one table of ``metadata`` (the only table when None)."""
    gx = _gx()
    import great_expectations.expectations as gxe

    meta = metadata.table(table)
    expectations = [gxe.ExpectTableColumnsToMatchOrderedList(column_list=meta.column_names)]
    for col in meta.columns:
        expectations += _column_expectations(gxe, col, meta)
    # passing the list to the constructor avoids GE's "save to the active context" path
    return gx.ExpectationSuite(name=name or f"synthkit.{meta.name}", expectations=expectations)


def _column_expectations(gxe: Any, col: Any, meta: TableMeta) -> list[Any]:
    out = [gxe.ExpectColumnValuesToBeInTypeList(column=col.name, type_list=_type_list(col.kind, col.dtype))]
    if col.missing_share == 0:
        out.append(gxe.ExpectColumnValuesToNotBeNull(column=col.name))
    elif col.missing_share < 1:
        mostly = max(0.0, math.floor((1 - col.missing_share - _NULL_SLACK) * 1e6) / 1e6)
        if mostly > 0:
            out.append(gxe.ExpectColumnValuesToNotBeNull(column=col.name, mostly=mostly))
    stats = col.stats
    if col.kind == "numerical" and not col.is_pii and "min" in stats:
        out.append(gxe.ExpectColumnValuesToBeBetween(column=col.name, min_value=stats["min"], max_value=stats["max"]))
    elif col.kind == "numerical" and col.is_pii and "quantiles" in stats:
        q = stats["quantiles"]
        out.append(gxe.ExpectColumnValuesToBeBetween(column=col.name, min_value=q["0.05"], max_value=q["0.95"], mostly=0.89))
    elif col.kind == "boolean" and _dtype_family(col.dtype) == "bool":
        out.append(gxe.ExpectColumnValuesToBeInSet(column=col.name, value_set=[True, False]))
    elif col.kind == "categorical" and not col.is_pii and stats.get("values") and not str(col.dtype).startswith(("Int", "Float")):
        out.append(gxe.ExpectColumnValuesToBeInSet(column=col.name, value_set=list(stats["values"])))
    if col.name == meta.primary_key:
        out.append(gxe.ExpectColumnValuesToBeUnique(column=col.name))
    return out


def save_suite(suite: Any, path: str | Path) -> Path:
    """Write a suite as GE's JSON, atomically."""
    return write_json(path, suite.to_json_dict())


def load_suite(path_or_dict: str | Path | dict[str, Any]) -> Any:
    """A suite from a JSON file written by :func:`save_suite` (or its dict)."""
    gx = _gx()
    data = path_or_dict
    if not isinstance(data, dict):
        data = read_json(data, "expectation suite", ConfigError)
    try:
        return gx.ExpectationSuite(**data)
    except Exception as exc:  # noqa: BLE001  GE raises many types for a malformed suite
        raise ConfigError(f"invalid expectation suite: {str(exc).splitlines()[0][:200]}") from None


def validate(df: pd.DataFrame, suite_or_metadata: Any, table: str | None = None) -> dict[str, Any]:
    """Validate ``df`` with GE; returns a compact JSON-ready summary (counts, no raw values).

    ``suite_or_metadata`` is a GE suite, a :class:`Metadata`, a suite dict or a suite JSON path.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame to validate, got {type(df).__name__}")
    gx = _gx()
    if isinstance(suite_or_metadata, Metadata):
        suite = build_suite(suite_or_metadata, table=table)
    elif isinstance(suite_or_metadata, (str, Path, dict)):
        suite = load_suite(suite_or_metadata)
    else:
        suite = suite_or_metadata
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = context.suites.add(gx.ExpectationSuite(**suite.to_json_dict()))
    batch_def = context.data_sources.add_pandas("synthkit").add_dataframe_asset("data").add_batch_definition_whole_dataframe("all")
    result = batch_def.get_batch(batch_parameters={"dataframe": _ge_frame(df)}).validate(suite)
    return _summarise(result)


def _ge_frame(df: pd.DataFrame) -> pd.DataFrame:
    """GE's type check rejects timezone-aware timestamps; compare them as naive UTC instead."""
    tz_cols = [c for c in df.columns if isinstance(df[c].dtype, pd.DatetimeTZDtype)]
    if not tz_cols:
        return df
    out = df.copy()
    for col in tz_cols:
        out[col] = out[col].dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def _summarise(result: Any) -> dict[str, Any]:
    rows = []
    for r in result.results:
        cfg = r.expectation_config
        rows.append({
            "expectation": cfg.type,
            "column": cfg.kwargs.get("column"),
            "success": bool(r.success),
            "details": _details(r),
        })
    stats = result.statistics
    return {
        "success": bool(result.success),
        "evaluated": int(stats["evaluated_expectations"]),
        "successful": int(stats["successful_expectations"]),
        "success_percent": float(stats["success_percent"] or 0.0),
        "results": rows,
    }


def _details(r: Any) -> str:
    info = r.exception_info or {}
    if isinstance(info, dict) and info.get("raised_exception"):
        return f"error: {str(info.get('exception_message'))[:200]}"
    res = r.result or {}
    if "unexpected_count" in res and res.get("element_count") is not None:
        n, bad = res["element_count"], res["unexpected_count"]
        share = 100.0 * bad / n if n else 0.0
        return f"{bad} of {n} values unexpected ({share:.2f}%)"
    observed = res.get("observed_value")
    if isinstance(observed, (str, int, float, bool)):
        return f"observed {observed}"
    if isinstance(observed, list):
        return f"observed {len(observed)} columns"
    return "ok" if r.success else "failed"
