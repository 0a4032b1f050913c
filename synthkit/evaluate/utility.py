"""Machine-learning utility: does a model trained on synthetic rows work on real unseen rows?

Train-on-synthetic-test-on-real (TSTR) against train-on-real-test-on-real (TRTR), both tested on
the holdout, with a linear model (logistic / ridge regression on one-hot + scaled features) and a
histogram gradient-boosting model. Ratios are chance-corrected so 0 means "no better than a
constant prediction" and 1 means "as good as real data": (AUC_tstr - 0.5) / (AUC_trtr - 0.5) for
classification, R2_tstr / R2_trtr for regression (R2 is already 0 for the mean prediction).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from synthkit.evaluate.detection import fillable_for_trees, tree_features
from synthkit.evaluate.encoding import CONTINUOUS
from synthkit.evaluate.stats import fnum

__all__ = ["selection_utility", "task_of", "utility_scores"]

log = logging.getLogger(__name__)

SMALL_REAL_ROWS = 1000  # the "small real training set" augmentation simulates


def task_of(kind: str) -> str:
    return "regression" if kind in CONTINUOUS else "classification"


def _linear(features: dict[str, str], task: str, seed: int) -> Any:
    num = [c for c, k in features.items() if k in CONTINUOUS]
    cat = [c for c, k in features.items() if k not in CONTINUOUS]
    pre = ColumnTransformer(
        [
            # keep_empty_features: a column missing in every fitted row stays (as 0), so fit and test keep one width
            ("num", make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()), num),
            ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="__missing__"),
                                  OneHotEncoder(handle_unknown="ignore", max_categories=20)), cat),
        ]
    )
    # Newton-Cholesky: converges in a few iterations on one-hot data where lbfgs needs hundreds
    model = LogisticRegression(solver="newton-cholesky", max_iter=100) if task == "classification" else Ridge(alpha=1.0)
    return make_pipeline(pre, model)


def _scores(task: str, y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, classes: np.ndarray) -> dict[str, float | None]:
    if task == "regression":
        return {"r2": fnum(r2_score(y, pred)), "mae": fnum(mean_absolute_error(y, pred))}
    out = {"accuracy": fnum(accuracy_score(y, pred)), "f1": fnum(f1_score(y, pred, average="macro", zero_division=0))}
    present = np.unique(y)
    if len(present) < 2 or proba is None:
        out["auc"] = None
    elif len(classes) == 2:
        out["auc"] = fnum(roc_auc_score(y == classes[1], proba[:, 1]))
    else:
        cols = [int(np.flatnonzero(classes == c)[0]) for c in present]
        p = proba[:, cols]
        p = p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)
        out["auc"] = fnum(roc_auc_score(y, p, multi_class="ovr", labels=present)) if len(present) > 2 else fnum(
            roc_auc_score(y == present[1], p[:, 1]))
    return out


def _fit_predict(model: Any, x_fit: Any, y_fit: np.ndarray, x_test: Any, task: str, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    model.fit(x_fit, y_fit)
    pred = model.predict(x_test)
    if task == "regression":
        return pred, None
    proba = np.zeros((len(pred), len(classes)))
    proba[:, np.searchsorted(classes, model.classes_)] = model.predict_proba(x_test)
    return pred, proba


def _ratio(task: str, trtr: dict, tstr: dict) -> float | None:
    key, base = ("r2", 0.0) if task == "regression" else ("auc", 0.5)
    a, b = tstr.get(key), trtr.get(key)
    if a is None or b is None or b - base <= 1e-9:
        return None
    return fnum(max(a - base, 0.0) / (b - base))


def _hgb(task: str, is_cat: Any, seed: int) -> Any:
    """The gradient-boosted model of the utility tests (the report's and ``auto``'s selection term alike)."""
    cls = HistGradientBoostingClassifier if task == "classification" else HistGradientBoostingRegressor
    return cls(max_iter=100, categorical_features=is_cat, early_stopping=False, random_state=seed)


def utility_scores(
    train: pd.DataFrame, test: pd.DataFrame, syn: pd.DataFrame, kinds: dict[str, str], target: str, seed: int,
    skipped: dict[str, str],
) -> dict[str, Any] | None:
    """TRTR vs TSTR per model, their ratio, feature-importance agreement and augmentation lift."""
    task = task_of(kinds[target])
    frames = {"real": train, "holdout": test, "synthetic": syn}
    dropped = {k: int(f[target].isna().sum()) for k, f in frames.items()}
    train, test, syn = (f[f[target].notna()].reset_index(drop=True) for f in (train, test, syn))
    for name, f in (("real", train), ("holdout", test)):
        if len(f) < 10 or f[target].nunique() < 2:
            skipped["utility"] = f"target {target!r} has fewer than 2 distinct values (or <10 rows) in the {name} data"
            return None
    features = {c: k for c, k in kinds.items() if c != target}
    if not features:
        skipped["utility"] = f"no feature column besides the target {target!r}"
        return None
    out: dict[str, Any] = {"target": target, "task": task, "models": {}, "rows_with_missing_target": dropped}
    y = {"real": train[target].to_numpy(), "holdout": test[target].to_numpy(), "synthetic": syn[target].to_numpy()}
    if task == "regression":
        y = {k: v.astype(float) for k, v in y.items()}
        classes = np.array([])
    else:
        classes = np.unique(np.concatenate([y["real"], y["holdout"], y["synthetic"]]).astype(str))
        y = {k: v.astype(str) for k, v in y.items()}
    syn_ok = len(syn) >= 10 and len(np.unique(y["synthetic"])) >= 2
    if not syn_ok:
        skipped["tstr"] = f"the synthetic target {target!r} has fewer than 2 distinct values: nothing can be learned"

    linear_name = "logistic" if task == "classification" else "linear"
    (ht_real, ht_test, ht_syn), is_cat = tree_features([train[list(features)], test[list(features)], syn[list(features)]], features)
    (hs_syn, hs_test), _ = tree_features([syn[list(features)], test[list(features)]], features)

    def hgb() -> Any:
        return _hgb(task, is_cat, seed)

    fitted: dict[str, Any] = {}
    for name in (linear_name, "hgb"):
        res: dict[str, Any] = {}
        for mode, (x_fit, y_fit, x_test) in {
            "trtr": ((train[list(features)], y["real"], test[list(features)]) if name != "hgb"
                     else (fillable_for_trees(ht_real), y["real"], ht_test)),
            "tstr": ((syn[list(features)], y["synthetic"], test[list(features)]) if name != "hgb"
                     else (fillable_for_trees(hs_syn), y["synthetic"], hs_test)),
        }.items():
            if mode == "tstr" and not syn_ok:
                res[mode] = None
                continue
            model = _linear(features, task, seed) if name != "hgb" else hgb()
            pred, proba = _fit_predict(model, x_fit, y_fit, x_test, task, classes)
            res[mode] = _scores(task, y["holdout"], pred, proba, classes)
            fitted[f"{name}.{mode}"] = (model, x_test)
        res["ratio"] = _ratio(task, res["trtr"], res["tstr"]) if res["tstr"] else None
        out["models"][name] = res
    ratios = [m["ratio"] for m in out["models"].values() if m["ratio"] is not None]
    out["ratio"] = fnum(np.mean(ratios)) if ratios else None
    out["score"] = fnum(min(1.0, max(0.0, out["ratio"]))) if out["ratio"] is not None else None
    out["primary_metric"] = "r2" if task == "regression" else "auc"

    out["feature_importance_agreement"] = None
    if "hgb.tstr" in fitted and len(features) >= 2:
        out.update(_importance_agreement(fitted, list(features), y["holdout"], task, classes, seed))
    # Augmentation needs no second class in the synthetic rows: minority-only synthetic rows added
    # to a small real set is exactly the scarce-data use case.
    out["augmentation_lift"] = (_augmentation(ht_real, y["real"], ht_syn, y["synthetic"], ht_test, y["holdout"], hgb, task, classes, seed)
                                if len(syn) >= 10 else None)
    return out


def selection_utility(train: pd.DataFrame, test: pd.DataFrame, syn: pd.DataFrame, kinds: dict[str, str], target: str,
                      seed: int, cache: dict[str, Any]) -> float | None:
    """The gradient-boosted model's chance-corrected TSTR/TRTR ratio for ``target`` on ``test``, in [0, 1]
    (None when the target cannot be learned from these rows): :func:`utility_scores`' ``hgb`` ratio alone.

    For ``auto``'s selection, which scores every candidate on several draws: the linear model,
    importance agreement and augmentation of the full report took 22-32 s per candidate on
    actg175's 321 validation rows and left flow and diffusion no time. TRTR is the same for every
    draw and candidate scored on one split, so it is kept in ``cache`` (one dict per split).
    """
    task = task_of(kinds[target])
    train, test, syn = (f[f[target].notna()].reset_index(drop=True) for f in (train, test, syn))
    features = {c: k for c, k in kinds.items() if c != target}
    if not features or min(len(train), len(test), len(syn)) < 10:
        return None
    y = [f[target].to_numpy() for f in (train, test, syn)]
    y = [v.astype(float) for v in y] if task == "regression" else [v.astype(str) for v in y]
    if any(len(np.unique(v)) < 2 for v in y):
        return None
    classes = np.unique(np.concatenate(y)) if task == "classification" else np.array([])
    (x_real, x_test, x_syn), is_cat = tree_features([train[list(features)], test[list(features)], syn[list(features)]], features)

    def score(x_fit: np.ndarray, y_fit: np.ndarray) -> dict[str, float | None]:
        pred, proba = _fit_predict(_hgb(task, is_cat, seed), fillable_for_trees(x_fit), y_fit, x_test, task, classes)
        return _scores(task, y[1], pred, proba, classes)

    key = f"trtr:{target}:{len(train)}:{len(test)}"
    if key not in cache:
        cache[key] = score(x_real, y[0])
    ratio = _ratio(task, cache[key], score(x_syn, y[2]))
    return None if ratio is None else float(min(1.0, max(0.0, ratio)))


def _gain_importance(model: Any, n_features: int) -> np.ndarray | None:
    """Total split gain per feature over all trees (as LightGBM/XGBoost report it).

    scikit-learn's HistGradientBoosting exposes no importances; its fitted trees
    (``_predictors[i][k].nodes``) carry the gain of every split. Reading them costs nothing, while
    permutation importance needs features x repeats extra predictions (58 s on a 47-column table).
    """
    try:
        nodes = [tree.nodes for trees in model._predictors for tree in trees]
    except AttributeError:  # private layout changed: caller falls back to permutation importance
        return None
    gains = np.zeros(n_features)
    for n in nodes:
        split = n["is_leaf"] == 0
        np.add.at(gains, n["feature_idx"][split], n["gain"][split])
    total = gains.sum()
    return gains / total if total > 0 else gains


def _importance_agreement(fitted: dict, names: list[str], y_test: np.ndarray, task: str, classes: np.ndarray, seed: int) -> dict[str, Any]:
    """Spearman rank correlation of the HGB feature importances learned from real vs synthetic rows."""
    imps: dict[str, np.ndarray] = {}
    method = "split gain, hgb"
    for mode in ("trtr", "tstr"):
        model, x_test = fitted[f"hgb.{mode}"]
        gain = _gain_importance(model, len(names))
        if gain is None:
            scoring = "r2" if task == "regression" else "accuracy"
            n = min(500, len(x_test))
            idx = np.random.default_rng(seed).choice(len(x_test), n, replace=False)
            gain = permutation_importance(model, x_test[idx], y_test[idx], scoring=scoring, n_repeats=2,
                                          random_state=seed).importances_mean
            method = f"permutation ({scoring}), hgb"
        imps[mode] = gain
    if np.ptp(imps["trtr"]) == 0 or np.ptp(imps["tstr"]) == 0:
        rho = 0.0  # one model learned nothing: no agreement to measure
    else:
        rho = spearmanr(imps["trtr"], imps["tstr"]).statistic
    top = {m: [names[i] for i in np.argsort(-v)[:5]] for m, v in imps.items()}
    return {"feature_importance_agreement": fnum(rho), "feature_importance": {
        "method": method, "top_real": top["trtr"], "top_synthetic": top["tstr"],
        "real": {n: fnum(v) for n, v in zip(names, imps["trtr"])}, "synthetic": {n: fnum(v) for n, v in zip(names, imps["tstr"])}}}


def _augmentation(x_real: np.ndarray, y_real: np.ndarray, x_syn: np.ndarray, y_syn: np.ndarray, x_test: np.ndarray,
                  y_test: np.ndarray, make: Any, task: str, classes: np.ndarray, seed: int) -> dict[str, Any]:
    """Real+synthetic vs real alone, on a small real training set (all real rows if already small)."""
    rng = np.random.default_rng(seed)
    n = min(len(x_real), SMALL_REAL_ROWS)
    idx = rng.choice(len(x_real), n, replace=False)
    xs, ys = x_real[idx], y_real[idx]
    metric = "r2" if task == "regression" else "auc"
    if task == "classification" and len(np.unique(ys)) < 2:
        return {"metric": metric, "real_rows": n, "note": "the small real sample holds one class only"}
    res = {}
    for name, (xf, yf) in {"real_only": (xs, ys), "augmented": (np.vstack([xs, x_syn]), np.r_[ys, y_syn])}.items():
        pred, proba = _fit_predict(make(), xf, yf, x_test, task, classes)
        res[name] = _scores(task, y_test, pred, proba, classes)[metric]
    lift = None if res["real_only"] is None or res["augmented"] is None else res["augmented"] - res["real_only"]
    return {"model": "hgb", "metric": metric, "real_rows": n, "synthetic_rows": len(x_syn),
            "real_only": res["real_only"], "augmented": res["augmented"], "lift": fnum(lift)}
