"""Type coercion of text columns, with a report of every change.

Files (CSV, JSON lines, SQL query results) often store numbers, booleans and dates as text. We
convert a text column only when *every* present value parses the same way, so nothing is silently
lost; a column that is mostly numbers with a few other tokens is reported as ``mixed`` and, unless
the caller asks otherwise, kept as text (ICD-9 codes like ``250.83``/``V57`` are legitimately mixed).
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from synthkit.errors import DataError

__all__ = ["DATE_FORMATS", "MISSING_TOKENS", "Coercion", "CoercionReport", "coerce_frame"]

log = logging.getLogger(__name__)

#: tokens read as missing in text files (``None`` is deliberately absent: it is a real category in
#: several public datasets, e.g. diabetes ``max_glu_serum``).
MISSING_TOKENS = ["", "?", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "#N/A"]

_TRUE = {"yes", "y", "true", "t", "1"}
_FALSE = {"no", "n", "false", "f", "0"}
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_NUMBER_CHARS = re.compile(r"^[\s+\-]*[\d.,]+([eE][+-]?\d+)?\s*$")
# Explicit formats tried in order after ISO 8601; day-first and month-first are only accepted when
# the data rules out the other reading (all values parse with exactly one of them).
DATE_FORMATS = [
    "%m/%d/%Y", "%d/%m/%Y", "%Y/%m/%d", "%d.%m.%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M", "%b %d %Y", "%d %b %Y", "%d-%b-%Y", "%B %d, %Y", "%b %d, %Y", "%Y%m%d",
]
_ISO_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
_DATE_HINT = re.compile(r"\d{1,4}[-/. ]\w{1,9}[-/. ,]+\d{2,4}|^\d{8}$|^[A-Za-z]{3,9}\.? \d{1,2},? \d{4}")
_SAMPLE = 2000

MixedPolicy = Literal["keep", "error", "coerce"]


@dataclass
class Coercion:
    """One converted (or flagged) column."""

    column: str
    to: str  # "numerical" | "boolean" | "datetime" | "mixed"
    detail: str
    n_values: int
    n_failed: int = 0


@dataclass
class CoercionReport:
    """What the reader did to the raw file: sniffed format and per-column conversions."""

    source: str
    sniffed: dict[str, Any] = field(default_factory=dict)
    coercions: list[Coercion] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "sniffed": dict(self.sniffed), "coercions": [asdict(c) for c in self.coercions]}

    def columns(self, to: str | None = None) -> list[str]:
        """Names of the columns that were coerced (to ``to`` when given)."""
        return [c.column for c in self.coercions if to is None or c.to == to]


def coerce_frame(
    df: pd.DataFrame,
    report: CoercionReport,
    *,
    on_mixed: MixedPolicy = "keep",
    parse_dates: bool = True,
    booleans: bool = True,
    skip: set[str] | frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Convert text columns that are really numbers, booleans or dates; record it in ``report``.

    Columns in ``skip`` (e.g. those the caller read with ``dtype=str``) stay text."""
    if on_mixed not in ("keep", "error", "coerce"):
        raise DataError(f"on_mixed must be 'keep', 'error' or 'coerce', not {on_mixed!r}")
    out = df.copy() if any(_is_text(df[c]) for c in df.columns) else df
    for col in df.columns:
        series = df[col]
        if not _is_text(series):
            continue
        if series.dtype == object and series.isna().any():
            series = series.where(series.notna(), np.nan)  # parquet/JSON/SQL give None: one missing marker
            out[col] = series
        if col in skip:
            continue
        present = series.dropna()
        if present.empty:
            continue
        text = present.astype(str).str.strip()
        converted = (
            (_as_boolean(series, text, col, report) if booleans else None)
            or _as_number(series, text, col, report, on_mixed)
            or (_as_datetime(series, text, col, report) if parse_dates else None)
        )
        if converted is not None:
            out[col] = converted[0]
    return out


def _is_text(series: pd.Series) -> bool:
    return series.dtype == object or pd.api.types.is_string_dtype(series.dtype)


