"""Normalization shared by the leakage checks: cell text, file tokens, row hashes.

Why one place: a real value only "matches" an output if both sides were normalized the same way
(case, whitespace, ``5.0`` vs ``5``, a CSV round trip turning ints into text, a timezone-aware
timestamp vs its UTC text). Everything here is vectorized with pandas/numpy: no loop over rows.
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "TOKEN",
    "cell_text",
    "file_tokens",
    "ngrams",
    "row_frame",
    "value_keys",
]

#: a token: letters, digits and the punctuation that lives *inside* identifiers (e-mail, SSN,
#: phone, dotted numbers, O'Brien). Everything else (spaces, quotes, brackets, commas, ``=``) splits.
TOKEN = re.compile(r"[\w@.+\-/#'’]+")
_EDGE = ".-'’/+#"
_NOT_TOKEN = r"[^\w@.+\-/#'’]+"
_EDGE_RUNS = r"(?:(?<=\s)|^)[.\-'’/+#]+|[.\-'’/+#]+(?=\s|$)"
_MISSING = "\x00<NA>"


def cell_text(series: pd.Series) -> pd.Series:
    """Present values as case-folded, whitespace-collapsed text; integer-valued floats lose ``.0``.

    Missing values are dropped (the index is kept, so callers can locate matches).
    """
    values = series.dropna()
    if len(values) == 0:
        return pd.Series([], dtype=object)
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(str).str.casefold()
    if pd.api.types.is_numeric_dtype(values.dtype):
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(arr)
        whole = finite & (np.floor(arr) == arr) & (np.abs(arr) < 2**53)
        text = values.astype(str)
        if whole.any():
            text = text.where(~whole, pd.Series(arr, index=values.index).where(whole, 0).astype(np.int64).astype(str))
        return text.str.casefold()
    text = values.astype(str).str.strip().str.casefold()
    return text.str.replace(r"\s+", " ", regex=True)


def value_keys(series: pd.Series) -> pd.Series:
    """The token form of each present value (tokens edge-stripped, joined by one space).

    This is the form in which a value can be found inside a file's token stream.
    """
    text = cell_text(series)
    if text.empty:
        return text
    # same result as findall(TOKEN) + strip(_EDGE) + " ".join, with vectorized regex replacements
    spaced = text.str.replace(_NOT_TOKEN, " ", regex=True)
    spaced = spaced.str.replace(_EDGE_RUNS, "", regex=True)
    keys = spaced.str.replace(r"\s+", " ", regex=True).str.strip()
    return keys[keys.str.len() > 0]


def ngrams(tokens: pd.Series, k: int) -> pd.Series:
    """All runs of ``k`` consecutive tokens, joined by one space (vectorized with shifts)."""
    tokens = tokens.reset_index(drop=True)
    if k <= 1 or len(tokens) < k:
        return tokens if k <= 1 else pd.Series([], dtype=object)
    gram = tokens.copy()
    for i in range(1, k):  # k is small (the longest PII value in tokens), not the data size
        gram = gram + " " + tokens.shift(-i)
    return gram.iloc[: len(tokens) - k + 1]


def file_tokens(path: Path, max_bytes: int = 256 << 20) -> tuple[pd.Series, str]:
    """Case-folded tokens of a file, and how it was read ("json", "html", "text" or "torch-zip").

    JSON is parsed so ``\\u00e9`` escapes and ``\\n`` do not split values; HTML entities are
    unescaped; a torch weights file is opened as the zip it is and only its pickle *text* is read
    (never unpickled); other files are read as text (bytes decoded as latin-1 when not UTF-8).
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise ValueError(f"{path} is larger than {max_bytes >> 20} MiB")
    how = "text"
    raw = path.read_bytes()
    text: str
    if zipfile.is_zipfile(path):
        how = "torch-zip"
        with zipfile.ZipFile(path) as archive:
            parts = list(archive.namelist())
            for name in archive.namelist():
                if name.endswith((".pkl", "/version", ".txt")):
                    parts.append(archive.read(name).decode("latin-1"))
        text = "\n".join(parts)
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        suffix = path.suffix.lower()
        if suffix == ".json":
            try:
                text = "\n".join(_json_strings(json.loads(text)))
                how = "json"
            except (json.JSONDecodeError, RecursionError):
                how = "text"
        elif suffix in (".html", ".htm", ".xml", ".svg"):
            text = html.unescape(text)
            how = "html"
    tokens = pd.Series(TOKEN.findall(text.casefold()), dtype=object)
    tokens = tokens.str.strip(_EDGE)
    return tokens[tokens.str.len() > 0].reset_index(drop=True), how


def _json_strings(node: Any) -> list[str]:
    """Every key, string and number of a parsed JSON document (walks the tree, not data rows)."""
    out: list[str] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            out.extend(str(k) for k in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif item is not None:
            out.append(str(item))
    return out


def row_frame(df: pd.DataFrame, columns: list[str], numeric: dict[str, bool], dates: dict[str, bool]) -> pd.DataFrame:
    """``df[columns]`` in a comparable form: numbers as float64 rounded to 6 decimals, dates as
    UTC nanoseconds, everything else as case-sensitive stripped text; missing as one marker.

    ``numeric``/``dates`` say how the *real* column is typed, so a synthetic CSV column read back
    as text or int is converted the same way as the real one.
    """
    out: dict[str, pd.Series] = {}
    for col in columns:
        series = df[col].reset_index(drop=True)
        if dates.get(col):
            parsed = _as_utc(series)
            ints = parsed.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float)
            ints[parsed.isna().to_numpy()] = np.nan
            out[col] = pd.Series(ints)
        elif numeric.get(col):
            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            out[col] = pd.Series(np.round(values, 6))
        else:
            codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=True)
            # map the distinct values only (categories are few), then broadcast by code
            mapped = np.array([_category_text(u) for u in uniques] + [_MISSING], dtype=object)
            out[col] = pd.Series(mapped[codes])
    return pd.DataFrame(out)


def _as_utc(series: pd.Series) -> pd.Series:
    """Timestamps (aware, naive or text) as naive UTC; unparseable or out-of-range values NaT."""
    try:
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            parsed = pd.to_datetime(series, utc=True)
        else:
            parsed = pd.to_datetime(series, errors="coerce", utc=True, format="ISO8601")
            if parsed.isna().sum() > series.isna().sum():
                parsed = pd.to_datetime(series, errors="coerce", utc=True, format="mixed")
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    return parsed.dt.tz_localize(None).astype("datetime64[ns]")


def _category_text(value: Any) -> str:
    """Categories as text: ``True``/``5``/``"5.0"`` compare equal to their CSV round trip."""
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return str(int(f)) if f.is_integer() and abs(f) < 2**53 else repr(f)
    text = str(value).strip()
    try:
        f = float(text)
    except ValueError:
        return text
    return str(int(f)) if f.is_integer() and abs(f) < 2**53 and text.replace(".", "", 1).lstrip("+-").isdigit() else text
