"""One documented mixed-type encoding for every distance-based metric.

Distances between rows of mixed data need numbers and categories on one scale. We use a
Gower-like Euclidean embedding, fitted on the *real* data only:

* numeric (and datetime) columns: ``(x - q01) / (q99 - q01)`` with the real 1st/99th percentiles
  (falling back to min/max, then to 1), so a typical full-range difference counts 1 and outliers
  cannot dominate the scale; missing values are imputed with the real median and flagged in an
  extra 0/1 column, so "missing vs present" also costs 1;
* categorical / boolean columns: one-hot over the ``max_categories`` most frequent real values
  (rarer and unseen values share one "other" slot, missing is its own slot), scaled by
  ``1/sqrt(2)`` so a mismatch adds exactly 1 to the squared distance, like a full-range number.

The result is a dense float32 matrix: scikit-learn's brute-force neighbour search on it is
multithreaded and chunked, which bounds memory for large inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["CONTINUOUS", "DISCRETE", "MixedEncoder"]

CONTINUOUS = ("numerical", "datetime")
DISCRETE = ("categorical", "boolean")
_HALF = np.float32(1 / np.sqrt(2))


@dataclass
class MixedEncoder:
    """Fit on real rows, then ``transform`` any frame with the same columns into a float matrix."""

    kinds: dict[str, str]
    max_categories: int = 30
    lo_: dict[str, float] = field(default_factory=dict)
    scale_: dict[str, float] = field(default_factory=dict)
    median_: dict[str, float] = field(default_factory=dict)
    has_missing_: dict[str, bool] = field(default_factory=dict)
    levels_: dict[str, list[str]] = field(default_factory=dict)
    slices_: dict[str, slice] = field(default_factory=dict)

    def fit(self, real: pd.DataFrame) -> MixedEncoder:
        start = 0
        for col, kind in self.kinds.items():
            values = real[col]
            if kind in CONTINUOUS:
                arr = values.to_numpy(dtype=float, na_value=np.nan)
                finite = arr[np.isfinite(arr)]
                if len(finite):
                    q01, q99 = np.quantile(finite, [0.01, 0.99])
                    scale = q99 - q01 if q99 > q01 else float(finite.max() - finite.min())
                    self.median_[col] = float(np.median(finite))
                else:
                    q01, scale = 0.0, 1.0
                    self.median_[col] = 0.0
                self.lo_[col] = float(q01)
                self.scale_[col] = float(scale) if scale > 0 else 1.0
                # every frame gets the flag when real or later data may miss values: fixed width
                self.has_missing_[col] = True
                width = 2
            else:
                counts = values.astype("object").value_counts(dropna=True)
                self.levels_[col] = [str(v) for v in counts.index[: self.max_categories]]
                width = len(self.levels_[col]) + 2  # + other + missing
            self.slices_[col] = slice(start, start + width)
            start += width
        self.width_ = start
        return self

    def transform(self, frame: pd.DataFrame, columns: list[str] | None = None) -> np.ndarray:
        """Encode ``frame``; with ``columns`` only those columns' blocks (for attacks on subsets)."""
        columns = list(self.kinds) if columns is None else columns
        blocks = []
        for col in columns:
            kind = self.kinds[col]
            if kind in CONTINUOUS:
                arr = frame[col].to_numpy(dtype=float, na_value=np.nan)
                miss = ~np.isfinite(arr)
                arr = np.where(miss, self.median_[col], arr)
                scaled = (arr - self.lo_[col]) / self.scale_[col]
                blocks.append(np.column_stack([scaled, miss.astype(float)]).astype(np.float32))
            else:
                levels = self.levels_[col]
                codes = pd.Categorical(frame[col].astype("object").map(_to_str), categories=levels).codes
                codes = codes.astype(np.int64)
                missing = frame[col].isna().to_numpy()
                codes = np.where(codes < 0, len(levels), codes)  # other
                codes = np.where(missing, len(levels) + 1, codes)
                onehot = np.zeros((len(frame), len(levels) + 2), dtype=np.float32)
                onehot[np.arange(len(frame)), codes] = _HALF
                blocks.append(onehot)
        if not blocks:
            return np.zeros((len(frame), 0), dtype=np.float32)
        return np.ascontiguousarray(np.hstack(blocks))


def _to_str(value: object) -> object:
    return value if isinstance(value, str) or value is None else str(value)
