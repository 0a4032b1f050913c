"""Template context for the data engineer's sections: GE validation results and run details.

Like :mod:`synthkit.report.sections`, every lookup tolerates missing keys. GE results are reduced to
counts and shares, because raw GE output lists unexpected values and observed extremes.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from synthkit.report import svg
from synthkit.report.explain import as_number, fmt_value

__all__ = ["run_section", "validation_section"]


# -- validation --------------------------------------------------------------------------------

# Only aggregate fields of a GE result are shown: observed min/max or value lists could hold (copies
# of) real extreme values, and expectation kwargs built from the real data hold raw categories.
_SAFE_DETAIL_KEYS = ("element_count", "unexpected_count", "unexpected_percent", "missing_count", "missing_percent")
_SAFE_OBSERVED = ("mean", "median", "stdev", "std", "proportion", "row_count", "unique_value_count", "lengths", "null")


_COUNT_TEXT = re.compile(r"\d+ of \d+ values unexpected \([\d.]+%\)")
_DTYPE_TEXT = re.compile(r"[a-z]+[0-9]*(\[[a-z0-9, ]+\])?|\d+ columns")


def _details(expectation: str, details: Any) -> str:
    """Aggregate part of a GE result: counts and shares; observed values only for safe statistics."""
    safe_observed = any(s in expectation for s in _SAFE_OBSERVED)
    if isinstance(details, str):  # synthkit.profile.expectations.validate writes one-line summaries
        text = details.strip()
        if _COUNT_TEXT.fullmatch(text) or text in ("ok", "failed"):
            return text
        if text.startswith("observed "):
            obs = text[len("observed "):]
            if _DTYPE_TEXT.fullmatch(obs) and ("type" in expectation or "table_column" in expectation):
                return text
            number = as_number(_to_float(obs))
            if number is not None and safe_observed:
                return f"observed: {fmt_value(number)}"
        if text.startswith("error"):
            return "the expectation raised an error (see validation.json)"
        return ""
    if not isinstance(details, dict):
        return ""
    parts = []
    for key in _SAFE_DETAIL_KEYS:
        v = as_number(details.get(key))
        if v is not None:
            shown = f"{v:.3g}%" if key.endswith("percent") else fmt_value(v)
            parts.append(f"{key.replace('_', ' ')}: {shown}")
    obs = details.get("observed_value")
    if as_number(obs) is not None and safe_observed:
        parts.append(f"observed: {fmt_value(obs)}")
    return "; ".join(parts)


def _to_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def validation_section(validation: dict[str, Any] | None, sensitive: set[str]) -> dict[str, Any]:
    if not isinstance(validation, dict):
        return {"computed": False, "reason": "no Great Expectations results were passed to the report"}
    results = []
    for r in validation.get("results") or []:
        if not isinstance(r, dict):
            continue
        col = r.get("column")
        exp = str(r.get("expectation") or "")
        results.append({
            "expectation": exp,
            "column": col or "(table)",
            "success": bool(r.get("success")),
            "details": "" if col in sensitive else _details(exp, r.get("details")),
        })
    results.sort(key=lambda r: (r["success"], r["column"]))
    by_column: dict[str, dict[str, Any]] = {}
    for r in results:
        entry = by_column.setdefault(r["column"], {"column": r["column"], "met": 0, "total": 0, "failed": []})
        entry["total"] += 1
        entry["met"] += r["success"]
        if not r["success"]:
            entry["failed"].append(r["expectation"])
    pct = validation.get("success_percent")
    return {
        "computed": True,
        "success": validation.get("success"),
        "evaluated": fmt_value(validation.get("evaluated")),
        "successful": fmt_value(validation.get("successful")),
        "percent": fmt_value(float(pct) / 100 if as_number(pct) is not None else None, True),
        "failures": [r for r in results if not r["success"]],
        "columns": sorted(by_column.values(), key=lambda e: (e["met"] == e["total"], e["column"])),
        "failed": sum(not r["success"] for r in results),
    }


# -- run details -------------------------------------------------------------------------------


def _pretty(obj: Any) -> str:
    if obj is None:
        return ""
    if isinstance(obj, str):
        return obj
    try:
        return yaml.safe_dump(json.loads(json.dumps(obj, default=str)), sort_keys=False, default_flow_style=False).strip()
    except Exception:  # noqa: BLE001 - any odd config object still gets shown as JSON
        return json.dumps(obj, indent=2, default=str)


def _rows_text(v: Any) -> str:
    if isinstance(v, dict):
        return " · ".join(f"{k} {fmt_value(n)}" for k, n in v.items())
    return fmt_value(v)


def run_section(metrics: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    meta = metrics.get("meta") if isinstance(metrics.get("meta"), dict) else {}
    stage_items = [(str(k), float(v)) for k, v in (run.get("timings") or {}).items() if as_number(v) is not None]
    eval_items = [(str(k), float(v)) for k, v in (meta.get("seconds") or {}).items() if as_number(v) is not None]
    rows = meta.get("rows") or {}
    facts = [
        ("dataset", run.get("dataset")),
        ("model", run.get("model")),
        ("engine", run.get("engine")),
        ("evaluation samples", run.get("evaluation_samples")),
        ("seed", run.get("seed", meta.get("seed"))),
        ("training rows", fmt_value(rows.get("real"))),
        ("holdout rows", fmt_value(rows.get("holdout"))),
        ("synthetic rows", fmt_value(rows.get("synthetic"))),
        ("rows evaluated", _rows_text(meta.get("evaluated_rows"))),
        ("subsampled for evaluation", meta.get("subsampled")),
        ("synthkit version", meta.get("synthkit_version") or (run.get("versions") or {}).get("synthkit")),
        ("distance encoding", meta.get("encoding")),
    ]
    return {
        "facts": [(k, v) for k, v in facts if v not in (None, "", "—")],
        "model_params": _pretty(run.get("model_params")),
        "config": _pretty(run.get("config")),
        "timings_svg": svg.hbars(stage_items, title="seconds per stage", fmt="{:.1f} s") if stage_items else "",
        "eval_timings_svg": svg.hbars(eval_items, title="seconds per metric family", fmt="{:.1f} s") if eval_items else "",
        "versions": sorted((str(k), str(v)) for k, v in (run.get("versions") or {}).items()),
        "excluded": [(str(k), str(v)) for k, v in (meta.get("excluded_columns") or {}).items()],
        "selection": selection_section((meta.get("pipeline") or {}).get("model_selection")),
    }


def selection_section(selection: Any) -> dict[str, Any] | None:
    """``model: auto``'s measured choice: every candidate's validation scores and the reason (aggregates only)."""
    if not isinstance(selection, dict) or not selection.get("chosen"):
        return None
    rows = []
    for c in selection.get("candidates") or []:
        rows.append({"model": c.get("model"), "status": c.get("status"),
                     "score": fmt_value(c.get("score")), "shapes": fmt_value(c.get("column_shapes")),
                     "trends": fmt_value(c.get("column_pair_trends")), "detection": fmt_value(c.get("detection_auc")),
                     "utility": fmt_value(c.get("utility")),
                     "dcr": fmt_value(c.get("dcr_share")), "note": c.get("note") or c.get("stop_reason") or "",
                     "chosen": c.get("model") == selection["chosen"]})
    return {"chosen": selection["chosen"], "reason": selection.get("reason", ""), "rows": rows,
            "budget": selection.get("budget_minutes"), "validation_rows": selection.get("validation_rows"),
            "selection_rows": selection.get("selection_rows"), "target": selection.get("target")}
