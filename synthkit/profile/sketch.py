"""Mergeable per-column statistics: computed per batch or partition, merged on the driver.

A :class:`TableSketch` holds, per column, counts, missing values, min/max, sums for mean and
variance, exact category (value) counts up to ``MAX_CATEGORIES`` distinct values, and a quantile
summary; plus a seeded row sample. Merging is associative and commutative (sums, count dicts,
unions), so the result does not depend on how rows were split into batches or workers.

Quantiles: each batch keeps its values exactly when it has at most ``QUANTILE_POINTS`` of them,
else ``QUANTILE_POINTS`` order statistics at evenly spaced ranks, each standing for ``m / M`` rows.
A merged quantile is read off the union of weighted points. Error bound (stated in rows and kept
in ``ColumnSketch.rank_error``): a batch summary misplaces any rank by at most one point's weight
``m / M``; merged summaries add these, so the normalized rank error is at most ``1 / M``
(``M = 1024``: 0.1 %). When a column's union exceeds ``MAX_POINTS`` points it is compressed to half
as many equal-weight points, which adds ``W / points`` rows to the bound (``W`` the weight then);
``quantile(q)`` returns a value whose true rank lies within ``q * n ± rank_error`` (plus one row).

Distinct counts are exact while a column has at most ``MAX_CATEGORIES`` values (text, booleans) or
``MAX_NUMERIC_VALUES`` values (numbers, dates: beyond that they are continuous); beyond that they
are K-minimum-values estimates over seeded value hashes (``DISTINCT_K = 4096``: ~1.6 % relative error).

The row sample is a bottom-k sample by a seeded hash of each row's content, so the same seed picks
the same rows however the table is partitioned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from synthkit.errors import DataError

__all__ = ["ColumnSketch", "TableSketch", "sketch_batch", "QUANTILE_POINTS", "MAX_CATEGORIES"]

QUANTILE_POINTS = 1024
MAX_POINTS = 1 << 16  # per column: 0.5 MB of points + weights, whatever the row count
MAX_CATEGORIES = 10_000
MAX_NUMERIC_VALUES = 1_000  # numbers and dates: exact value counts up to here (codes, small integers)
DISTINCT_K = 4096
_NS_PER_DAY = 86_400 * 10**9


@dataclass
class ColumnSketch:
    """Statistics of one column that merge by addition (see module docstring)."""

    name: str
    family: str  # "numeric" | "datetime" | "boolean" | "string"
    dtype: str
    count: int = 0  # rows
    missing: int = 0
    minimum: float | None = None
    maximum: float | None = None
    total: float = 0.0
    total_sq: float = 0.0
    zeros: int = 0
    integral: bool = True
    date_only: bool = True
    trues: int = 0
    length_sum: int = 0
    length_max: int = 0
    categories: dict[Any, int] | None = field(default_factory=dict)  # None: more than MAX_CATEGORIES distinct
    distinct_hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))  # KMV: k smallest
    points: np.ndarray = field(default_factory=lambda: np.zeros(0))
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rank_error: float = 0.0  # rows

    @property
    def max_categories(self) -> int:
        return MAX_CATEGORIES if self.family in ("string", "boolean") else MAX_NUMERIC_VALUES

    @property
    def present(self) -> int:
        return self.count - self.missing

    @property
    def distinct(self) -> int:
        """Exact distinct count; after overflow a K-minimum-values estimate (relative error ~ 1/sqrt(DISTINCT_K))."""
        if self.categories is not None:
            return len(self.categories)
        if len(self.distinct_hashes) < DISTINCT_K:
            return len(self.distinct_hashes)
        kth = float(self.distinct_hashes[DISTINCT_K - 1]) / 2.0**64
        return min(int(round((DISTINCT_K - 1) / kth)), self.present)

    def _kmv(self) -> np.ndarray:
        if self.categories is None:
            return self.distinct_hashes
        if not self.categories:
            return np.zeros(0, dtype=np.uint64)
        return _hashes(list(self.categories) if self.family == "string" else np.fromiter(self.categories, dtype=float))

    def merge(self, other: ColumnSketch) -> ColumnSketch:
        """A new sketch of both inputs' rows."""
        out = ColumnSketch(self.name, self.family, self.dtype)
        out.count, out.missing = self.count + other.count, self.missing + other.missing
        mins = [v for v in (self.minimum, other.minimum) if v is not None]
        maxs = [v for v in (self.maximum, other.maximum) if v is not None]
        out.minimum, out.maximum = (min(mins) if mins else None), (max(maxs) if maxs else None)
        out.total, out.total_sq = self.total + other.total, self.total_sq + other.total_sq
        out.zeros, out.trues = self.zeros + other.zeros, self.trues + other.trues
        out.integral, out.date_only = self.integral and other.integral, self.date_only and other.date_only
        out.length_sum, out.length_max = self.length_sum + other.length_sum, max(self.length_max, other.length_max)
        merged: dict[Any, int] | None = None
        if self.categories is not None and other.categories is not None:
            merged = dict(self.categories)
            for key, value in other.categories.items():
                merged[key] = merged.get(key, 0) + value
        if merged is not None and len(merged) <= self.max_categories:
            out.categories = merged
        else:  # overflow: distinct values from here on are counted by their smallest hashes
            out.categories = None
            out.distinct_hashes = np.union1d(self._kmv(), other._kmv())[:DISTINCT_K]
        out.points = np.concatenate([self.points, other.points])
        out.weights = np.concatenate([self.weights, other.weights])
        out.rank_error = self.rank_error + other.rank_error
        if len(out.points) > MAX_POINTS:
            out._compress(MAX_POINTS // 2)
        return out

    def _compress(self, size: int) -> None:
        order = np.argsort(self.points, kind="stable")
        values, cum = self.points[order], np.cumsum(self.weights[order])
        total = float(cum[-1])
        targets = (np.arange(size) + 0.5) * total / size
        self.points = values[np.minimum(np.searchsorted(cum, targets, side="left"), len(values) - 1)]
        self.weights = np.full(size, total / size)
        self.rank_error += total / size

    def quantiles(self, qs: Any) -> np.ndarray:
        """Values at probabilities ``qs`` (an order statistic within ``rank_error`` rows)."""
        qs = np.atleast_1d(np.asarray(qs, dtype=float))
        if not len(self.points):
            return np.full(len(qs), np.nan)
        order = np.argsort(self.points, kind="stable")
        values, cum = self.points[order], np.cumsum(self.weights[order])
        idx = np.searchsorted(cum, qs * cum[-1] - 1e-9, side="left")
        return values[np.clip(idx, 0, len(values) - 1)]

    @property
    def mean(self) -> float:
        return self.total / self.present if self.present else float("nan")

    @property
    def std(self) -> float:
        """Sample standard deviation (ddof=1) from the merged sums."""
        k = self.present
        if k < 2:
            return 0.0
        return float(np.sqrt(max(self.total_sq - self.total**2 / k, 0.0) / (k - 1)))


def _family(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series.dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series.dtype) and not isinstance(series.dtype, pd.CategoricalDtype):
        return "numeric"
    return "string"


def _as_float(series: pd.Series, family: str) -> np.ndarray:
    if family == "datetime":
        values = series.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(series.dtype, "tz", None) else series
        return values.astype("datetime64[ns]").astype("int64").to_numpy(dtype=float)
    return series.to_numpy(dtype=float)


def sketch_column(series: pd.Series, name: str) -> ColumnSketch:
    """The sketch of one batch of a column."""
    family = _family(series)
    out = ColumnSketch(name, family, str(series.dtype), count=len(series))
    present = series.dropna()
    out.missing = len(series) - len(present)
    if present.empty:
        return out
    if family == "string":
        counts = present.astype(str).value_counts(sort=False)
        lengths = counts.index.str.len().to_numpy()  # per distinct value, weighted by its count
        out.length_sum, out.length_max = int((lengths * counts.to_numpy()).sum()), int(lengths.max())
    elif family == "boolean":
        out.trues = int(present.astype(bool).sum())
        counts = present.astype(bool).value_counts(sort=False)
    else:
        values = np.sort(_as_float(present, family))
        values = values[np.isfinite(values)]
        if not len(values):
            return out
        out.total, out.total_sq = float(values.sum()), float((values * values).sum())  # no BLAS threads per batch
        out.zeros = int((values == 0).sum())
        out.minimum, out.maximum = float(values[0]), float(values[-1])
        out.integral = bool(np.all(np.floor(values) == values))
        out.date_only = family == "datetime" and bool(np.all(np.mod(values, _NS_PER_DAY) == 0))
        starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))  # runs of the sorted values
        freq = np.diff(np.append(starts, len(values)))
        counts = pd.Series(freq, index=values[starts])
        out.points, out.weights, out.rank_error = _summary(values)
    if len(counts) <= out.max_categories:
        out.categories = {_key(k): int(v) for k, v in counts.items()}
    else:
        out.categories, out.distinct_hashes = None, _hashes(counts.index)
    return out


