"""Exact, mergeable counts the DP domain release reads: the same numbers from one frame or a cluster.

:class:`~synthkit.privacy.preprocess.DPDiscretizer` touches the data only through histograms
(sensitivity 1 per column). Computing them per batch and adding them up gives exactly the counts of
the whole table, so the release on a cluster is the release of one process (same counts, same
seeded noise), and no worker ever holds the table:

1. :func:`domain_tally` — per categorical column the count of every present value (as a string)
   and of missing cells; per numeric column the counts over the public ±2^k buckets
   (:func:`~synthkit.privacy.mechanisms.log_bucket_counts`, for the DP bounds), of finite values
   and of missing cells (and its exact min / max, used only without noise, the ε = ∞ reference). The
   row count rides along (public: it sets δ and the sampling rate).
2. :func:`grid_tally` — once the bounds are released: per numeric column the counts over its fine
   grid (:class:`NumericGrid`) and of exact zeros.

:func:`merge_tallies` adds the tallies of batches. Tallies are plain dicts of ints and int64
arrays (cheap to ship between processes, no pickled objects of ours).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthkit.privacy.mechanisms import log_bucket_counts

__all__ = ["NumericGrid", "domain_tally", "grid_tally", "merge_tallies", "numeric_grid"]


@dataclass(frozen=True)
class NumericGrid:
    """The fine histogram of a numeric column over its released bounds (public once they are)."""

    low: float
    high: float
    width: float
    cells: int
    atom: bool  # 0 lies in [low, high]: exact zeros get a cell of their own


def numeric_grid(low: float, high: float, integer: bool, grid: int) -> NumericGrid:
    """``grid`` equal cells over [low, high]; integer columns get whole-number cells."""
    if integer:
        low, high = math.floor(low), math.ceil(high)
        width = max(1.0, float(math.ceil((high - low + 1) / grid)))
        cells = math.ceil((high - low + 1) / width)
    else:
        cells = grid
        width = (high - low) / cells if high > low else 1.0
    return NumericGrid(float(low), float(high), float(width), int(cells), bool(low <= 0.0 <= high))


def domain_tally(frame: pd.DataFrame, numerical: list[str], categorical: list[str]) -> dict[str, Any]:
    """Counts of one batch of a model frame (see the module docstring, step 1)."""
    out: dict[str, Any] = {"rows": len(frame), "categorical": {}, "numerical": {}}
    for name in categorical:
        values = frame[name]
        counts = values.dropna().astype(str).value_counts(sort=False)
        out["categorical"][name] = {"counts": {str(k): int(v) for k, v in counts.items()},
                                    "missing": int(values.isna().sum())}
    for name in numerical:
        values = frame[name].to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        out["numerical"][name] = {"buckets": log_bucket_counts(finite), "present": len(finite),
                                  "missing": int(np.isnan(values).sum()),
                                  "min": float(finite.min()) if len(finite) else math.inf,
                                  "max": float(finite.max()) if len(finite) else -math.inf}
    return out


def grid_tally(frame: pd.DataFrame, grids: dict[str, NumericGrid]) -> dict[str, Any]:
    """Fine-grid counts of one batch (step 2): ``{column: {"cells": int64 array, "zero": int}}``."""
    out: dict[str, Any] = {}
    for name, g in grids.items():
        values = frame[name].to_numpy(dtype=float)
        x = np.clip(values[np.isfinite(values)], g.low, g.high)
        is_zero = (x == 0.0) if g.atom else np.zeros(len(x), dtype=bool)
        cell = np.minimum(((x[~is_zero] - g.low) // g.width).astype(np.int64), g.cells - 1)
        out[name] = {"cells": np.bincount(cell, minlength=g.cells).astype(np.int64), "zero": int(is_zero.sum())}
    return out


def merge_tallies(parts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The sum of tallies of the same kind (counts add up; category dicts are united)."""
    total: dict[str, Any] | None = None
    for part in parts:
        total = part if total is None else _add(total, part)
    if total is None:
        raise ValueError("no tallies to merge")
    return total


def _add(a: Any, b: Any) -> Any:
    if not isinstance(a, dict):
        return a + b  # counts: ints and int64 arrays
    out = {k: _add(a[k], b[k]) if k in b else a[k] for k in a}
    out.update({k: v for k, v in b.items() if k not in a})
    if "buckets" in a:  # a numeric column: its exact min / max (kept for the no-noise reference)
        out["min"], out["max"] = min(a["min"], b["min"]), max(a["max"], b["max"])
    return out