def _as_boolean(series: pd.Series, text: pd.Series, col: str, report: CoercionReport) -> tuple[pd.Series] | None:
    lowered = text.str.lower()
    uniq = set(lowered.unique())
    if len(uniq) > 4 or not uniq <= (_TRUE | _FALSE) or not (uniq & _TRUE and uniq & _FALSE):
        return None
    if uniq <= {"0", "1"}:
        return None  # leave 0/1 text to the numeric rule: it round-trips as integers
    values = pd.Series(pd.NA, index=series.index, dtype="boolean")
    values[text.index] = lowered.isin(_TRUE).to_numpy()
    if not values.isna().any():
        values = values.astype(bool)
    report.coercions.append(Coercion(str(col), "boolean", f"values {sorted(uniq)} read as True/False", len(text)))
    return (values,)


def _as_number(
    series: pd.Series, text: pd.Series, col: str, report: CoercionReport, on_mixed: MixedPolicy
) -> tuple[pd.Series] | None:
    sample = text.iloc[:_SAMPLE]
    if not sample.str.match(_NUMBER_CHARS).mean() > 0.5:
        return None
    detail = "numbers stored as text"
    cleaned = text
    has_thousands = text.str.match(_THOUSANDS)
    if has_thousands.any():
        cleaned = text.where(~has_thousands, text.str.replace(",", "", regex=False))
        detail = "numbers with thousands separators"
    cleaned = cleaned.str.replace(" ", "", regex=False)
    numbers = pd.to_numeric(cleaned, errors="coerce")
    failed = numbers.isna()
    if failed.all():
        return None
    if failed.any():
        bad = text[failed]
        example = str(bad.iloc[0])[:30]
        msg = f"column {col!r} mixes numbers with {int(failed.sum())} non-numeric value(s) ({bad.nunique()} distinct)"
        if on_mixed == "error":  # the example value goes to the user only, never into the saved report
            raise DataError(
                f"{report.source}: {msg}, e.g. {example!r}; mark such tokens missing with na_values=[...] "
                "or pass on_mixed='keep'"
            )
        if on_mixed == "keep":
            log.warning("%s: %s; kept as text", report.source, msg)
            report.coercions.append(Coercion(str(col), "mixed", msg + "; kept as text", len(text), int(failed.sum())))
            return None
        detail += f"; {int(failed.sum())} non-numeric value(s) set missing"
    full = pd.Series(np.nan, index=series.index, dtype=float)
    full[text.index] = numbers.to_numpy(dtype=float)
    if not full.isna().any() and np.all(np.floor(full.to_numpy()) == full.to_numpy()) and np.abs(full).max() < 2**53:
        full = full.astype(np.int64)
    report.coercions.append(Coercion(str(col), "numerical", detail, len(text), int(failed.sum())))
    return (full,)


def _as_datetime(series: pd.Series, text: pd.Series, col: str, report: CoercionReport) -> tuple[pd.Series] | None:
    sample = text.iloc[:_SAMPLE]
    lengths = sample.str.len()
    if lengths.min() < 6 or lengths.max() > 35:
        return None
    fmt = _date_format(sample)
    if fmt is None:
        return None
    parsed = _parse_dates(text, fmt)
    if parsed is None or parsed.isna().any():
        return None
    full = pd.Series(pd.NaT, index=series.index, dtype=parsed.dtype)
    full[text.index] = parsed.to_numpy()
    report.coercions.append(Coercion(str(col), "datetime", f"dates in format {fmt}", len(text)))
    full.attrs["datetime_format"] = fmt
    return (full,)


def _date_format(sample: pd.Series) -> str | None:
    """The one format that parses every sampled value, ISO 8601 first."""
    if sample.str.match(_ISO_LIKE).all():
        return "ISO8601"
    if not sample.str.contains(_DATE_HINT).all():
        return None
    matches = [f for f in DATE_FORMATS if _parse_dates(sample, f) is not None]
    if not matches:
        return None
    if {"%m/%d/%Y", "%d/%m/%Y"} <= set(matches):
        return "%m/%d/%Y"  # ambiguous everywhere (all days <= 12): US order, as pandas does
    return matches[0]


def _parse_dates(text: pd.Series, fmt: str) -> pd.Series | None:
    try:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    except (ValueError, TypeError, OverflowError):
        return None
    if parsed.isna().any() or not pd.api.types.is_datetime64_any_dtype(parsed.dtype):
        return None
    return parsed
