"""Temporal fidelity of synthetic sequences (long format: entity, time, measures).

Flat metrics miss what makes a sequence a sequence, so these compare, real vs synthetic:
- sequence lengths (events per entity) and inter-event times: KS statistic and a Wasserstein
  distance scaled by the real spread (0 = identical);
- per-measure marginals (KS on present values, missing shares) and autocorrelation at lags 1-3 of
  each measure's observed series within an entity (pooled over entities), lag 1 also by ranks;
- a discriminative score: a gradient-boosting classifier tells real from synthetic *entities* from
  per-entity summaries (length, time gaps, per-measure mean/std/first/last/lag-1 change); its
  cross-validated accuracy is reported (0.5 = indistinguishable) with ``score = |accuracy - 0.5|``;
- a predictive score (TimeGAN style, "train on synthetic, test on real"): a ridge next-step
  predictor of every measure from the current step is trained on synthetic entities and on half of
  the real ones, both tested on the other real half; MAE in real standard deviations.

Only aggregates leave this module.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp, rankdata, wasserstein_distance
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import Ridge
from sklearn.inspection import permutation_importance
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from synthkit.errors import EvaluationError
from synthkit.evaluate.stats import wilson
from synthkit.transform.entity_summary import entity_features

__all__ = ["describe_feature", "discriminate", "entity_features", "flat_records", "lag_autocorrelation", "temporal_metrics"]

_LAGS = (1, 2, 3)


def temporal_metrics(real_long: pd.DataFrame, synthetic_long: pd.DataFrame, entity: str, time: str | None,
                     measures: list[str], seed: int = 0) -> dict[str, Any]:
    """Temporal fidelity scores of ``synthetic_long`` against ``real_long``; see the module docstring."""
    real = _prepare(real_long, entity, time, measures, "real")
    synth = _prepare(synthetic_long, entity, time, measures, "synthetic")
    numeric = [m for m in measures if pd.api.types.is_numeric_dtype(real[m]) and pd.api.types.is_numeric_dtype(synth[m])]
    out: dict[str, Any] = {
        "n_entities": {"real": int(real[entity].nunique()), "synthetic": int(synth[entity].nunique())},
        "length": _distance(real.groupby(entity, sort=False).size().to_numpy(float),
                            synth.groupby(entity, sort=False).size().to_numpy(float)),
    }
    if time is not None:
        out["inter_event_time"] = _distance(_gaps(real, entity, time), _gaps(synth, entity, time))
    marginals, autocorr = {}, {}
    for m in measures:
        if m in numeric:
            marginals[m] = {**_distance(real[m].dropna().to_numpy(float), synth[m].dropna().to_numpy(float)),
                            "missing_real": float(real[m].isna().mean()), "missing_synthetic": float(synth[m].isna().mean())}
            first = [_lag_pairs(frame, entity, m, 1) for frame in (real, synth)]  # lag 1 by values and by ranks
            pairs = [(_correlation(*first[0]), _correlation(*first[1]))]
            pairs += [(lag_autocorrelation(real, entity, m, lag), lag_autocorrelation(synth, entity, m, lag)) for lag in _LAGS[1:]]
            diffs = [abs(a - b) for a, b in pairs if np.isfinite(a) and np.isfinite(b)]
            rr, sr = (_correlation(rankdata(x), rankdata(y)) for x, y in first)
            autocorr[m] = {"real_lag1": _f(pairs[0][0]), "synthetic_lag1": _f(pairs[0][1]),
                           "diff_lag1": _f(abs(pairs[0][0] - pairs[0][1])), "mean_abs_diff_lags_1_3": _f(np.mean(diffs) if diffs else np.nan),
                           "real_lag1_rank": _f(rr), "synthetic_lag1_rank": _f(sr), "diff_lag1_rank": _f(abs(rr - sr))}
        else:
            rp = real[m].astype(str).where(real[m].notna()).value_counts(normalize=True, dropna=False)
            sp = synth[m].astype(str).where(synth[m].notna()).value_counts(normalize=True, dropna=False)
            tvd = 0.5 * rp.subtract(sp, fill_value=0.0).abs().sum()
            marginals[m] = {"tvd": float(tvd), "missing_real": float(real[m].isna().mean()), "missing_synthetic": float(synth[m].isna().mean())}
    out["marginals"] = marginals
    out["marginal_ks_mean"] = _f(np.mean([v["ks"] for v in marginals.values() if "ks" in v])) if numeric else None
    out["autocorrelation"] = autocorr
    lag1 = [v["diff_lag1"] for v in autocorr.values() if v["diff_lag1"] is not None]
    out["autocorrelation_lag1_mean_abs_diff"] = _f(np.mean(lag1)) if lag1 else None
    lag1_rank = [v["diff_lag1_rank"] for v in autocorr.values() if v["diff_lag1_rank"] is not None]
    out["autocorrelation_lag1_rank_mean_abs_diff"] = _f(np.mean(lag1_rank)) if lag1_rank else None
    out["discriminative"] = _discriminative(real, synth, entity, time, numeric, seed)
    out["predictive"] = _predictive(real, synth, entity, time, numeric, seed)
    return out


def lag_autocorrelation(df: pd.DataFrame, entity: str, measure: str, lag: int = 1, rank: bool = False) -> float:
    """Pooled within-entity correlation of a measure's observed values and their ``lag``-th successor.

    ``rank=True``: Spearman's instead of Pearson's. A pooled Pearson correlation follows a handful of
    extreme pairs: six PhysioNet pH readings entered as 735 for 7.35, among 12,085, make two samples
    of 1,000 real ICU stays differ by 0.42 in pH's lag-1; ranks do not."""
    x, y = _lag_pairs(df, entity, measure, lag)
    return _correlation(rankdata(x), rankdata(y)) if rank else _correlation(x, y)


