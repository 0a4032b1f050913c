"""Numbers as markdown-table cells, the one format every benchmark table uses."""

from __future__ import annotations

from typing import Any

__all__ = ["cell"]


def cell(value: Any, digits: int = 2) -> str:
    """"–" for a missing value; floats with ``digits`` decimals, or whole with thousands separators from 1,000."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.{digits}f}"
    return str(value)