def _hashes(keys: Any) -> np.ndarray:
    """The ``DISTINCT_K`` smallest hashes of distinct values (a K-minimum-values distinct sketch)."""
    index = keys if isinstance(keys, pd.Index) else pd.Index(keys)
    # text via pandas: numpy's astype(str) made a fixed-width copy (4 bytes x longest value x count)
    arr = index.to_numpy(dtype=float) if index.dtype.kind in "fiub" else index.astype(str).to_numpy(dtype=object)
    hashes = pd.util.hash_array(arr)  # distinct values: (almost surely) distinct hashes
    if len(hashes) > DISTINCT_K:
        hashes = np.partition(hashes, DISTINCT_K - 1)[:DISTINCT_K]
    return np.unique(hashes)


def _key(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    return value


def _summary(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    m = len(sorted_values)
    if m <= QUANTILE_POINTS:
        return sorted_values.astype(float), np.ones(m), 0.0
    ranks = np.minimum(((np.arange(QUANTILE_POINTS) + 0.5) * m / QUANTILE_POINTS).astype(np.int64), m - 1)
    weight = m / QUANTILE_POINTS
    return sorted_values[ranks].astype(float), np.full(QUANTILE_POINTS, weight), weight


@dataclass
class TableSketch:
    """Column sketches of one table plus a seeded bottom-k row sample."""

    columns: dict[str, ColumnSketch]
    rows: int
    kept: Any  # the row sample: an Arrow table while sketches merge (see _kept_rows), a DataFrame once read
    sample_keys: np.ndarray
    content: int = 0  # sum mod 2**64 of every row's content hash: the same rows give the same value at any batching

    @property
    def sample(self) -> pd.DataFrame:
        """The seeded bottom-k row sample."""
        if not isinstance(self.kept, pd.DataFrame):
            self.kept = self.kept.to_pandas()
        return self.kept

    @sample.setter
    def sample(self, frame: pd.DataFrame) -> None:
        self.kept = frame

    @property
    def rank_error_share(self) -> float:
        """Largest normalized quantile rank error over the columns (the stated bound)."""
        errs = [c.rank_error / c.present for c in self.columns.values() if c.present]
        return max(errs, default=0.0)

    def merge(self, other: TableSketch, sample_rows: int) -> TableSketch:
        cols = {name: sk.merge(other.columns[name]) for name, sk in self.columns.items()}
        keys = np.concatenate([self.sample_keys, other.sample_keys])
        keep = np.argsort(keys, kind="stable")[:sample_rows]
        return TableSketch(cols, self.rows + other.rows, _take_rows(self.kept, other.kept, keep), keys[keep],
                           (self.content + other.content) % 2**64)

    @classmethod
    def merge_all(cls, sketches: Any, sample_rows: int = 20_000, seed: int = 0) -> TableSketch:
        """Merge sketches (an iterable, consumed as it arrives); the sample ends sorted by its keys."""
        merged: TableSketch | None = None
        for sk in sketches:
            merged = sk if merged is None else merged.merge(sk, sample_rows)
        if merged is None:

            raise DataError("the source has no rows")
        order = np.argsort(merged.sample_keys, kind="stable")
        merged.sample, merged.sample_keys = merged.sample.iloc[order].reset_index(drop=True), merged.sample_keys[order]
        return merged


def sketch_batch(batch: Any, sample_rows: int = 20_000, seed: int = 0, keep_share: float = 1.0) -> TableSketch:
    """The sketch of one batch (a pyarrow Table or a DataFrame). Only rows whose key falls below
    ``keep_share`` of the hash range are sample candidates: a bottom-k sample of a table of ``N``
    rows needs only ``keep_share ~ 2 k / N`` of them, so batches ship few rows to the driver."""
    frame = batch if isinstance(batch, pd.DataFrame) else batch.to_pandas()
    frame.columns = [str(c) for c in frame.columns]
    cols = {name: sketch_column(frame[name], name) for name in frame.columns}
    keys = row_keys(frame, seed)
    content = int(keys.sum(dtype=np.uint64))  # wraps modulo 2**64
    if keep_share < 1.0:
        keys = np.where(keys <= np.uint64(keep_share * float(2**64 - 1)), keys, np.uint64(2**64 - 1))
    keep = np.argsort(keys, kind="stable")[:sample_rows]
    keep = keep[keys[keep] < np.uint64(2**64 - 1)] if keep_share < 1.0 else keep
    return TableSketch(cols, len(frame), _kept_rows(frame.iloc[keep].reset_index(drop=True)), keys[keep], content)


def _kept_rows(frame: pd.DataFrame) -> Any:
    """Sample rows as an Arrow table when they round-trip to the same dtypes, else the DataFrame.

    Why: a DataFrame's text cells are Python strings allocated among their batch's strings; a few
    kept rows per batch pin the allocator arenas of every batch (memory grew with the batch count).
    Arrow buffers are freed whole."""
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        return frame
    back = table.to_pandas()
    return table if list(back.columns) == list(frame.columns) and back.dtypes.equals(frame.dtypes) else frame


def _take_rows(a: Any, b: Any, keep: np.ndarray) -> Any:
    """Rows ``keep`` of ``a`` followed by ``b`` (Arrow tables or DataFrames)."""
    if isinstance(a, pa.Table) and isinstance(b, pa.Table):
        try:
            return pa.concat_tables([a, b], promote_options="permissive").take(keep)
        except pa.ArrowException:
            pass
    frames = [x if isinstance(x, pd.DataFrame) else x.to_pandas() for x in (a, b)]
    return pd.concat(frames, ignore_index=True).iloc[keep].reset_index(drop=True)


def row_keys(frame: pd.DataFrame, seed: int) -> np.ndarray:
    """A seeded 64-bit hash of each row's content (independent of the row's position)."""
    hash_key = f"{seed & 0xFFFFFFFF:016x}"[-16:]
    return pd.util.hash_pandas_object(frame, index=False, hash_key=hash_key).to_numpy(dtype=np.uint64)
