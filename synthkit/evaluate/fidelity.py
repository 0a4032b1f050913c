"""Statistical fidelity: column shapes and column-pair trends, defined exactly as SDMetrics does.

SDMetrics is BSL-licensed, so it is used only as a test oracle; these are our own vectorized
implementations of its published definitions (``sdmetrics`` 0.32 QualityReport):

* column shapes: KSComplement (1 - two-sample Kolmogorov-Smirnov D) for numerical/datetime columns,
  TVComplement (1 - total variation distance of category shares, missing values dropped) for
  categorical/boolean columns; the property is the mean over columns;
* column pair trends: CorrelationSimilarity (1 - |Pearson_real - Pearson_synth| / 2, rows with a
  missing value dropped) for two continuous columns, ContingencySimilarity (1 - TV distance of the
  joint shares, missing values as a category) otherwise, a continuous column being cut into numpy's
  10 histogram bins *of each frame separately* (SDMetrics' choice, reproduced to stay comparable).
  The QualityReport averages only pairs where the real data shows a relationship
  (|Pearson| > 0.5, Cramer's V > 0.3): that is ``column_pair_trends``; the plain mean over all pairs
  is ``column_pair_trends_all_pairs``.

Per column we add a normalized Wasserstein-1 distance (continuous: on the real 1-99% range scale;
categorical: W1 under the 0/1 metric, which equals the total variation distance) and the
Jensen-Shannon distance (base 2, in [0, 1]; continuous columns on 20 real-quantile bins).
"""

from __future__ import annotations

import itertools
import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp, wasserstein_distance
from scipy.stats.contingency import association

from synthkit.evaluate.encoding import CONTINUOUS
from synthkit.evaluate.stats import fnum

__all__ = ["ASSOCIATION_THRESHOLD", "CORRELATION_THRESHOLD", "column_scores", "pair_scores"]

log = logging.getLogger(__name__)

CORRELATION_THRESHOLD = 0.5  # sdmetrics.reports.utils.DEFAULT_REAL_CORRELATION_THRESHOLD
ASSOCIATION_THRESHOLD = 0.3  # sdmetrics.reports.utils.DEFAULT_REAL_ASSOCIATION_THRESHOLD
_MAX_DECIMALS = 14  # sdmetrics rounds to sys.float_info.dig - 1 decimals before the KS test


def _tv_complement(real: pd.Series, syn: pd.Series) -> tuple[float, float]:
    """(TVComplement, Jensen-Shannon distance) of two categorical columns, missing values dropped."""
    r = real.dropna().value_counts(normalize=True)
    s = syn.dropna().value_counts(normalize=True)
    if len(r) == 0 or len(s) == 0:
        return 0.0, 1.0
    idx = r.index.union(s.index)
    p, q = r.reindex(idx, fill_value=0.0).to_numpy(), s.reindex(idx, fill_value=0.0).to_numpy()
    return float(1 - 0.5 * np.abs(p - q).sum()), float(jensenshannon(p, q, base=2))


def _continuous(real: pd.Series, syn: pd.Series, scale: float) -> tuple[float, float, float]:
    """(KSComplement, normalized Wasserstein-1, Jensen-Shannon distance) of two numeric columns."""
    r = real.dropna().to_numpy(dtype=float)
    s = syn.dropna().to_numpy(dtype=float)
    if len(r) == 0 or len(s) == 0:
        return 0.0, float("nan"), 1.0
    with warnings.catch_warnings():  # "exact calculation unsuccessful": the asymptotic D is the same
        warnings.simplefilter("ignore", RuntimeWarning)
        ks = ks_2samp(np.round(r, _MAX_DECIMALS), np.round(s, _MAX_DECIMALS)).statistic
    w1 = wasserstein_distance(r, s) / scale
    edges = np.unique(np.quantile(r, np.linspace(0, 1, 21)))
    if len(edges) < 2:
        edges = np.array([r[0] - 0.5, r[0] + 0.5])
    inner = edges[1:-1]
    p = np.bincount(np.searchsorted(inner, r, side="right"), minlength=len(edges) - 1) / len(r)
    q = np.bincount(np.searchsorted(inner, s, side="right"), minlength=len(edges) - 1) / len(s)
    return float(1 - ks), float(w1), float(jensenshannon(p, q, base=2))


