"""A critic for drawn entities: which whole sequences look like real ones, judged by their summaries.

The step-wise network writes each step well, yet whole entities stay recognisable by summaries a
step-wise likelihood averages over (how far a value moves between readings in a continuously
probed stay, how often a column is read, a stay's spread): issue #20's discriminator reads them.
After training, a gradient-boosted classifier learns to tell the training entities' summaries
(:func:`synthkit.transform.entity_summary.entity_features`) from one draw of the model's own.
Sampling then draws a pool of candidate entities and keeps ``n`` of them with probability
proportional to the classifier's density ratio p / (1 - p): sampling-importance-resampling with a
learned ratio, as in discriminator rejection sampling (Azadi et al., 2019). Every kept entity is
still a whole draw of the network; the critic only chooses among them.

One critic's ratio, learned from a thousand entities a side, misses part of the difference, so
critics come in rounds (:class:`CriticRounds`, five by default): each next one learns to tell the training entities
from the choice the ones before it made, and their log-ratios add up. Each round estimates only
what is left (ICU / Beijing discriminator accuracy, 3 seeds: one critic 0.812 / 0.763, three
0.763 / 0.709).

Privacy: the classifier sees summaries, never rows; a leaf holds at least ``MIN_LEAF`` entities and
its thresholds sit on ``BINS`` quantile bins of real and synthetic summaries together.

Why the trees are exported by hand: scikit-learn has no public way to save a fitted
``HistGradientBoostingClassifier`` except pickle, which model files never hold. Its fitted trees
(``_predictors``, ``_baseline_prediction``) are copied into plain arrays and evaluated here with
numpy; a test checks the result equals ``decision_function``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from threadpoolctl import threadpool_limits

__all__ = ["CriticRounds", "EntityCritic", "resample"]

TREES, BINS, MIN_LEAF, FOLDS = 100, 32, 20, 5  # boosting rounds, quantile bins, entities a leaf, calibration folds
# the tree node fields prediction needs, with the types they are kept in
_FIELDS = {"feature_idx": np.int64, "num_threshold": np.float64, "missing_go_to_left": bool, "left": np.int64,
           "right": np.int64, "is_leaf": bool, "value": np.float64}


class EntityCritic:
    """Log density ratio real / synthetic of entity summaries, from boosted trees held as arrays."""

    def __init__(self, features: list[str], baseline: float, depth: int, roots: np.ndarray, nodes: dict[str, np.ndarray],
                 slope: float = 1.0) -> None:
        self.features, self.baseline, self.depth, self.roots, self.nodes = features, baseline, depth, roots, nodes
        self.slope = slope  # out-of-fold calibration of the trees' log-odds; see _calibration
        self.walk_column, self.walk_threshold, self.walk_children = self._walk()  # what log_odds reads

    @classmethod
    def fit(cls, real: pd.DataFrame, synthetic: pd.DataFrame, seed: int | None) -> EntityCritic:
        """Train on equal numbers of real and synthetic entities, so the odds are the density ratio."""
        n = min(len(real), len(synthetic))
        rng = np.random.default_rng(seed)
        real, synthetic = real.iloc[rng.permutation(len(real))[:n]], synthetic.iloc[rng.permutation(len(synthetic))[:n]]
        features = list(real.columns)
        x = np.vstack([_matrix(real, features), _matrix(synthetic[features], features)])
        # a summary no entity has (the spread of the gaps of stays two steps long) tells nothing, and
        # the trees' binning fails on a column without a single value
        seen = ~np.isnan(x).all(axis=0)
        features, x = [f for f, keep in zip(features, seen, strict=True) if keep], x[:, seen]
        y = np.r_[np.ones(n), np.zeros(n)]
        clf = HistGradientBoostingClassifier(max_iter=TREES, max_bins=BINS, min_samples_leaf=MIN_LEAF,
                                             early_stopping=False, random_state=seed)
        with threadpool_limits(limits=1):  # a few thousand rows: threads only contend
            slope = _calibration(clf, x, y, seed)
            clf.fit(x, y)
        trees = [group[0].nodes for group in clf._predictors]  # noqa: SLF001 - see the module docstring
        sizes = np.array([len(t) for t in trees], dtype=np.int64)
        roots = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        depth = int(max(t["depth"].max() for t in trees))  # a leaf's depth: steps from its root
        nodes = {f: np.concatenate([t[f] for t in trees]).astype(dtype) for f, dtype in _FIELDS.items()}
        for side in ("left", "right"):  # child indices are per tree; make them global
            nodes[side] += np.repeat(roots, sizes)
        return cls(features, float(np.ravel(clf._baseline_prediction)[0]), depth, roots, nodes, slope)  # noqa: SLF001

    def log_ratio(self, summaries: pd.DataFrame) -> np.ndarray:
        """log p(real) / p(synthetic) per entity: the calibrated log-odds, up to a constant."""
        return self.slope * self.log_odds(summaries)

    def log_odds(self, summaries: pd.DataFrame) -> np.ndarray:
        """The trees' own log-odds (``decision_function``), all trees at once.

        Each level is four gathers and a comparison over [entities, trees] (a fifth of sampling's
        time went to the critics with leaves and missing values tested apart): a missing value
        reads as +inf at a node that sends it right and -inf at one that sends it left, so
        ``value <= threshold`` decides both, and a leaf is its own two children."""
        x = _matrix(summaries, self.features)
        missing = np.isnan(x)
        both = np.hstack([np.where(missing, np.inf, x), np.where(missing, -np.inf, x)])  # [n, 2F]
        at = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        offsets = (np.arange(len(x)) * both.shape[1])[:, None]
        flat = both.ravel()
        for _ in range(self.depth):
            right = flat[offsets + self.walk_column[at]] > self.walk_threshold[at]
            at = self.walk_children[2 * at + right]
        return self.baseline + self.nodes["value"][at].sum(axis=1)

    def _walk(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per node: the column of :meth:`log_odds`' [n, 2F] matrix it reads, its threshold (±inf
        made the largest finite numbers, so a missing value's ±inf falls on its side), and its
        (left, right) children interleaved, a leaf pointing to itself twice."""
        nodes, n_features = self.nodes, len(self.features)
        leaf = nodes["is_leaf"]
        column = np.where(leaf, 0, nodes["feature_idx"] + n_features * nodes["missing_go_to_left"])
        big = np.finfo(np.float64).max
        threshold = np.clip(np.where(leaf, 0.0, nodes["num_threshold"]), -big, big)
        own = np.arange(len(leaf))
        children = np.column_stack([np.where(leaf, own, nodes["left"]), np.where(leaf, own, nodes["right"])]).ravel()
        return column.astype(np.int64), threshold, children.astype(np.int64)

    def to_state(self, prefix: str = "critic.") -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        doc = {"features": self.features, "baseline": self.baseline, "depth": self.depth, "slope": self.slope}
        tensors = {f"{prefix}{k}": torch.from_numpy(np.ascontiguousarray(v)) for k, v in self.nodes.items()}
        tensors[f"{prefix}roots"] = torch.from_numpy(self.roots)
        return doc, tensors

    @classmethod
    def from_state(cls, doc: dict[str, Any], tensors: dict[str, torch.Tensor], prefix: str = "critic.") -> EntityCritic:
        nodes = {k: tensors[f"{prefix}{k}"].numpy() for k in _FIELDS}
        return cls(list(doc["features"]), float(doc["baseline"]), int(doc["depth"]), tensors[f"{prefix}roots"].numpy(), nodes,
                   float(doc.get("slope", 1.0)))


