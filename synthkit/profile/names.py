"""Column-name tokens and per-column facts shared by kind inference, PII detection and keys.

``"PATIENT_ID"``, ``"patientId"`` and ``"patient-id"`` all become ``["patient", "id"]`` (tokens) and
``"patientid"`` (compact), so rules can be written once against normalised names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ColumnFacts", "column_facts", "compact_name", "name_tokens", "sample_values"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


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
        values = values.iloc[np.sort(np.random.default_rng(0).choice(len(values), n, replace=False))]
    return values.astype(str).str.strip()


@dataclass
class ColumnFacts:
    """What every profiling rule asks of a column, computed once (a million-row column is
    scanned for missing values and distinct counts once, not once per rule)."""

    present: pd.Series
    nunique: int
    sample: pd.Series  # present values as stripped text, at most 5,000 (see sample_values)
    n: int

    @property
    def missing_share(self) -> float:
        return 1.0 - len(self.present) / self.n if self.n else 0.0


def column_facts(series: pd.Series) -> ColumnFacts:
    """Scan ``series`` once for the facts the kind, PII, code and statistics rules share."""
    present = series.dropna()
    sample = present
    if len(present) > 5000:  # Generator.choice draws k positions without permuting all n rows
        sample = present.iloc[np.sort(np.random.default_rng(0).choice(len(present), 5000, replace=False))]
    return ColumnFacts(present=present, nunique=int(present.nunique()), sample=sample.astype(str).str.strip(), n=len(series))
