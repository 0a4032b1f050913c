"""DP building blocks over histograms: Gaussian counts, thresholded category sets, bounds, quantiles.

Every function takes a zCDP budget ``rho`` and a seeded numpy Generator, touches the data only
through counts (L2 sensitivity 1 under add/remove of one row, since a row adds 1 to one cell), and
returns only noisy aggregates. Noise comes from numpy's Generator — adequate for a reproducible
library, not hardened against floating-point side channels (as in opacus' non-secure mode).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri

__all__ = [
    "dp_bounds",
    "dp_bounds_from_counts",
    "exponential_choice",
    "gaussian_sigma",
    "log_bucket_counts",
    "log_bucket_edges",
    "threshold_for",
]


def gaussian_sigma(rho: float, sensitivity: float = 1.0) -> float:
    """σ of the Gaussian mechanism that is ``rho``-zCDP: ρ = Δ² / (2σ²)."""
    if rho <= 0:
        raise ValueError("rho must be positive")
    return sensitivity / math.sqrt(2.0 * rho)


def threshold_for(sigma: float, delta: float) -> float:
    """Release threshold τ so that a key held by a single row survives with probability ≤ ``delta``.

    A key present only in one neighbour has true count 1; it is released when 1 + N(0, σ²) > τ,
    so τ = 1 + σ Φ⁻¹(1 − δ) (the Gaussian "DP set union" argument).
    """
    return 1.0 + sigma * float(ndtri(1.0 - delta))


def log_bucket_edges(max_exponent: int = 64, min_exponent: int = -16) -> np.ndarray:
    """Public, data-independent bucket edges ±2^k used to find numeric bounds privately."""
    pos = 2.0 ** np.arange(min_exponent, max_exponent + 1)
    return np.concatenate([-pos[::-1], pos])


def log_bucket_counts(values: np.ndarray) -> np.ndarray:
    """Counts of finite ``values`` in the ±2^k buckets of :func:`log_bucket_edges` (mergeable: they add up)."""
    edges = log_bucket_edges()
    # bucket i holds [edges[i], edges[i+1]); values with |x| < 2^-16 fall into the middle bucket
    clipped = np.clip(values, edges[0], np.nextafter(edges[-1], -np.inf))
    index = np.searchsorted(edges, clipped, side="right") - 1
    return np.bincount(index, minlength=len(edges) - 1).astype(np.int64)


def dp_bounds(values: np.ndarray, rho: float, rng: np.random.Generator,
              false_bucket_rate: float = 1e-3) -> tuple[float, float] | None:
    """Private (low, high) of finite ``values`` from a noisy histogram over ±2^k buckets.

    The lowest and highest buckets whose noisy count clears the bar give the bounds — coarse (a
    factor of 2) but honest; pass public bounds in metadata for tighter ones. The bar is
    σΦ⁻¹(1 − r/B) for B buckets, so that an *empty* bucket (pure noise) clears it with probability
    at most r = ``false_bucket_rate`` over all of them — with a flat 3σ one of the ~160 empty
    buckets cleared it one time in five and stretched the range to ±2^50 (plus a small share of
    the noisy total, so isolated outliers are cut). Returns None when no bucket clears the bar.
    """
    return dp_bounds_from_counts(log_bucket_counts(values), rho, rng, false_bucket_rate)


def dp_bounds_from_counts(counts: np.ndarray, rho: float, rng: np.random.Generator,
                          false_bucket_rate: float = 1e-3) -> tuple[float, float] | None:
    """:func:`dp_bounds` from exact :func:`log_bucket_counts` (summed over batches on a cluster)."""
    edges = log_bucket_edges()
    counts = np.asarray(counts, dtype=float)
    sigma = gaussian_sigma(rho)
    noisy = counts + rng.normal(0.0, sigma, size=len(counts))
    total = max(float(np.clip(noisy, 0, None).sum()), 1.0)
    bar = max(sigma * float(ndtri(1.0 - false_bucket_rate / len(counts))), 0.001 * total)
    hits = np.flatnonzero(noisy > bar)
    if len(hits) == 0:
        return None
    return float(edges[hits[0]]), float(edges[hits[-1] + 1])


def exponential_choice(scores: np.ndarray, epsilon: float, sensitivity: float, rng: np.random.Generator) -> int:
    """Index drawn with probability ∝ exp(ε·score / (2Δ)) (the exponential mechanism, ε²/8-zCDP)."""
    logits = epsilon * np.asarray(scores, dtype=float) / (2.0 * sensitivity)
    logits -= logits.max()
    probs = np.exp(logits)
    probs /= probs.sum()
    return int(rng.choice(len(probs), p=probs))