class CriticRounds:
    """Critics fitted one after another, each against the choice the earlier ones made: the log
    density ratio is the sum of theirs (the next round learns what is left of the difference)."""

    def __init__(self, critics: list[EntityCritic] | None = None) -> None:
        self.critics = list(critics or [])

    def log_ratio(self, summaries: pd.DataFrame) -> np.ndarray:
        """The rounds' calibrated log-ratios added up (0 with no round)."""
        total = np.zeros(len(summaries))
        for critic in self.critics:
            total += critic.log_ratio(summaries)
        return total

    def to_state(self) -> tuple[list[dict[str, Any]], dict[str, torch.Tensor]]:
        docs, tensors = [], {}
        for i, critic in enumerate(self.critics):
            doc, own = critic.to_state(prefix=f"critic{i}.")
            docs.append(doc)
            tensors.update(own)
        return docs, tensors

    @classmethod
    def from_state(cls, docs: list[dict[str, Any]], tensors: dict[str, torch.Tensor]) -> CriticRounds:
        return cls([EntityCritic.from_state(doc, tensors, prefix=f"critic{i}.") for i, doc in enumerate(docs)])


def resample(log_ratio: np.ndarray, n: int, rng: np.random.Generator, strata: np.ndarray | None = None) -> np.ndarray:
    """Positions of ``n`` of the pool's entities, drawn without replacement with probability
    proportional to exp(``log_ratio``), in pool order. With ``strata`` (a label per entity), each
    stratum keeps its share of the pool and the weights choose only within it."""
    if n >= len(log_ratio):
        return np.arange(len(log_ratio))
    if strata is None:
        return _choose(np.arange(len(log_ratio)), log_ratio, n, rng)
    labels, counts = np.unique(strata, return_counts=True)
    share = counts * n / len(log_ratio)
    quota = np.floor(share).astype(np.int64)  # largest remainders get the rest, equal remainders in
    # random order: in label order, fewer entities than strata went to the first (with length strata,
    # the shortest) every time
    order = np.lexsort((rng.random(len(labels)), -(share - quota)))
    quota[order[: n - int(quota.sum())]] += 1
    kept = [_choose(np.flatnonzero(strata == label), log_ratio[strata == label], int(k), rng) for label, k in zip(labels, quota)]
    return np.sort(np.concatenate(kept))


def length_strata(lengths: np.ndarray, k: int) -> np.ndarray:
    """A label per entity: ``k`` quantile groups of ``lengths``, equal lengths always in one group.
    Groups cut by rank split ties arbitrarily: on a panel where every record is 8 years long, 50
    such groups only made the critics choose inside arbitrary fiftieths of the pool."""
    edges = np.unique(np.quantile(lengths, np.linspace(0.0, 1.0, k + 1)[1:-1])) if len(lengths) else np.empty(0)
    return np.searchsorted(edges, lengths, side="left")


def _choose(positions: np.ndarray, log_ratio: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    weights = np.exp(log_ratio - log_ratio.max())
    return np.sort(positions[rng.choice(len(positions), size=n, replace=False, p=weights / weights.sum())])


def _matrix(frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    x = frame.reindex(columns=features).to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isinf(x), np.nan, x)


def _calibration(clf: HistGradientBoostingClassifier, x: np.ndarray, y: np.ndarray, seed: int | None) -> float:
    """How far to trust the trees' log-odds: the slope of a logistic fit of the labels on out-of-fold
    log-odds (Platt scaling). Boosted trees on a few hundred entities a side are overconfident (slope
    0.6 on 200 ICU stays a side), and ratios taken at face value overshoot. Between 0 (the trees
    know nothing) and 1."""
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    oof = cross_val_predict(clf, x, y, cv=folds, method="decision_function")
    slope = LogisticRegression(C=1e6).fit(oof[:, None], y).coef_[0, 0]
    return float(np.clip(slope, 0.0, 1.0))
