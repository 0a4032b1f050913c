"""Type coercion of text columns, with a report of every change.

Files (CSV, JSON lines, SQL query results) often store numbers, booleans and dates as text. We
convert a text column only when *every* present value parses the same way, so nothing is silently
lost; a column that is mostly numbers with a few other tokens is reported as ``mixed`` and, unless
the caller asks otherwise, kept as text (ICD-9 codes like ``250.83``/``V57`` are legitimately mixed).
"""

from __future__ import annotations

import logging
import re
import warnings
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
    native: bool = False,
) -> pd.DataFrame:
    """Convert text columns that are really numbers, booleans or dates; record it in ``report``.

    Columns in ``skip`` (e.g. those the caller read with ``dtype=str``) stay text. ``native``: the
    frame was read from a text format (CSV), so plain numbers and True/False are not reported."""
    if on_mixed not in ("keep", "error", "coerce"):
        raise DataError(f"on_mixed must be 'keep', 'error' or 'coerce', not {on_mixed!r}")
    out = df.copy() if any(_is_text(df[c]) for c in df.columns) else df
    for col in df.columns:
        series = df[col]
        if not _is_text(series):
            continue
        missing = series.isna().to_numpy()  # one scan of the column for missing values
        has_missing = bool(missing.any())
        if has_missing and not native and series.dtype == object:
            series = series.where(~missing, np.nan)  # parquet/JSON/SQL give None: one missing marker
            out[col] = series
        if col in skip:
            continue
        present = series[~missing] if has_missing else series
        if present.empty:
            continue
        # Text read from CSV is already str; other sources may hold mixed Python objects.
        text = present if native else present.astype(str)
        sample = text.iloc[:_SAMPLE]
        if (sample.str.strip() != sample).any():
            text = text.str.strip()
        converted = (
            (_as_boolean(series, text, col, report, native) if booleans else None)
            or _as_number(series, text, col, report, on_mixed, native)
            or (_as_datetime(series, text, col, report) if parse_dates else None)
        )
        if converted is not None:
            out[col] = converted[0]
    return out


def _is_text(series: pd.Series) -> bool:
    return series.dtype == object or pd.api.types.is_string_dtype(series.dtype)


def _as_boolean(
    series: pd.Series, text: pd.Series, col: str, report: CoercionReport, native: bool
) -> tuple[pd.Series] | None:
    distinct = text.unique()  # hashing, not a per-value string operation
    if len(distinct) > 8:
        return None
    uniq = {str(v).lower() for v in distinct}
    literal = uniq <= {"true", "false"}  # True/False text is boolean even when constant
    if len(uniq) > 4 or not uniq <= (_TRUE | _FALSE) or not (literal or (uniq & _TRUE and uniq & _FALSE)):
        return None
    if uniq <= {"0", "1"}:
        return None  # leave 0/1 text to the numeric rule: it round-trips as integers
    values = pd.Series(pd.NA, index=series.index, dtype="boolean")
    truthy = [v for v in distinct if str(v).lower() in _TRUE]
    values[text.index] = text.isin(truthy).to_numpy()
    if not values.isna().any():
        values = values.astype(bool)
    if not (native and uniq <= {"true", "false"}):  # True/False text in a CSV is no coercion
        report.coercions.append(Coercion(str(col), "boolean", f"values {sorted(uniq)} read as True/False", len(text)))
    return (values,)


def _as_number(
    series: pd.Series, text: pd.Series, col: str, report: CoercionReport, on_mixed: MixedPolicy, native: bool
) -> tuple[pd.Series] | None:
    sample = text.iloc[:_SAMPLE]
    if not sample.str.match(_NUMBER_CHARS).mean() > 0.5:
        return None
    numbers = pd.to_numeric(text, errors="coerce")  # fast path: plain numbers
    failed = numbers.isna()
    detail = None if native else "numbers stored as text"  # in CSV, plain numbers are no coercion
    if failed.any():
        cleaned = text
        if report.sniffed.get("decimal") == ",":
            comma = text.str.contains(",", regex=False)
            cleaned = text.where(~comma, text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
            detail = "decimal commas" if comma.any() else detail
        else:
            thousands = text.str.match(_THOUSANDS)
            if thousands.any():
                cleaned = text.where(~thousands, text.str.replace(",", "", regex=False))
                detail = "numbers with thousands separators"
        numbers = pd.to_numeric(cleaned.str.replace(" ", "", regex=False), errors="coerce")
        failed = numbers.isna()
    if failed.all():
        return None
    if _leading_zero(text):
        return None  # leading zeros ("02134", CVX "08") mark codes: numbers would lose them
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
        detail = (detail or "numbers stored as text") + f"; {int(failed.sum())} non-numeric value(s) set missing"
    if len(text) == len(series) and not failed.any():
        full = numbers  # int64 when every value is a whole number, as pandas' own parser gives
    else:
        full = pd.Series(np.nan, index=series.index, dtype=float)
        full[text.index] = numbers.to_numpy(dtype=float)
    if detail:
        report.coercions.append(Coercion(str(col), "numerical", detail, len(text), int(failed.sum())))
    return (full,)


def _leading_zero(text: pd.Series) -> bool:
    """Any all-digit value starting with 0 (numpy string ufuncs: C loops, not Python ones)."""
    arr = text.to_numpy(dtype=str)
    starts = np.strings.startswith(arr, "0") & (np.strings.str_len(arr) > 1)
    return bool(starts.any()) and bool(np.strings.isdigit(arr[starts]).any())


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
        with warnings.catch_warnings():  # mixed UTC offsets: pandas warns; we parse them to UTC
            warnings.simplefilter("ignore", FutureWarning)
            parsed = pd.to_datetime(text, format=fmt, errors="coerce")
            if fmt == "ISO8601" and not pd.api.types.is_datetime64_any_dtype(parsed.dtype):
                parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)  # mixed offsets -> UTC
    except (ValueError, TypeError, OverflowError):
        return None
    if parsed.isna().any() or not pd.api.types.is_datetime64_any_dtype(parsed.dtype):
        return None
    return parsed
