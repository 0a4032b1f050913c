"""Render the evaluation report and the profile-only report as single self-contained HTML files.

Both reports share one base layout (inline CSS, inline SVG, a Content-Security-Policy that forbids
any network fetch), so they open offline in any browser and print cleanly to PDF.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

import synthkit
from synthkit.errors import ConfigError, DataError
from synthkit.evaluate.schema import validate_metrics
from synthkit.meta import ColumnMeta, Metadata, TableMeta
from synthkit.report.aggregates import association_views, column_view, is_sensitive
from synthkit.report.details import run_section, validation_section
from synthkit.report.temporal import temporal_section
from synthkit.report.sections import (
    fidelity_scores,
    privacy_section,
    summary_section,
    utility_section,
)
from synthkit.utils.atomic import write_text

log = logging.getLogger(__name__)

__all__ = ["render_profile_report", "render_report"]

_KIND_ORDER = ("numerical", "categorical", "boolean", "datetime", "id", "text")


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("synthkit.report", "templates"),
        autoescape=select_autoescape(["html", "htm"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def _check(real: Any, metadata: Any, k: Any, what: str) -> list[ColumnMeta]:
    if not isinstance(real, pd.DataFrame):
        raise DataError(f"{what} must be a pandas DataFrame, got {type(real).__name__}")
    if not isinstance(metadata, Metadata):
        raise ConfigError(f"metadata must be a synthkit Metadata, got {type(metadata).__name__}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"k (minimum group size shown in charts) must be a positive integer, got {k!r}")
    table = _table_for(metadata, real)
    metas = [c for c in table.columns if c.name in real.columns]
    if not metas:
        raise DataError(f"none of the metadata columns {table.column_names[:5]}… are in the {what}")
    return metas


def _table_for(metadata: Metadata, frame: pd.DataFrame) -> TableMeta:
    """The only table, or for multi-table metadata the one whose columns the frame matches best."""
    if len(metadata.tables) == 1:
        return metadata.table()
    cols = {str(c) for c in frame.columns}
    return max(metadata.tables.values(), key=lambda t: len(cols & set(t.column_names)))


def _kinds(metas: list[ColumnMeta]) -> dict[str, int]:
    out: dict[str, int] = {}
    for m in metas:
        out[m.kind] = out.get(m.kind, 0) + 1
    return {k: out[k] for k in _KIND_ORDER if k in out}


def _pii_columns(metas: list[ColumnMeta], metrics: dict[str, Any], run: dict[str, Any]) -> list[dict[str, str]]:
    """Detected PII / identifier / text columns and how the synthetic data replaced them."""
    flagged = {m.name: m for m in metas if is_sensitive(m)}
    extra = _as_list((metrics.get("privacy") or {}).get("pii_columns") if isinstance(metrics.get("privacy"), dict) else None)
    handling = run.get("pii_handling") or {}
    out = []
    for name in list(dict.fromkeys([*flagged, *extra])):
        m = flagged.get(name)
        kind = m.pii if m is not None and m.pii != "none" else (m.kind if m is not None else "pii")
        if m is not None and m.pii == "none" and m.kind == "id":
            default = "regenerated as new unique identifiers (never learned)"
        elif m is not None and m.pii == "none" and m.kind == "text":
            default = "regenerated as placeholder text (never learned)"
        else:
            default = f"replaced with fake {kind} values (never learned)"
        out.append({"name": name, "kind": kind, "handling": str(handling.get(name) or default)})
    return out


def _as_list(v: Any) -> list[str]:
    return [str(x) for x in v] if isinstance(v, (list, tuple)) else []


def render_report(
    path: str | Path,
    *,
    metrics: dict[str, Any],
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    metadata: Metadata,
    validation: dict[str, Any] | None = None,
    run: dict[str, Any] | None = None,
    k: int = 10,
) -> Path:
    """Write ``report.html``: verdict, privacy, fidelity, utility, validation and run details.

    ``real`` is used for aggregates only (quantile-binned histograms with bins of fewer than ``k``
    real rows merged, categories seen fewer than ``k`` times pooled, association matrices); no
    real row, raw minimum/maximum or PII value is ever written. ``metrics`` is ``metrics.json`` as
    :mod:`synthkit.evaluate.schema` defines it (checked: a mistyped or undeclared key is a
    ``ConfigError`` naming it), or ``{}`` for a report without evaluation.
    """
    metas = _check(real, metadata, k, "real data")
    if not isinstance(synthetic, pd.DataFrame):
        raise DataError(f"synthetic data must be a pandas DataFrame, got {type(synthetic).__name__}")
    if not isinstance(metrics, dict):
        raise ConfigError(f"metrics must be the metrics.json dict, got {type(metrics).__name__}")
    if metrics:  # {} = nothing evaluated; anything else must be a metrics.json as the schema defines it
        validate_metrics(metrics, what="metrics", error=ConfigError)
    run = dict(run or {})
    fid = fidelity_scores(metrics)
    views = []
    for m in metas:
        view = column_view(m, real[m.name], synthetic[m.name] if m.name in synthetic.columns else None, k)
        views.append({"view": view, "score": fid["columns"].get(m.name)})
    plain = [m for m in metas if not is_sensitive(m)]
    context = {
        "title": f"Synthetic data report — {run.get('dataset') or _table_for(metadata, real).name}",
        "kind": "report",
        "version": synthkit.__version__,
        "generated_at": run.get("generated_at"),
        "k": k,
        "summary": summary_section(metrics, run, len(metas), _kinds(metas)),
        "privacy": privacy_section(metrics, _pii_columns(metas, metrics, run)),
        "fidelity": fid,
        "columns": views,
        "assoc": association_views(real, synthetic, plain),
        "utility": utility_section(metrics),
        "sequences": temporal_section(metrics),
        "validation": validation_section(validation, {m.name for m in metas if is_sensitive(m)}),
        "run": run_section(metrics, run),
    }
    html = _env().get_template("report.html").render(**context)
    log.info("report: %s (%.0f kB)", path, len(html) / 1024)
    return write_text(path, html)


def render_profile_report(path: str | Path, *, data: pd.DataFrame, metadata: Metadata, k: int = 10) -> Path:
    """Write a profile-only report (schema, per-column distributions, associations) of ``data``."""
    metas = _check(data, metadata, k, "data")
    table = _table_for(metadata, data)
    views = [{"view": column_view(m, data[m.name], None, k), "score": None} for m in metas]
    plain = [m for m in metas if not is_sensitive(m)]
    schema = [
        {
            "name": m.name,
            "kind": m.kind,
            "subtype": m.subtype or "",
            "pii": m.pii,
            "missing": f"{100 * float(data[m.name].isna().mean()):.1f}%" if len(data) else "—",
            "cardinality": f"{int(data[m.name].nunique(dropna=True)):,}",
        }
        for m in metas
    ]
    context = {
        "title": f"Data profile — {table.name}",
        "kind": "profile",
        "version": synthkit.__version__,
        "generated_at": None,
        "k": k,
        "table_name": table.name,
        "n_rows": f"{len(data):,}",
        "n_columns": len(metas),
        "kinds": _kinds(metas),
        "primary_key": table.primary_key,
        "schema": schema,
        "pii_columns": _pii_columns(metas, {}, {}),
        "columns": views,
        "assoc": association_views(data, None, plain, size=560),
    }
    html = _env().get_template("profile.html").render(**context)
    return write_text(path, html)
