"""Rebalancing with conditional sampling: synthetic rows that give a column the class shares you want.

Typical use is augmenting a scarce class before training a classifier::

    extra = augment(real, model, column="income", value=">50K", target_share=0.5)
    balanced = pd.concat([real, extra], ignore_index=True)

Every helper draws through ``model.sample(k, conditions={column: value})``, so ``arm`` and
``bayesnet`` condition natively (a numeric condition gets its exact value; bayesnet's is exact on
its tree) and the others fall back to the base class's rejection sampling.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthkit.errors import DataError
from synthkit.models.base import Synthesizer

__all__ = ["allocate", "augment", "rows_needed", "sample_with_shares"]


def allocate(n: int, shares: dict[Any, float]) -> dict[Any, int]:
    """Split ``n`` rows by ``shares`` (normalized) with the largest-remainder rule: counts sum to ``n``."""
    if not shares:
        raise DataError("shares must name at least one value")
    weights = np.array([float(w) for w in shares.values()])
    if (weights < 0).any() or not np.isfinite(weights).all() or weights.sum() <= 0:
        raise DataError(f"shares must be non-negative numbers with a positive sum, got {shares}")
    exact = n * weights / weights.sum()
    counts = np.floor(exact).astype(int)
    counts[np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]] += 1
    return {value: int(c) for value, c in zip(shares, counts)}


def sample_with_shares(model: Synthesizer, n: int, column: str, shares: dict[Any, float],
                       seed: int | None = None) -> pd.DataFrame:
    """``n`` synthetic rows whose ``column`` takes each value of ``shares`` in that proportion (shuffled)."""
    rng = np.random.default_rng(seed)
    parts = []
    for value, count in allocate(n, shares).items():
        if count:
            parts.append(model.sample(count, seed=int(rng.integers(0, 2**31 - 1)), conditions={column: value}))
    out = pd.concat(parts, ignore_index=True)
    return out.iloc[rng.permutation(len(out))].reset_index(drop=True)


def rows_needed(real: pd.DataFrame, column: str, value: Any, target_share: float) -> int:
    """How many extra rows of ``value`` bring its share of ``column`` to ``target_share``."""
    if column not in real.columns:
        raise DataError(f"column {column!r} is not in the data")
    if not 0.0 < float(target_share) < 1.0:
        raise DataError(f"target_share must be between 0 and 1 (exclusive), got {target_share!r}")
    have = int((real[column].astype(object) == value).sum())
    total = len(real)
    need = (float(target_share) * total - have) / (1.0 - float(target_share))
    return max(int(np.ceil(need - 1e-9)), 0)


def augment(real: pd.DataFrame, model: Synthesizer, column: str, value: Any, target_share: float,
            seed: int | None = None) -> pd.DataFrame:
    """Synthetic rows of ``column == value``, just enough that real + these reach ``target_share``.

    Returns only the new rows (possibly none); concatenate them with ``real`` yourself so that the
    real and synthetic parts stay distinguishable.
    """
    k = rows_needed(real, column, value, target_share)
    if k == 0:
        return real.iloc[:0].copy()
    return model.sample(k, seed=seed, conditions={column: value})
