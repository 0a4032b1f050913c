"""Mergeable per-partition statistics of a model frame, from which distributed training fits its encoders.

Encoders (arm's :class:`~synthkit.transform.discretize.Discretizer`, gan/vae's
:class:`~synthkit.transform.table.TableEncoder`, flow's Gaussianized columns) are fitted column by
column from aggregates, so on a cluster every partition sends a :class:`TableDigest` and the driver
merges them; no process ever holds the table. A digest keeps:

- per column: rows, missing values; categorical columns their exact category counts; numerical
  columns min, max, whether every value is an integer and, while a column has at most
  :data:`EXACT_DISTINCT` distinct values, their exact counts;
- a bottom-k row sample: each row's priority is a keyed hash of its content, the ``k`` lowest
  priorities are kept, and the merge of two samples is the ``k`` lowest of their union. The sample is
  therefore a function of the table's rows only (not of how they were partitioned), and a uniform
  sample of distinct rows (duplicate rows share a priority: they are all in or all out).

What the encoders get (:meth:`TableDigest.numeric_values`, :meth:`TableDigest.category_counts`):
exact category counts (rare-category thresholds see true counts); for a numerical column with exact
counts the values repeated by their counts (identical to the in-memory fit; above
:data:`REPRESENTATIVE` values the counts are scaled down, shares kept to ±1 value), otherwise the
sampled values. Quantiles from a ``k``-row sample are within ±``1/sqrt(k)`` in rank with ~95 %
probability (DKW: ``sqrt(ln(2/0.05) / (2k))`` = 0.0061 at the default k = 50,000), which is the
error bound of bin edges and quantile grids of high-cardinality columns; missing shares, ranges,
integer flags and category counts are exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["EXACT_DISTINCT", "REPRESENTATIVE", "ColumnDigest", "TableDigest", "row_keys"]

EXACT_DISTINCT = 4096
REPRESENTATIVE = 1_000_000
SAMPLE_ROWS = 50_000


def row_keys(frame: pd.DataFrame, seed: int | None) -> np.ndarray:
    """uint64 keyed hash of every row's content (independent of the row's position and partition)."""
    key = f"synthkit{int(seed or 0) % 10**8:08d}"
    return pd.util.hash_pandas_object(frame, index=False, hash_key=key).to_numpy(dtype=np.uint64)


@dataclass
class ColumnDigest:
    """Exact aggregates of one model-frame column (see the module docstring)."""

    kind: str  # "numerical" | "categorical"
    n: int = 0
    n_missing: int = 0
    counts: dict[Any, int] | None = field(default_factory=dict)  # None: too many distinct numbers
    low: float = np.inf
    high: float = -np.inf
    integer: bool = True

    @classmethod
    def of(cls, kind: str, series: pd.Series) -> ColumnDigest:
        missing = series.isna().to_numpy()
        digest = cls(kind, n=len(series), n_missing=int(missing.sum()))
        if kind == "categorical":
            digest.counts = {str(k): int(v) for k, v in series[~missing].astype(str).value_counts().items()}
            return digest
        values = series.to_numpy(dtype=float)[~missing]
        if len(values):
            digest.low, digest.high = float(values.min()), float(values.max())
            digest.integer = bool(np.all(np.floor(values) == values))
        uniq, counts = np.unique(values, return_counts=True)
        digest.counts = dict(zip(uniq.tolist(), counts.tolist())) if len(uniq) <= EXACT_DISTINCT else None
        return digest

    def merge(self, other: ColumnDigest) -> ColumnDigest:
        out = ColumnDigest(self.kind, self.n + other.n, self.n_missing + other.n_missing, None,
                           min(self.low, other.low), max(self.high, other.high), self.integer and other.integer)
        if self.counts is not None and other.counts is not None:
            merged = dict(self.counts)
            for key, value in other.counts.items():
                merged[key] = merged.get(key, 0) + value
            out.counts = merged if self.kind == "categorical" or len(merged) <= EXACT_DISTINCT else None
        return out


@dataclass
class TableDigest:
    """Column digests plus the bottom-k row sample of a model frame; :meth:`merge` is associative."""

    columns: dict[str, ColumnDigest]
    sample: pd.DataFrame
    keys: np.ndarray
    k: int = SAMPLE_ROWS

    @classmethod
    def of(cls, frame: pd.DataFrame, numerical: list[str], seed: int | None, k: int = SAMPLE_ROWS) -> TableDigest:
        """Digest of one partition (a model frame: numerical float64, categorical object)."""
        columns = {name: ColumnDigest.of("numerical" if name in numerical else "categorical", frame[name])
                   for name in frame.columns}
        keys = row_keys(frame, seed)
        keep = np.argsort(keys, kind="stable")[:k]
        return cls(columns, frame.iloc[keep].reset_index(drop=True), keys[keep], k)

    def merge(self, other: TableDigest) -> TableDigest:
        columns = {name: digest.merge(other.columns[name]) for name, digest in self.columns.items()}
        keys = np.concatenate([self.keys, other.keys])
        sample = pd.concat([self.sample, other.sample], ignore_index=True)
        keep = np.lexsort((np.arange(len(keys)), keys))[: self.k]
        # order by key, so the merged sample does not depend on the order partitions were merged in
        return TableDigest(columns, sample.iloc[keep].reset_index(drop=True), keys[keep], self.k)

    @property
    def n_rows(self) -> int:
        first = next(iter(self.columns.values()), None)
        return first.n if first else 0

    def category_counts(self, name: str) -> pd.Series:
        """Exact counts of a categorical column (no missing), most frequent first, ties by name."""
        counts = pd.Series(self.columns[name].counts or {}, dtype=np.int64)
        return counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")

    def numeric_values(self, name: str, limit: int = REPRESENTATIVE) -> np.ndarray:
        """Values standing for a numerical column (float64, NaN = missing), for an encoder's ``fit``.

        Exact counts repeated (scaled to ``limit`` values when there are more), else the row sample;
        missing values in their exact share (at least one when any is missing).
        """
        col = self.columns[name]
        present = col.n - col.n_missing
        if col.counts is not None:
            values = np.asarray(list(col.counts.keys()), dtype=float)
            counts = np.asarray(list(col.counts.values()), dtype=np.int64)
            order = np.argsort(values)
            values, counts = values[order], counts[order]
            if present > limit:
                counts = _scaled(counts, limit)
            finite = np.repeat(values, counts)
        else:
            sampled = self.sample[name].to_numpy(dtype=float)
            finite = sampled[~np.isnan(sampled)]
            finite = np.concatenate([finite, [col.low, col.high]])  # the exact range stays in
        if not col.n_missing:
            return finite
        n_missing = max(1, round(col.n_missing / max(present, 1) * len(finite))) if present else max(1, min(col.n_missing, limit))
        return np.concatenate([finite, np.full(n_missing, np.nan)])


def _scaled(counts: np.ndarray, total: int) -> np.ndarray:
    """Counts scaled to sum to ``total`` (largest remainders); every seen value keeps at least one."""
    exact = counts * (total / counts.sum())
    out = np.maximum(np.floor(exact).astype(np.int64), 1)
    short = total - int(out.sum())
    if short > 0:
        out[np.argsort(-(exact - np.floor(exact)), kind="stable")[:short]] += 1
    return out
