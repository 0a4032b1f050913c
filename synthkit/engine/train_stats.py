"""Encoder inputs from merged statistics: what distributed training fits arm/gan/vae/flow encoders on.

Encoders (arm's :class:`~synthkit.transform.discretize.Discretizer`, gan/vae's
:class:`~synthkit.transform.table.TableEncoder`, flow's Gaussianized columns) are fitted column by
column from aggregates, so on a cluster every batch of the *model frame* (numbers as float64,
categories as strings) is summarized by :func:`synthkit.profile.sketch.sketch_batch` where it lives,
the sketches are merged on the driver (#17's :class:`~synthkit.profile.sketch.TableSketch`), and
:class:`EncoderStats` turns the merged sketch into what the encoders' ``fit`` functions take:

- category counts: exact (rare-category thresholds see true counts) while a column has at most
  ``MAX_CATEGORIES`` (10,000) distinct values; beyond that, estimated from the row sample;
- numbers: when the column has exact value counts (at most ``MAX_NUMERIC_VALUES``, 1,000, distinct values), the values
  repeated by their counts (the in-memory fit's input; above :data:`REPRESENTATIVE` values the
  counts are scaled down, shares kept to ±1 value); otherwise :data:`REPRESENTATIVE` evenly spaced
  quantiles of the sketch's summary plus the exact min and max, so bin edges and quantile grids are
  within the sketch's rank error (``rank_error_share``) of the true quantiles;
- missing values in their exact share (at least one when any is missing).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from synthkit.profile.sketch import TableSketch, row_keys, sketch_batch

__all__ = ["REPRESENTATIVE", "EncoderStats", "row_keys", "sketch_model_frame"]

log = logging.getLogger(__name__)
REPRESENTATIVE = 1_000_000
SAMPLE_ROWS = 20_000


def sketch_model_frame(frame: pd.DataFrame, seed: int | None) -> TableSketch:
    """The mergeable sketch of one batch of a model frame."""
    return sketch_batch(frame, sample_rows=SAMPLE_ROWS, seed=int(seed or 0))


class EncoderStats:
    """A merged model-frame :class:`TableSketch` seen as encoder inputs (see the module docstring)."""

    def __init__(self, sketch: TableSketch, numerical: list[str]) -> None:
        self.sketch = sketch
        self.numerical = set(numerical)

    @property
    def columns(self) -> list[str]:
        return list(self.sketch.columns)

    @property
    def n_rows(self) -> int:
        return int(self.sketch.rows)

    def kind(self, name: str) -> str:
        return "numerical" if name in self.numerical else "categorical"

    def n_missing(self, name: str) -> int:
        return int(self.sketch.columns[name].missing)

    def category_counts(self, name: str) -> pd.Series:
        """Counts of a categorical column (no missing), most frequent first, ties by name."""
        col = self.sketch.columns[name]
        if col.categories is not None:
            counts = pd.Series({str(k): int(v) for k, v in col.categories.items()}, dtype=np.int64)
        else:
            log.warning("column %r has more than 10,000 categories: their counts are estimated from a %d-row sample",
                        name, len(self.sketch.sample))
            seen = self.sketch.sample[name].dropna().astype(str).value_counts()
            counts = (seen * (col.present / max(int(seen.sum()), 1))).round().astype(np.int64).clip(lower=1)
        return counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")

    def numeric_values(self, name: str, limit: int = REPRESENTATIVE) -> np.ndarray:
        """Values standing for a numerical column (float64, NaN = missing), for an encoder's ``fit``."""
        col = self.sketch.columns[name]
        present = col.present
        if not present:
            return np.full(max(1, min(col.missing, limit)), np.nan)
        if col.categories is not None:
            values = np.asarray(list(col.categories.keys()), dtype=float)
            counts = np.asarray(list(col.categories.values()), dtype=np.int64)
            order = np.argsort(values)
            values, counts = values[order], counts[order]
            finite = np.repeat(values, _scaled(counts, limit) if present > limit else counts)
        else:
            size = min(present, limit)
            finite = np.concatenate([[col.minimum], col.quantiles((np.arange(size) + 0.5) / size), [col.maximum]])
            finite = np.sort(finite.astype(float))
        if not col.missing:
            return finite
        n_missing = max(1, round(col.missing / present * len(finite)))
        return np.concatenate([finite, np.full(n_missing, np.nan)])

    def spec_facts(self, name: str) -> dict[str, Any]:
        """Exact facts a :class:`~synthkit.transform.schema.ColumnSpec` keeps: nullable, integer, min, max."""
        col = self.sketch.columns[name]
        return {"nullable": col.missing > 0, "integer": bool(col.present and col.integral),
                "low": col.minimum, "high": col.maximum}


def _scaled(counts: np.ndarray, total: int) -> np.ndarray:
    """Counts scaled to sum to ``total`` (largest remainders); every seen value keeps at least one."""
    exact = counts * (total / counts.sum())
    out = np.maximum(np.floor(exact).astype(np.int64), 1)
    short = total - int(out.sum())
    if short > 0:
        out[np.argsort(-(exact - np.floor(exact)), kind="stable")[:short]] += 1
    return out
