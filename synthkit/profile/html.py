"""A self-contained HTML page for a profile (``synthkit profile DATA --html profile.html``).

One file, inline CSS, no scripts or network: it can be mailed or attached to a ticket. It shows
only what :class:`Metadata` holds (aggregates), plus an optional GE validation summary from
:func:`synthkit.profile.expectations.validate`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape

from synthkit.meta import Metadata
from synthkit.utils.atomic import write_text

__all__ = ["render_html", "write_html"]

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1200px;color:#1d2733;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:2px solid #e3e8ef;padding-bottom:.3rem}
.muted{color:#66758a}table{border-collapse:collapse;width:100%;margin:.6rem 0}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e9edf2;vertical-align:top}
th{background:#f5f7fa;font-weight:600}.kind{font-family:ui-monospace,monospace;font-size:.85em}
.pill{display:inline-block;border-radius:9px;padding:0 .5rem;font-size:.8em;margin-right:.25rem}
.pii{background:#ffe1e1;color:#9b1c1c}.key{background:#e0ecff;color:#1e4fa3}.seq{background:#e6f6ea;color:#1f6b35}
.bar{background:#e9edf2;height:8px;width:90px;border-radius:4px;display:inline-block;vertical-align:middle}
.bar i{display:block;height:8px;background:#d97706;border-radius:4px}.ok{color:#1f6b35}.fail{color:#9b1c1c}
.small{font-size:.85em}
</style></head><body>
<h1>{{ title }}</h1>
<p class="muted">Metadata version {{ meta.version }} &middot; {{ meta.tables|length }} table(s) &middot;
{{ n_pii }} PII column(s) &middot; {{ meta.relationships|length }} relationship(s). Aggregates only: no row of the data appears here.</p>

{% if meta.relationships %}<h2>Relationships</h2><table><tr><th>child</th><th>refers to</th></tr>
{% for r in meta.relationships %}<tr><td>{{ r.child_table }}.{{ r.child_key }}</td><td>{{ r.parent_table }}.{{ r.parent_key }}</td></tr>{% endfor %}
</table>{% endif %}
{% for t in meta.tables.values() %}
<h2>{{ t.name }}</h2>
<p class="muted">{{ '{:,}'.format(t.n_rows or 0) }} rows &middot; {{ t.columns|length }} columns
{% if t.primary_key %}&middot; primary key <b>{{ t.primary_key }}</b>{% endif %}
{% if t.sequence_key %}&middot; sequences: entity <b>{{ t.sequence_key }}</b>, time <b>{{ t.sequence_index }}</b>{% endif %}</p>
<table><tr><th>column</th><th>kind</th><th>missing</th><th>distinct</th><th>summary</th></tr>
{% for c in t.columns %}<tr>
<td><b>{{ c.name }}</b><br>{% if c.pii != 'none' %}<span class="pill pii">PII: {{ c.pii }}</span>{% endif %}
{% if c.name == t.primary_key %}<span class="pill key">primary key</span>{% endif %}
{% if c.name == t.sequence_key %}<span class="pill seq">entity</span>{% endif %}
{% if c.name == t.sequence_index %}<span class="pill seq">time</span>{% endif %}</td>
<td class="kind">{{ c.kind }}{% if c.subtype %} / {{ c.subtype }}{% endif %}<br><span class="muted">{{ c.dtype }}</span></td>
<td><span class="bar"><i style="width:{{ (c.missing_share * 100)|round(1) }}%"></i></span> {{ '%.1f'|format(c.missing_share * 100) }}%</td>
<td>{{ c.cardinality }}{% if c.stats.constant %} <span class="pill pii">constant</span>{% elif c.stats.near_unique %} <span class="muted">(near-unique)</span>{% endif %}</td>
<td class="small">{{ summaries[t.name][c.name] }}</td></tr>{% endfor %}
</table>{% endfor %}
{% if validation %}
<h2>Great Expectations validation</h2>
<p class="{{ 'ok' if validation.success else 'fail' }}"><b>{{ 'Passed' if validation.success else 'Failed' }}</b>:
{{ validation.successful }} of {{ validation.evaluated }} expectations ({{ '%.1f'|format(validation.success_percent) }}%).</p>
{% set failed = validation.results|rejectattr('success')|list %}
{% if failed %}<table><tr><th>failed expectation</th><th>column</th><th>details</th></tr>
{% for r in failed %}<tr><td class="kind fail">{{ r.expectation }}</td><td>{{ r.column or '' }}</td><td class="small">{{ r.details }}</td></tr>{% endfor %}
</table>{% endif %}
<details><summary>all {{ validation.evaluated }} expectations</summary>
<table><tr><th>expectation</th><th>column</th><th>result</th><th>details</th></tr>
{% for r in validation.results %}<tr><td class="kind">{{ r.expectation }}</td><td>{{ r.column or '' }}</td>
<td class="{{ 'ok' if r.success else 'fail' }}">{{ 'ok' if r.success else 'failed' }}</td><td class="small">{{ r.details }}</td></tr>{% endfor %}
</table></details>{% endif %}
</body></html>
"""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str) and value.endswith("T00:00:00"):
        return value[:10]
    return str(value)


def _summary(stats: dict[str, Any]) -> str:
    parts: list[str] = []
    if "min" in stats:
        parts.append(f"range {_fmt(stats['min'])} .. {_fmt(stats['max'])}")
    if "mean" in stats:
        parts.append(f"mean {stats['mean']:.4g}, sd {stats.get('std', 0):.4g}")
    q = stats.get("quantiles") or {}
    if q:
        keys = [k for k in ("0.05", "0.25", "0.5", "0.75", "0.95") if k in q]
        parts.append("quantiles " + ", ".join(f"{k}: {_fmt(q[k])}" for k in keys))
    if "true_share" in stats:
        parts.append(f"true {100 * stats['true_share']:.1f}%")
    if stats.get("top"):
        parts.append("top " + ", ".join(f"{t['value']} ({100 * t['share']:.1f}%)" for t in stats["top"][:5]))
    if "code_system" in stats:
        parts.append(f"codes: {stats['code_system']}")
    if "mean_length" in stats:
        parts.append(f"mean length {stats['mean_length']}")
    return "; ".join(parts)


def render_html(metadata: Metadata, validation: dict[str, Any] | None = None, title: str | None = None) -> str:
    """The profile page as a string."""
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    summaries = {name: {c.name: _summary(c.stats) for c in t.columns} for name, t in metadata.tables.items()}
    n_pii = sum(len(t.pii_columns) for t in metadata.tables.values())
    return env.from_string(_TEMPLATE).render(
        meta=metadata, validation=validation, summaries=summaries, n_pii=n_pii,
        title=title or "synthkit profile: " + ", ".join(metadata.tables),
    )


def write_html(metadata: Metadata, path: str | Path, validation: dict[str, Any] | None = None, title: str | None = None) -> Path:
    """Write the profile page atomically."""
    return write_text(path, render_html(metadata, validation, title))