def column_scores(real: pd.DataFrame, syn: pd.DataFrame, kinds: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per-column shape metric, Wasserstein and Jensen-Shannon distances."""
    out: dict[str, dict[str, Any]] = {}
    for col, kind in kinds.items():
        if kind in CONTINUOUS:
            r = real[col].dropna()
            q01, q99 = (np.quantile(r, [0.01, 0.99]) if len(r) else (0.0, 1.0))
            scale = float(q99 - q01) or float(r.max() - r.min()) or 1.0
            score, w1, js = _continuous(real[col], syn[col], scale)
            metric = "KSComplement"
        else:
            score, js = _tv_complement(real[col], syn[col])
            w1, metric = 1.0 - score, "TVComplement"
        out[col] = {"metric": metric, "score": fnum(score), "wasserstein": fnum(w1), "jensen_shannon": fnum(js)}
    return out


def _discrete_codes(real: pd.Series, syn: pd.Series, continuous: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer codes shared by both frames; missing is a code of its own (groupby dropna=False)."""
    if continuous:
        # SDMetrics bins each frame on its own np.histogram_bin_edges; NaN lands past the last edge
        codes = []
        for s in (real, syn):
            arr = s.to_numpy(dtype=float)
            finite = arr[np.isfinite(arr)]
            edges = np.histogram_bin_edges(finite) if len(finite) else np.array([0.0, 1.0])
            codes.append(np.digitize(arr, bins=edges))
        return codes[0], codes[1], 12
    both = pd.concat([real, syn], ignore_index=True).astype("object")
    codes, uniques = pd.factorize(both, use_na_sentinel=True)
    codes = np.where(codes < 0, len(uniques), codes)
    return codes[: len(real)], codes[len(real):], len(uniques) + 1


def _cramers_v(table: np.ndarray) -> float:
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if table.sum() == 0 or min(table.shape) < 2:
        return float("nan")
    return float(association(table.astype(np.int64), method="cramer"))


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(np.corrcoef(a, b)[0, 1])


def pair_scores(real: pd.DataFrame, syn: pd.DataFrame, kinds: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per-pair trend similarity keyed ``"colA|colB"`` (SDMetrics' metric choice per pair)."""
    cols = list(kinds)
    codes = {c: _discrete_codes(real[c], syn[c], kinds[c] in CONTINUOUS) for c in cols}
    nums = {c: (real[c].to_numpy(dtype=float), syn[c].to_numpy(dtype=float)) for c in cols if kinds[c] in CONTINUOUS}
    out: dict[str, dict[str, Any]] = {}
    for a, b in itertools.combinations(cols, 2):
        if kinds[a] in CONTINUOUS and kinds[b] in CONTINUOUS:
            r_a, s_a = nums[a]
            r_b, s_b = nums[b]
            # SDMetrics raises (-> NaN) when any column is constant in either frame, NaN included
            constant = any(pd.Series(x).nunique() == 1 for x in (r_a, r_b, s_a, s_b))
            cr, cs = _pearson(r_a, r_b), _pearson(s_a, s_b)
            score = float("nan") if constant or np.isnan(cr) or np.isnan(cs) else 1 - abs(cr - cs) / 2
            meets = bool(not np.isnan(cr) and abs(cr) > CORRELATION_THRESHOLD)
            out[f"{a}|{b}"] = {"metric": "CorrelationSimilarity", "score": fnum(score), "real": fnum(cr),
                               "synthetic": fnum(cs), "meets_threshold": meets}
            continue
        (ra, sa, ka), (rb, sb, kb) = codes[a], codes[b]
        jr = np.bincount(ra * kb + rb, minlength=ka * kb).astype(float)
        js = np.bincount(sa * kb + sb, minlength=ka * kb).astype(float)
        score = 1 - 0.5 * np.abs(jr / jr.sum() - js / js.sum()).sum()
        vr, vs = _cramers_v(jr.reshape(ka, kb)), _cramers_v(js.reshape(ka, kb))
        meets = bool(not np.isnan(vr) and vr > ASSOCIATION_THRESHOLD)
        out[f"{a}|{b}"] = {"metric": "ContingencySimilarity", "score": fnum(score), "real": fnum(vr),
                           "synthetic": fnum(vs), "meets_threshold": meets}
    return out


def summarize_pairs(pairs: dict[str, dict[str, Any]]) -> tuple[float | None, float | None, int]:
    """(QualityReport mean over pairs meeting the thresholds, mean over all pairs, n contributing)."""
    scores = [p["score"] for p in pairs.values() if p["score"] is not None]
    meeting = [p["score"] for p in pairs.values() if p["score"] is not None and p["meets_threshold"]]
    return (
        fnum(np.mean(meeting)) if meeting else None,
        fnum(np.mean(scores)) if scores else None,
        len(meeting),
    )
