"""What the audit looks for: the real values that must never reappear, and the rows that count.

Rules (documented in ``docs``-style here because the audit's verdict depends on them):

* **PII values** — columns whose metadata ``pii`` is a *direct identifier* (:data:`SCANNED_PII`) are
  searched for everywhere. Low-entropy classes that many people share (first or last name alone,
  city, ZIP) are not: a synthetic "Smith" or "Springfield" is not a leak of a person. Classes that
  models learn as numbers by design (date of birth, latitude, longitude) are covered by the
  whole-row check instead. Values shorter than :data:`MIN_VALUE_CHARS` characters are ignored
  (too short to identify anyone, and they would match numbers in any report).
* **Identifiers** — non-PII columns of kind ``id`` or ``text`` (keys, free text) are regenerated,
  never learned, so their real values must not reach a model file or a report either. Integer ids
  are only searched in files: models regenerate them as ``1..n``, which overlaps real integer ids
  by construction, not by leakage.
* **Whole rows** — a real row counts only when it could single out a person: its values on the
  learned columns (not ids, text or regenerated PII, which differ by construction) are *unique* in
  the real data and at least ``min_row_columns`` of them are present. A common row such as
  "Private, HS-grad, Married, White, Male, …" re-appearing is expected of a faithful model and is
  not by itself a leak. Numbers compare after rounding to 6 decimals, dates in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from synthkit.audit.normalize import cell_text, value_keys
from synthkit.meta import TableMeta

__all__ = ["MIN_VALUE_CHARS", "NOT_SCANNED_PII", "SCANNED_PII", "Sensitive", "row_columns", "sensitive_values"]

SCANNED_PII = frozenset({
    "name", "email", "phone", "ssn", "address", "drivers_license", "passport", "identifier",
    "ip_address", "credit_card", "other",
})
NOT_SCANNED_PII = {
    "first_name": "a first name alone is shared by many people",
    "last_name": "a last name alone is shared by many people",
    "city": "a city is shared by many people",
    "zip": "a ZIP code is shared by many people",
    "date_of_birth": "learned as a number by design; covered by the whole-row check",
    "latitude": "learned as a number by design; covered by the whole-row check",
    "longitude": "learned as a number by design; covered by the whole-row check",
}
MIN_VALUE_CHARS = 5
_MIN_ID_CHARS = 6
_REGENERATED_KINDS = ("id", "text")
_LEARNED_PII = ("date_of_birth", "latitude", "longitude")


@dataclass
class Sensitive:
    """The real values of one sensitive column, in both forms the scans need."""

    column: str
    what: str  # "pii_value" | "identifier"
    pii: str
    cells: pd.Index  # normalized cell text, for exact matches in tables
    keys: pd.Series  # token form, for matches inside files
    in_tables: bool  # whether synthetic tables are searched for these values

    @property
    def empty(self) -> bool:
        return len(self.cells) == 0


def sensitive_values(real: pd.DataFrame, table: TableMeta, skipped: dict[str, str]) -> list[Sensitive]:
    """The real values to search for, per column; ``skipped`` records columns left out and why."""
    out: list[Sensitive] = []
    for meta in table.columns:
        if meta.name not in real.columns:
            continue
        series = real[meta.name]
        if meta.is_pii:
            if meta.pii not in SCANNED_PII:
                skipped[meta.name] = f"pii {meta.pii}: {NOT_SCANNED_PII.get(meta.pii, 'not a direct identifier')}"
                continue
            what, min_chars, in_tables = "pii_value", MIN_VALUE_CHARS, True
        elif meta.kind in _REGENERATED_KINDS or meta.name == table.primary_key:
            what, min_chars = "identifier", _MIN_ID_CHARS
            in_tables = not (pd.api.types.is_integer_dtype(series.dtype) or pd.api.types.is_float_dtype(series.dtype))
        else:
            continue
        cells = cell_text(series)
        cells = cells[cells.str.len() >= min_chars]
        if cells.empty:
            skipped[meta.name] = f"{what}: no value has {min_chars}+ characters"
            continue
        keys = value_keys(series.loc[cells.index])
        keys = keys[keys.str.len() >= min_chars]
        out.append(Sensitive(meta.name, what, meta.pii, pd.Index(cells.unique()), pd.Series(keys.unique(), dtype=object), in_tables))
    return out


def row_columns(table: TableMeta, real: pd.DataFrame) -> list[str]:
    """Columns compared in the whole-row check: the learned ones (see the module docstring)."""
    cols = []
    for meta in table.columns:
        if meta.name not in real.columns or meta.name == table.primary_key or meta.kind in _REGENERATED_KINDS:
            continue
        if meta.is_pii and meta.pii not in _LEARNED_PII:
            continue
        cols.append(meta.name)
    return cols
