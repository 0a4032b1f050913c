"""Detection and sample-level fidelity: can a classifier tell synthetic from real rows?

* ``detection_auc``: a classifier two-sample test. Equal-size real and synthetic samples are
  labelled, a histogram gradient-boosting classifier (native categorical and missing-value
  support) is cross-validated, and the ROC AUC of the out-of-fold scores is reported with its
  Hanley-McNeil interval; 0.5 means indistinguishable, 1.0 trivially separable.
* ``alpha_precision``, ``beta_recall``, ``authenticity`` (Alaa et al., ICML 2022, "How faithful is
  your synthetic data?"), computed on the shared mixed-type embedding instead of a learned
  one-class embedding (the "naive" variant synthcity also offers): alpha-precision integrates how
  well the share of synthetic rows inside the real alpha-support ball follows alpha; beta-recall
  does the same for real rows covered by synthetic neighbours; authenticity is the share of
  synthetic rows farther from their closest real row than that real row is from its own nearest
  real neighbour (the paper's definition, 1.0 = no copies).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold

from synthkit.evaluate.encoding import CONTINUOUS
from synthkit.evaluate.stats import auc_with_ci, fnum, knn, openmp_single

__all__ = ["detection_auc", "fillable_for_trees", "precision_recall_authenticity", "tree_features"]

_MAX_CODES = 250  # HistGradientBoosting's categorical limit is max_bins (255)


def tree_features(
    frames: list[pd.DataFrame], kinds: dict[str, str], basis: pd.DataFrame | None = None
) -> tuple[list[np.ndarray], np.ndarray]:
    """Float matrices for tree models: numbers as-is, categories as shared codes (NaN = missing).

    Codes are the most frequent values of ``basis`` (default: the first frame); the rest share an
    "other" code. A two-sample test must pass both samples as ``basis``: with one sample's values
    only, values unseen in it would all be "other" in the other sample, a spurious tell.
    """
    basis = frames[0] if basis is None else basis
    cols = list(kinds)
    is_cat = np.array([kinds[c] not in CONTINUOUS for c in cols], dtype=bool)
    mats = [np.empty((len(f), len(cols)), dtype=float) for f in frames]
    for j, col in enumerate(cols):
        if not is_cat[j]:
            for m, f in zip(mats, frames):
                m[:, j] = f[col].to_numpy(dtype=float)
            continue
        top = basis[col].value_counts(dropna=True).index[: _MAX_CODES - 1]
        cats = pd.Index(top)
        for m, f in zip(mats, frames):
            codes = pd.Categorical(f[col], categories=cats).codes.astype(float)
            codes[(codes < 0) & f[col].notna().to_numpy()] = len(cats)  # rare/unseen -> "other"
            codes[f[col].isna().to_numpy()] = np.nan
            m[:, j] = codes
    return mats, is_cat


def fillable_for_trees(x: np.ndarray) -> np.ndarray:
    """``x`` with every all-missing column set to 0, for fitting a HistGradientBoosting model.

    scikit-learn's histogram binning raises a bare ValueError on a feature without a single value
    (a synthetic column sampled entirely missing, say); such a feature carries no information, and
    a constant is never split on, so the fitted model is the one that column's absence gives.
    """
    empty = np.isnan(x).all(axis=0)
    if not empty.any():
        return x
    x = x.copy()
    x[:, empty] = 0.0
    return x


def detection_auc(
    real: pd.DataFrame, syn: pd.DataFrame, kinds: dict[str, str], seed: int, folds: int = 5, max_each: int = 10_000
) -> dict[str, Any]:
    """Cross-validated real-vs-synthetic classifier AUC with a 95% interval."""
    rng = np.random.default_rng(seed)
    n = min(len(real), len(syn), max_each)
    r = real.iloc[np.sort(rng.choice(len(real), n, replace=False))]
    s = syn.iloc[np.sort(rng.choice(len(syn), n, replace=False))]
    (xr, xs), is_cat = tree_features([r, s], kinds, basis=pd.concat([r, s], ignore_index=True))
    x = np.vstack([xr, xs])
    y = np.r_[np.zeros(n, dtype=int), np.ones(n, dtype=int)]
    oof = np.empty(len(y))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_idx, test_idx in cv.split(x, y):
        clf = HistGradientBoostingClassifier(
            max_iter=100, categorical_features=is_cat, early_stopping=False, random_state=seed
        )
        with openmp_single():
            clf.fit(fillable_for_trees(x[fit_idx]), y[fit_idx])
            oof[test_idx] = clf.predict_proba(x[test_idx])[:, 1]
    auc, ci = auc_with_ci(y, oof)
    return {"detection_auc": fnum(auc), "detection_auc_ci": [fnum(ci[0]), fnum(ci[1])], "detection_rows": 2 * n,
            "detection_folds": folds}


def precision_recall_authenticity(
    real_x: np.ndarray, syn_x: np.ndarray, seed: int, max_rows: int = 10_000, n_steps: int = 30
) -> dict[str, Any]:
    """Alpha-precision, beta-recall and authenticity on encoded rows (each side capped at ``max_rows``).

    The three need real->real, real->synthetic and synthetic->real neighbours: quadratic cost, so
    like the detection test they use at most 10,000 rows per side (reported as ``prd_rows``).
    """
    rng = np.random.default_rng(seed)
    if len(real_x) > max_rows:
        real_x = real_x[np.sort(rng.choice(len(real_x), max_rows, replace=False))]
    if len(syn_x) > max_rows:
        syn_x = syn_x[np.sort(rng.choice(len(syn_x), max_rows, replace=False))]
    alphas = np.linspace(0, 1, n_steps)
    center = real_x.mean(axis=0)
    radii = np.quantile(np.linalg.norm(real_x - center, axis=1), alphas)
    syn_center = syn_x.mean(axis=0)
    syn_to_center = np.linalg.norm(syn_x - center, axis=1)

    rr_d, _ = knn(real_x, real_x, k=2)
    real_to_real = rr_d[:, 1]  # nearest *other* real row
    rs_d, rs_i = knn(syn_x, real_x, k=1)
    real_to_syn, real_to_syn_idx = rs_d[:, 0], rs_i[:, 0]
    closest_syn_d = np.linalg.norm(syn_x[real_to_syn_idx] - syn_center, axis=1)
    syn_radii = np.quantile(closest_syn_d, alphas)

    precision_curve = (syn_to_center[None, :] <= radii[:, None]).mean(axis=1)
    covered = real_to_syn <= real_to_real
    recall_curve = (covered[None, :] & (closest_syn_d[None, :] <= syn_radii[:, None])).mean(axis=1)
    alpha_precision = 1 - np.abs(alphas - precision_curve).sum() / alphas.sum()
    beta_recall = 1 - np.abs(alphas - recall_curve).sum() / alphas.sum()

    d_sr, i_sr = knn(real_x, syn_x, k=1)
    authentic = d_sr[:, 0] > real_to_real[i_sr[:, 0]]
    return {
        "alpha_precision": fnum(max(alpha_precision, 0.0)),
        "beta_recall": fnum(max(beta_recall, 0.0)),
        "authenticity": fnum(authentic.mean()),
        "prd_rows": {"real": len(real_x), "synthetic": len(syn_x)},
    }
