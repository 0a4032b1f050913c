"""Medical-record specifics shared by the relational and sequence models.

- :class:`CodeBook`: a description (or unit, category, type) that is a function of a code column
  (ICD-10, SNOMED, LOINC) is not learned as a column of its own, which would let a model pair a
  code with another code's description; it is dropped before fitting and restored from a code →
  value table after sampling, so code ↔ description pairs and units per lab code never mix.
  The table holds vocabulary (public code texts, unit names), not patient values.
- :func:`split_mixed` / :func:`join_mixed`: observation values that are numbers for some codes and
  text for others ("49.2", "Never smoker") become a numeric and a text column, so numbers are
  modelled as numbers and text as categories.
- :func:`shift_dates`: one random shift per patient applied to every date of that patient in every
  table, so ages and intervals stay exact while calendar dates no longer match anyone's.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from synthkit.errors import DataError
from synthkit.meta import Relationship

__all__ = ["CodeBook", "join_mixed", "root_ids", "shift_dates", "split_mixed"]

_CODE_NAME = re.compile(r"code", re.IGNORECASE)
_NAN_KEY = "__nan__"
_SEP = " \x1f "  # unit separator: never inside a code or a description


class CodeBook:
    """Functional dependencies ``dependent ← determinant`` among categorical columns of a table."""

    def __init__(self, mappings: dict[str, dict[str, Any]] | None = None, determinants: dict[str, str] | None = None,
                 joint: dict[str, str] | None = None) -> None:
        self.mappings = mappings or {}  # dependent -> {determinant value: dependent value}
        self.determinants = determinants or {}  # dependent -> determinant
        # near-dependent pairs (one description, two codes): learned as one joint category
        self.joint = joint or {}  # partner -> column holding "value<SEP>partner value"

    @classmethod
    def fit(cls, df: pd.DataFrame, exclude: list[str] | tuple[str, ...] = (), min_consistency: float = 0.999) -> CodeBook:
        """Find columns determined by another (codes first) in at least ``min_consistency`` of rows."""
        n = len(df)
        cats = [c for c in df.columns if c not in exclude and not pd.api.types.is_numeric_dtype(df[c])
                and not pd.api.types.is_datetime64_any_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
        keys = {c: df[c].astype(object).where(df[c].notna(), _NAN_KEY).astype(str) for c in cats}
        nunique = {c: keys[c].nunique() for c in cats}
        candidates = [c for c in cats if 1 < nunique[c] < max(0.5 * n, 2)]
        # most specific first (a description finer than its code determines the code and all the code
        # determines); on a tie (1:1 pairs) the code column is kept and the description derived
        order = sorted(candidates, key=lambda c: (-nunique[c], not _CODE_NAME.search(c)))
        book = cls()
        for det in order:
            if det in book.determinants:
                continue
            for dep in candidates:
                if dep == det or dep in book.determinants or dep in book.determinants.values() or nunique[dep] > nunique[det]:
                    continue
                pairs = pd.DataFrame({"a": keys[det], "b": keys[dep]})
                top = pairs.groupby(["a", "b"], sort=False).size().groupby(level="a").max()
                if top.sum() >= min_consistency * n:
                    mode = pairs.groupby("a")["b"].agg(lambda s: s.value_counts().index[0])
                    book.determinants[dep] = det
                    book.mappings[dep] = {str(k): (None if v == _NAN_KEY else v) for k, v in mode.items()}
        taken = set(book.determinants) | set(book.determinants.values())
        for det in order:
            if det in taken or not _CODE_NAME.search(det):
                continue
            for dep in candidates:
                if dep == det or dep in taken:
                    continue
                pairs = pd.DataFrame({"a": keys[det], "b": keys[dep]})
                top = pairs.groupby(["a", "b"], sort=False).size()
                if top.groupby(level="a").max().sum() >= 0.9 * n or top.groupby(level="b").max().sum() >= 0.9 * n:
                    book.joint[dep] = det
                    taken |= {det, dep}
                    break
        return book

    def strip(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` without the dependent columns; joint pairs merged into one column."""
        out = df.drop(columns=[c for c in self.determinants if c in df.columns])
        for dep, det in self.joint.items():
            a = out[det].astype(object).where(out[det].notna(), _NAN_KEY).astype(str)
            b = out[dep].astype(object).where(out[dep].notna(), _NAN_KEY).astype(str)
            out[det] = a + _SEP + b
            out = out.drop(columns=[dep])
        return out

    def restore(self, df: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
        """Add the dependent columns back from their determinants (in ``columns`` order if given)."""
        out = df.copy()
        for dep, det in self.joint.items():
            parts = out[det].astype(str).str.split(_SEP, n=1, expand=True, regex=False).reindex(columns=[0, 1])
            out[det] = parts[0].where(parts[0] != _NAN_KEY).where(out[det].notna())
            out[dep] = parts[1].where(parts[1] != _NAN_KEY).where(out[det].notna())
        for dep, det in self.determinants.items():
            key = out[det].astype(object).where(out[det].notna(), _NAN_KEY).astype(str)
            out[dep] = key.map(self.mappings[dep]).astype(object)
            out[dep] = out[dep].where(out[dep].notna(), np.nan)
        return out[columns] if columns is not None else out

    def to_state(self) -> dict[str, Any]:
        return {"mappings": self.mappings, "determinants": self.determinants, "joint": self.joint}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> CodeBook:
        return cls(dict(state["mappings"]), dict(state["determinants"]), dict(state.get("joint", {})))


def split_mixed(series: pd.Series, min_numeric_share: float = 0.5) -> tuple[pd.Series, pd.Series, int] | None:
    """(numbers, text, decimals) for a text column holding mostly numbers *and* some text; None
    otherwise. Columns of digits only, or named like codes, stay categorical: SNOMED/LOINC codes
    are labels, not quantities."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        return None
    if _CODE_NAME.search(str(series.name or "")):
        return None
    present = series.notna()
    if not present.any():
        return None
    numbers = pd.to_numeric(series.where(present), errors="coerce")
    share = numbers.notna().sum() / present.sum()
    if share < min_numeric_share or share == 1.0:
        return None
    text = series.where(present & numbers.isna())
    as_text = series[numbers.notna()].astype(str)
    lengths = as_text.str.extract(r"\.(\d+)$")[0].str.len().to_numpy(dtype=float, na_value=0.0)
    decimals = int(lengths.max()) if len(lengths) else 0
    return numbers.astype(float), text.astype(object), decimals


def join_mixed(numbers: pd.Series, text: pd.Series, decimals: int) -> pd.Series:
    """Inverse of :func:`split_mixed`: numbers formatted with the decimals seen, else the text."""
    formatted = numbers.map(lambda v: f"{v:.{decimals}f}", na_action="ignore")
    return formatted.where(numbers.notna(), text).astype(object)


def root_ids(tables: dict[str, pd.DataFrame], relationships: list[Relationship], root: str, root_key: str) -> dict[str, pd.Series]:
    """For every table reachable from ``root`` through foreign keys, the root key of each row."""
    out = {root: tables[root][root_key]}
    for _ in range(len(tables)):  # enough passes for the deepest chain; later paths fill gaps
        for rel in relationships:
            if rel.parent_table in out and rel.child_table in tables and rel.child_table != root:
                parent = tables[rel.parent_table]
                lookup = pd.Series(out[rel.parent_table].to_numpy(), index=parent[rel.parent_key].to_numpy())
                lookup = lookup[~lookup.index.duplicated()]
                found = tables[rel.child_table][rel.child_key].map(lookup)
                out[rel.child_table] = out[rel.child_table].fillna(found) if rel.child_table in out else found
    return out


def shift_dates(tables: dict[str, pd.DataFrame], relationships: list[Relationship], root: str, root_key: str,
                max_days: int = 365, seed: int | None = 0) -> dict[str, pd.DataFrame]:
    """Every datetime column of ``root`` and its descendants moved by one random whole number of days
    in [-max_days, max_days], never 0, per root row (patient), the same shift in every table."""
    if root not in tables or root_key not in tables[root].columns:
        raise DataError(f"shift_dates: no table {root!r} with key column {root_key!r}")
    if max_days < 0:
        raise DataError(f"shift_dates: max_days must be >= 0, got {max_days}")
    rng = np.random.default_rng(seed)
    keys = tables[root][root_key]
    # never 0 days: a date a model reproduces exactly (a value several real patients share, such as
    # one person's several Synthea lives with the same first visit) must still move
    days = rng.integers(1, max_days + 1, size=len(keys)) * rng.choice([-1, 1], size=len(keys)) if max_days else np.zeros(len(keys), dtype=np.int64)
    shift = pd.Series(days, index=keys.to_numpy())
    shift = shift[~shift.index.duplicated()]
    owners = root_ids(tables, relationships, root, root_key)
    out = dict(tables)
    for name, owner in owners.items():
        df = tables[name].copy()
        days = pd.to_timedelta(owner.map(shift).fillna(0).to_numpy(), unit="D")
        for col in df.columns:
            if pd.api.types.is_datetime64_any_dtype(df[col]):
                df[col] = df[col] + days
        out[name] = df
    return out
