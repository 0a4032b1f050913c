"""The end-of-run summary a person reads on the terminal after ``synthkit run``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["summary_table"]


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def summary_table(result: dict[str, Any]) -> str:
    """The end-of-run summary: headline numbers (3 decimals), gates, timings and where the report is."""
    head = result.get("headline") or {}
    rows = [("fidelity", head.get("fidelity")), ("privacy", head.get("privacy_verdict")), ("utility", head.get("utility"))]
    rows += [(f"gate {g['gate']}", f"{'pass' if g['passed'] else 'FAIL'} (value {_fmt(g['value'])})") for g in result.get("gates", [])]
    total = sum((result.get("timings") or {}).values())
    rows.append(("time", f"{total:.1f} s"))
    width = max(len(name) for name, _ in rows)
    lines = [f"{result['name']}: {result['status']}", f"  {'metric':<{width}}  value", f"  {'':-<{width}}  {'':-<12}"]
    lines += [f"  {name:<{width}}  {_fmt(value) if value is not None else '-'}" for name, value in rows]
    if result.get("leaks"):
        lines.append(f"  LEAKAGE AUDIT FAILED: {len(result['leaks'])} finding(s); see audit.json (sink skipped)")
    if result["status"] == "sink_failed":
        lines.append("  SINK FAILED: the run folder is committed, the sink's tables are unchanged (see .synthkit-run)")
    out = Path(result["output_dir"])
    report = out / result["files"]["report"] if "report" in result.get("files", {}) else None
    lines.append(f"outputs: {out}" + (f"\nreport:  {report}" if report else ""))
    return "\n".join(lines)
