"""Medical code systems recognised in columns: ICD-10, ICD-9, LOINC, SNOMED CT, RxNorm, CVX.

Codes are categorical (never numbers to average) and are not PII. A numeric code column needs a
name hint (``CODE``, ``REASONCODE``, ``diag_1`` ...): a bare column of 9-digit integers could be
anything. String patterns (LOINC ``8302-2``, ICD-10 ``E11.9``) are distinctive enough on their own
when nearly all values match.
"""

from __future__ import annotations

import re

import pandas as pd

from synthkit.profile.names import ColumnFacts, compact_name, name_tokens, sample_values

__all__ = ["code_system"]

_LOINC = re.compile(r"^\d{1,5}-\d$")
_ICD10 = re.compile(r"^[A-TV-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$")
_ICD9 = re.compile(r"^(V\d{2}|E\d{3}|\d{3})(\.\d{1,2})?$")
_DIGITS = re.compile(r"^\d+$")
_CODE_TOKENS = {"code", "codes", "snomed", "sct", "loinc", "icd", "icd9", "icd10", "diag", "diagnosis", "rxnorm", "cvx", "ndc", "cpt"}


def _has_code_name(name: object) -> bool:
    tokens = set(name_tokens(name))
    compact = compact_name(name)
    return bool(tokens & _CODE_TOKENS) or compact.endswith("code") or compact.startswith(("diag", "icd"))


def code_system(series: pd.Series, facts: ColumnFacts | None = None) -> str | None:
    """Name of the code system ``series`` holds, or None."""
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(series.dtype):
        return None
    if not _has_code_name(series.name) and pd.api.types.is_numeric_dtype(series.dtype):
        return None  # numbers are codes only when the name says so (checked below again)
    if pd.api.types.is_float_dtype(series.dtype):
        present = series.dropna() if facts is None else facts.present
        if len(present) == 0 or not bool((present % 1 == 0).all()):
            return None
        text = sample_values(present.astype("int64").rename(series.name))
    else:
        text = sample_values(series) if facts is None else facts.sample
    if text.empty:
        return None
    named = _has_code_name(series.name)
    tokens = set(name_tokens(series.name))
    if text.str.match(_LOINC).mean() >= 0.8:
        return "LOINC"
    icd10 = text.str.match(_ICD10).mean()
    if icd10 >= 0.9 and (named or text.str.contains(".", regex=False).mean() > 0.3):
        return "ICD-10"
    if not named:
        return None
    diag_named = bool(tokens & {"diag", "diagnosis", "icd", "icd9"}) or compact_name(series.name).startswith("diag")
    if diag_named and text.str.match(_ICD9).mean() >= 0.9:
        return "ICD-9"
    digits = text.str.match(_DIGITS)
    if digits.mean() >= 0.9:
        lengths = text[digits].str.len()
        if "cvx" in tokens:
            return "CVX"
        if "rxnorm" in tokens:
            return "RxNorm"
        if lengths.median() >= 8:  # SNOMED concept ids: 6-18 digits, most 8-9 (RxNorm mostly <= 7)
            return "SNOMED CT"
        return "numeric code"
    if icd10 >= 0.9:
        return "ICD-10"
    return None