def _lag_pairs(df: pd.DataFrame, entity: str, measure: str, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Each observed value of ``measure`` and the ``lag``-th next one of the same entity."""
    obs = df[[entity, measure]].dropna()
    nxt = obs.groupby(entity, sort=False)[measure].shift(-lag)
    ok = nxt.notna().to_numpy()
    return obs[measure].to_numpy(float)[ok], nxt.to_numpy(float)[ok]


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's correlation; NaN for fewer than 3 pairs or a constant side."""
    if len(x) < 3 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


# -- helpers -----------------------------------------------------------------------------
def _prepare(df: pd.DataFrame, entity: str, time: str | None, measures: list[str], label: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame) or len(df) == 0:
        raise EvaluationError(f"temporal metrics: the {label} data is empty or not a DataFrame")
    needed = [entity] + ([time] if time else []) + list(measures)
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise EvaluationError(f"temporal metrics: the {label} data lacks columns {missing}")
    if not measures:
        raise EvaluationError("temporal metrics: name at least one measure column")
    out = df[needed].copy()
    if time is not None:
        t = out[time]
        if pd.api.types.is_datetime64_any_dtype(t.dtype):
            out[time] = (t - pd.Timestamp("1970-01-01")).dt.total_seconds()
        elif not pd.api.types.is_numeric_dtype(t.dtype):
            raise EvaluationError(f"temporal metrics: time column {time!r} of the {label} data is neither numeric nor datetime")
        out = out.sort_values([entity, time], kind="stable")
    return out.reset_index(drop=True)


def _gaps(df: pd.DataFrame, entity: str, time: str) -> np.ndarray:
    t = df[time]
    return t.groupby(df[entity], sort=False).diff().dropna().to_numpy(float)


def _distance(real: np.ndarray, synth: np.ndarray) -> dict[str, float | None]:
    if len(real) == 0 or len(synth) == 0:
        return {"ks": None, "wasserstein_scaled": None, "real_mean": _f(np.mean(real) if len(real) else np.nan),
                "synthetic_mean": _f(np.mean(synth) if len(synth) else np.nan)}
    scale = float(np.std(real)) or 1.0
    return {"ks": float(ks_2samp(real, synth).statistic), "wasserstein_scaled": float(wasserstein_distance(real, synth) / scale),
            "real_mean": float(np.mean(real)), "synthetic_mean": float(np.mean(synth))}


def _f(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


_FEATURE_WORDS = {
    "length": "how many events an entity has", "gap_mean": "the average time between events",
    "gap_std": "how irregular the time between events is", "mean": "the entity's average {m}",
    "std": "how much {m} varies within an entity", "first": "the first value of {m}",
    "last": "the last value of {m}", "present": "how often {m} is measured",
    "step": "how much {m} jumps from one measurement to the next",
}


def describe_feature(name: str) -> str:
    """A discriminator feature (``HR_std``) in words a data engineer reads without the code."""
    if name in _FEATURE_WORDS:
        return _FEATURE_WORDS[name]
    if "@" in name:  # a flattened record's column: <column>@<step>
        column, _, step = name.rpartition("@")
        return f"{column} at step {int(step) + 1} of the record" if step.isdigit() else name
    measure, _, kind = name.rpartition("_")
    return _FEATURE_WORDS.get(kind, "{m} (" + kind + ")").format(m=measure or name)


def flat_records(df: pd.DataFrame, entity: str, time: str | None, columns: list[str], steps: int | None = None) -> pd.DataFrame:
    """One row per entity, its whole record side by side (``<column>@<k>`` for the k-th step;
    categories as codes, absent steps missing): what a discriminator on "each person's flattened
    record" reads, where per-entity summaries would average a wrong year away."""
    order = [entity, time] if time else [entity]
    df = df.sort_values(order, kind="stable")
    k = df.groupby(entity, sort=False).cumcount()
    steps = steps if steps is not None else int(k.max()) + 1
    keep = (k < steps).to_numpy()
    values = {}
    for c in columns:
        col = df[c]
        if pd.api.types.is_bool_dtype(col):  # True/False and 1/0 are the same record
            col = col.astype("float64")
        elif not pd.api.types.is_numeric_dtype(col):
            col = col.astype(str).where(col.notna()).map(lambda v: zlib.crc32(v.encode()) % 10_007 if isinstance(v, str) else np.nan)
        values[c] = col.to_numpy(float)
    frame = pd.DataFrame(values)[keep].assign(_e=df[entity].to_numpy()[keep], _k=k.to_numpy()[keep])
    wide = frame.pivot(index="_e", columns="_k", values=columns)
    wide.columns = [f"{c}@{s}" for c, s in wide.columns]
    return wide.reindex(columns=[f"{c}@{s}" for s in range(steps) for c in columns])


def discriminate(a: pd.DataFrame, b: pd.DataFrame, seed: int = 0, top: int = 5, repeats: int = 3) -> dict[str, Any]:
    """Cross-validated accuracy of a gradient-boosting classifier telling the rows of ``a`` (real
    entities' features) from ``b`` (synthetic), with a 95 % Wilson interval over the entities and
    the features whose shuffling costs it most accuracy on held-out folds (permutation importance):
    that is what gives the synthetic entities away."""
    n = min(len(a), len(b))
    if n < 10:
        return {"accuracy": None, "score": None, "n_per_class": n, "note": "fewer than 10 entities per side"}
    rng = np.random.default_rng(seed)
    a, b = a.iloc[rng.permutation(len(a))[:n]], b.iloc[rng.permutation(len(b))[:n]]
    names = list(a.columns)
    x = pd.concat([a, b], ignore_index=True).to_numpy(float)
    y = np.r_[np.ones(n), np.zeros(n)]
    folds = StratifiedKFold(n_splits=min(5, n), shuffle=True, random_state=seed)
    correct, importance = 0, np.zeros(len(names))
    with threadpool_limits(limits=1):  # small data: OpenMP threads only contend on a shared machine
        for train, test in folds.split(x, y):
            clf = HistGradientBoostingClassifier(max_iter=60, random_state=seed).fit(x[train], y[train])
            correct += int((clf.predict(x[test]) == y[test]).sum())
            if top:
                imp = permutation_importance(clf, x[test], y[test], n_repeats=repeats, random_state=seed, scoring="accuracy")
                importance += imp.importances_mean * len(test) / len(y)
    acc = correct / len(y)
    order = np.argsort(-importance, kind="stable")[:top] if top else []
    features = [{"feature": names[i], "importance": round(float(importance[i]), 4), "meaning": describe_feature(names[i]),
                 "real_median": _f(a.iloc[:, i].median()), "synthetic_median": _f(b.iloc[:, i].median())}
                for i in order if importance[i] > 0]
    return {"accuracy": acc, "score": abs(acc - 0.5), "n_per_class": n, "interval": list(wilson(correct, len(y))),
            "top_features": features}


def _discriminative(real: pd.DataFrame, synth: pd.DataFrame, entity: str, time: str | None, numeric: list[str], seed: int) -> dict[str, Any]:
    return discriminate(entity_features(real, entity, time, numeric), entity_features(synth, entity, time, numeric), seed)


def _next_step(df: pd.DataFrame, entity: str, time: str | None, numeric: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features at step t (carried-forward values, presence flags, gap) and targets at t+1."""
    vals = df[numeric]
    carried = vals.groupby(df[entity], sort=False).ffill()
    present = vals.notna().to_numpy(float)
    cols = [carried.to_numpy(float), present]
    if time is not None:
        cols.append(df[time].groupby(df[entity], sort=False).diff().fillna(0.0).to_numpy(float)[:, None])
    x = np.hstack(cols)
    nxt = vals.groupby(df[entity], sort=False).shift(-1).to_numpy(float)
    has_next = (df[entity] == df[entity].shift(-1)).to_numpy()
    return x[has_next], nxt[has_next], carried.groupby(df[entity], sort=False).shift(-1).to_numpy(float)[has_next]


def _predictive(real: pd.DataFrame, synth: pd.DataFrame, entity: str, time: str | None, numeric: list[str], seed: int) -> dict[str, Any]:
    if not numeric:
        return {"tstr_mae": None, "trtr_mae": None, "ratio": None}
    ids = real[entity].unique()
    rng = np.random.default_rng(seed)
    test_ids = set(rng.permutation(ids)[: len(ids) // 2].tolist())
    is_test = real[entity].isin(test_ids)
    mean = real[numeric].mean().to_numpy(float)
    std = real[numeric].std().replace(0, 1).fillna(1).to_numpy(float)

    def data(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x, y, y_filled = _next_step(df, entity, time, numeric)
        k = len(numeric)
        x[:, :k] = (x[:, :k] - mean) / std
        y, y_filled = (y - mean) / std, (y_filled - mean) / std
        return np.nan_to_num(x, nan=0.0), y, np.nan_to_num(y_filled, nan=0.0)

    x_test, y_test, _ = data(real[is_test])
    observed = ~np.isnan(y_test)
    if not observed.any():
        return {"tstr_mae": None, "trtr_mae": None, "ratio": None}

    def mae(train: pd.DataFrame) -> float | None:
        x, _, y = data(train)
        if len(x) < 2:
            return None
        pred = Ridge(alpha=1.0).fit(x, y).predict(x_test).reshape(len(x_test), -1)
        return float(np.mean(np.abs(pred - np.nan_to_num(y_test))[observed]))

    tstr, trtr = mae(synth), mae(real[~is_test])
    ratio = tstr / trtr if tstr is not None and trtr else None
    return {"tstr_mae": tstr, "trtr_mae": trtr, "ratio": ratio}
