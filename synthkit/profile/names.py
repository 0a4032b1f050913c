"""Column-name tokens shared by kind inference, PII detection and key discovery.

``"PATIENT_ID"``, ``"patientId"`` and ``"patient-id"`` all become ``["patient", "id"]`` (tokens) and
``"patientid"`` (compact), so rules can be written once against normalised names.
"""

from __future__ import annotations

import re

__all__ = ["compact_name", "name_tokens", "sample_values"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

import pandas as pd


def name_tokens(name: object) -> list[str]:
    """Lower-case word tokens of a column name (camelCase and separators split)."""
    text = _CAMEL.sub(" ", str(name))
    return [t for t in re.split(r"[^A-Za-z0-9]+", text.lower()) if t]


def compact_name(name: object) -> str:
    """Lower-case name with every non-alphanumeric character removed."""
    return "".join(name_tokens(name))


def sample_values(series: pd.Series, n: int = 5000) -> pd.Series:
    """Up to ``n`` present values as stripped text, drawn deterministically (seed 0).

    Pattern checks run on a sample so profiling a million rows stays fast; the rules that use it
    ask for a large share (>= 90 %) of matches, which a 5,000-value sample estimates to within ~1 %.
    """
    values = series.dropna()
    if len(values) > n:
        values = values.sample(n, random_state=0)
    return values.astype(str).str.strip()
