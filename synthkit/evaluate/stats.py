"""Small statistics shared by the metric families: intervals, AUCs, risks, nearest neighbours.

Kept in one place so every family reports uncertainty the same way (Wilson intervals for shares, on
the effective sample size when rows come in entities; Hanley-McNeil for AUCs; anonymeter's
propagation for attack-vs-control risks).
"""

from __future__ import annotations

import math
import os

import numpy as np
from scipy.stats import norm
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

__all__ = ["attack_risk", "auc_with_ci", "clip01", "clustered_share_ci", "fnum", "knn", "openmp_single", "success_rate",
           "wilson"]

Z95 = float(norm.ppf(0.975))


def openmp_single() -> threadpool_limits:
    """Limit OpenMP and BLAS pools to ``SYNTHKIT_EVAL_THREADS`` threads (default 1).

    Their worker threads spin-wait; on a shared, oversubscribed machine a 2-thread
    HistGradientBoosting fit measured 25x and a 2-thread logistic regression 10x slower than
    single-threaded. One thread is predictable; set the variable to use more on an idle machine.
    """
    return threadpool_limits(limits=int(os.environ.get("SYNTHKIT_EVAL_THREADS", "1")))


def fnum(value: float | None) -> float | None:
    """A plain JSON float, or None for NaN/inf/None (JSON has no NaN)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def clip01(value: float) -> float:
    return float(min(1.0, max(0.0, value)))


def wilson(successes: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a share; ``successes`` may be fractional (ties split 0.5)."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0)) / den
    return (clip01(centre - half), clip01(centre + half))


def clustered_share_ci(values: np.ndarray, groups: np.ndarray | None, z: float = Z95) -> tuple[float, float]:
    """Wilson interval of the mean of per-row shares (0, ½ or 1) whose rows come in clusters.

    Rows of one entity (a synthetic patient's encounters) are not independent, so counting them as
    independent draws gives too narrow an interval. The Wilson interval is computed on the
    effective sample size n / deff (Kish), with the design effect deff = cluster-robust (CR1)
    variance of the mean / binomial variance, at least 1: singleton clusters give Wilson's own
    interval. When every row has the same value the variance ratio is undefined and deff is the
    mean cluster size (intra-cluster correlation 1, the cautious end). ``groups=None``: Wilson.
    """
    values = np.asarray(values, dtype=float)
    n = len(values)
    if groups is None or n == 0:
        return wilson(float(values.sum()), n, z)
    _, cluster = np.unique(np.asarray(groups), return_inverse=True)
    n_clusters = int(cluster.max()) + 1
    p = float(values.mean())
    if n_clusters < 2:
        return (0.0, 1.0)
    binomial = p * (1 - p) / n
    residual_sums = np.bincount(cluster, weights=values - p, minlength=n_clusters)
    robust = n_clusters / (n_clusters - 1) * float((residual_sums**2).sum()) / n**2
    deff = max(1.0, robust / binomial) if binomial > 0 else n / n_clusters
    n_eff = n / deff
    return wilson(p * n_eff, n_eff, z)


def success_rate(n_success: int, n_total: int, z: float = Z95) -> tuple[float, float]:
    """anonymeter's success rate: the Wilson centre and half-width (value, error)."""
    if n_total <= 0:
        return (0.0, 1.0)
    z2 = z * z
    var = n_success * (n_total - n_success) / n_total
    den = n_total + z2
    return ((n_success + 0.5 * z2) / den, (z / den) * math.sqrt(var + 0.25 * z2))


def attack_risk(
    attack: tuple[float, float], control: tuple[float, float]
) -> tuple[float, tuple[float, float]]:
    """Risk = (attack - control) / (1 - control) with first-order error propagation (anonymeter)."""
    a, a_err = attack
    c, c_err = control
    den = 1.0 - c
    if den <= 1e-12:  # the control already always succeeds: the attack can add nothing
        return 0.0, (0.0, 1.0)
    risk = (a - c) / den
    err = math.sqrt((a_err / den) ** 2 + (c_err * (a - 1.0) / den**2) ** 2)
    lo, hi = clip01(risk - err), clip01(risk + err)
    return clip01(risk), (lo, hi)


def auc_with_ci(labels: np.ndarray, scores: np.ndarray) -> tuple[float, tuple[float, float]]:
    """ROC AUC with the Hanley-McNeil (1982) 95% interval."""
    labels = np.asarray(labels).astype(bool)
    n1, n0 = int(labels.sum()), int((~labels).sum())
    if n1 == 0 or n0 == 0:
        return float("nan"), (float("nan"), float("nan"))
    auc = float(roc_auc_score(labels, scores))
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n1 - 1) * (q1 - auc * auc) + (n0 - 1) * (q2 - auc * auc)) / (n1 * n0)
    half = Z95 * math.sqrt(max(var, 0.0))
    return auc, (clip01(auc - half), clip01(auc + half))


def knn(reference: np.ndarray, query: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances and indices of the ``k`` nearest reference rows of every query row.

    scikit-learn's brute-force search runs chunked (bounded memory) and multi-threaded, which on
    encoded tabular data (~100 dense dimensions) beats trees.
    """
    k = min(k, len(reference))
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute", metric="euclidean").fit(reference)
    dist, idx = nn.kneighbors(query, return_distance=True)
    return dist, idx
