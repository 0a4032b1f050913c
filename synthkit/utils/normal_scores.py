"""Normal scores of ordered tokens: a smooth coordinate for a binned number's bins.

arm's normal-score features and the sequence model's normal heads both place each value token of
a numeric column at the normal quantile of the middle of its share of the values, in value order,
so that a spike holding most values sits near the centre instead of in a tail.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri  # the normal quantile function, vectorized

__all__ = ["normal_scores"]


def normal_scores(rank: np.ndarray, shares: np.ndarray, floor: float) -> np.ndarray:
    """[tokens, 2] each token's normal score z and z**2 - 1. ``rank``: each token's place in value
    order (0 .. tokens - 1); ``shares``: its weight (counts or shares, positive total); ``floor``:
    how close to 0 or 1 the middle may come before its quantile is taken."""
    share = shares / shares.sum()
    ordered = share[np.argsort(rank)]
    middle = np.cumsum(ordered) - ordered / 2
    z = ndtri(np.clip(middle[rank], floor, 1 - floor))
    return np.stack([z, z * z - 1.0], axis=1)
