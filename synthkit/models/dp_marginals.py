"""``dp-marginals``: an MST-style differentially private synthesizer (McKenna et al., 2021).

The strong low-ε baseline: only noisy low-order marginals ever touch the data.
1. DP preprocessing (share ``preprocessing_share`` of ρ): every column becomes codes over a
   released domain, and the same release gives the noisy 1-way marginals
   (:class:`~synthkit.privacy.preprocess.DPDiscretizer`).
2. Selection (``selection_share``): a spanning tree over the columns, edge by edge with the
   exponential mechanism (Kruskal order); an edge's score is the L1 distance between its true
   2-way table and what the released 1-ways predict under independence (sensitivity 1).
3. Measurement (the rest): each tree edge's 2-way table with Gaussian noise.
4. Estimation (post-processing): node marginals are inverse-variance averages of every noisy view
   of the column; each edge's table is clipped and fitted to its two node marginals by iterative
   proportional fitting (IPF). On a tree this is the whole junction tree: sampling draws the root
   from its marginal and every child from its conditional given the parent, vectorized over rows.
Budget: ε, δ → ρ = ``cdp_rho(ε, δ')`` (δ' = δ minus the share reserved for category thresholds);
the recorded ``epsilon_spent`` converts the ρ actually charged back to ε.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthkit.errors import ConfigError
from synthkit.models.base import Synthesizer
from synthkit.models.registry import register
from synthkit.privacy.accounting import cdp_rho
from synthkit.privacy.mechanisms import exponential_choice, gaussian_sigma
from synthkit.models.dp import DPModelMixin

__all__ = ["DPMarginals"]

_IPF_ITERATIONS = 30


@register("dp-marginals")
class DPMarginals(DPModelMixin, Synthesizer):
    """MST over DP-discretized columns. ``epsilon=None`` fits the same model without noise (reference)."""

    test_params: ClassVar[dict[str, Any]] = {"epsilon": 10.0, "n_bins": 10}
    dp_mechanism = "mst"
    dp_accountant = "zCDP"

    def __init__(self, metadata: Any = None, seed: int | None = 0, tail_quantile: float = 0.0,
                 epsilon: float | None = 3.0, delta: float | None = None, bounds: dict[str, list[float]] | None = None,
                 categories: dict[str, list[str]] | None = None, n_bins: int = 20,
                 preprocessing_share: float = 1 / 3, selection_share: float = 1 / 3) -> None:
        super().__init__(metadata=metadata, seed=seed, tail_quantile=tail_quantile)
        self.epsilon = epsilon
        self.delta = delta
        self.bounds = bounds
        self.categories = categories
        self.n_bins = n_bins
        self.preprocessing_share = preprocessing_share
        self.selection_share = selection_share

    def _check_params(self) -> None:
        self._check_dp_params()
        for name in ("preprocessing_share", "selection_share"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
                raise ConfigError(f"{name} must be in (0, 1), got {value!r}")
        if self.preprocessing_share + self.selection_share >= 1:
            raise ConfigError("preprocessing_share + selection_share must leave budget for measuring marginals (< 1)")

    # -- fit ---------------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame) -> None:
        rng = np.random.default_rng(self.seed)
        ledger = self._dp_begin(len(frame))
        rho = None if ledger is None else cdp_rho(ledger.epsilon, ledger.conversion_delta)
        codes = self._dp_discretize(frame, None if rho is None else rho * self.preprocessing_share, ledger, rng)
        sizes = self.discretizer_.sizes
        d = len(sizes)
        ones = [self.discretizer_.marginal(j) for j in range(d)]
        edges: list[tuple[int, int]] = []
        measured: list[tuple[np.ndarray, float]] = []
        if d >= 2:
            rho_sel = None if rho is None else rho * self.selection_share
            edges = _select_tree(codes, sizes, [m for m, _ in ones], rho_sel, rng)
            rho_meas = None if rho is None else rho * (1 - self.preprocessing_share - self.selection_share)
            sigma = 0.0 if rho_meas is None else gaussian_sigma(rho_meas / len(edges))
            for i, j in edges:
                table = _two_way(codes, i, j, sizes).astype(float)
                if sigma:
                    table = table + rng.normal(0.0, sigma, table.shape)
                measured.append((table, sigma**2))
            if ledger is not None and rho_sel is not None and rho_meas is not None:
                ledger.charge_rho(rho_sel, f"exponential mechanism: {len(edges)} tree edges")
                ledger.charge_rho(rho_meas, f"Gaussian 2-way marginals of {len(edges)} tree edges")
        marginals = _node_marginals(ones, edges, measured, sizes)
        self.root_ = int(np.argmax(np.bincount(np.asarray(edges, dtype=int).ravel(), minlength=d))) if edges else 0
        self.root_marginal_ = marginals[self.root_]
        self.order_ = _tree_order(self.root_, edges, d)  # [(parent, child)] in breadth-first order
        by_pair = {e: m for e, m in zip(edges, measured)}
        self.conditionals_: list[np.ndarray] = []
        for parent, child in self.order_:
            table = by_pair[(parent, child)][0] if (parent, child) in by_pair else by_pair[(child, parent)][0].T
            joint = _ipf(np.clip(table, 0.0, None), marginals[parent], marginals[child])
            rows = joint.sum(axis=1, keepdims=True)
            cond = np.where(rows > 0, joint / np.where(rows > 0, rows, 1.0), marginals[child][None, :])
            self.conditionals_.append(cond)
        self._dp_finish(ledger)

    # -- sample ------------------------------------------------------------------------
    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        d = len(self.discretizer_.sizes)
        codes = np.zeros((n, d), dtype=np.int64)
        if d:
            codes[:, self.root_] = _draw(np.broadcast_to(self.root_marginal_, (1, len(self.root_marginal_))),
                                         np.zeros(n, dtype=np.int64), rng)
        for (parent, child), cond in zip(self.order_, self.conditionals_):
            codes[:, child] = _draw(cond, codes[:, parent], rng)
        frame = self.discretizer_.decode(codes, rng)
        return frame[[s.name for s in self.schema_.learned]]

    # -- state -------------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        state = self._dp_state()
        state.update(root=self.root_, order=[list(e) for e in self.order_], root_marginal=self.root_marginal_.tolist(),
                     conditionals=[c.tolist() for c in self.conditionals_])
        return state, {}

    def _set_state(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        self._set_dp_state(state)
        self.root_ = int(state["root"])
        self.order_ = [(int(p), int(c)) for p, c in state["order"]]
        self.root_marginal_ = np.asarray(state["root_marginal"], dtype=float)
        self.conditionals_ = [np.asarray(c, dtype=float) for c in state["conditionals"]]


def _two_way(codes: np.ndarray, i: int, j: int, sizes: list[int]) -> np.ndarray:
    flat = codes[:, i] * sizes[j] + codes[:, j]
    return np.bincount(flat, minlength=sizes[i] * sizes[j]).reshape(sizes[i], sizes[j])


def _select_tree(codes: np.ndarray, sizes: list[int], ones: list[np.ndarray], rho: float | None,
                 rng: np.random.Generator) -> list[tuple[int, int]]:
    """Spanning tree by Kruskal rounds; each round picks a joining edge by the exponential mechanism."""
    d = len(sizes)
    probs = [np.clip(m, 0, None) / max(np.clip(m, 0, None).sum(), 1e-12) for m in ones]
    total = float(np.median([np.clip(m, 0, None).sum() for m in ones]))  # released totals, not the true n
    pairs = [(i, j) for i in range(d) for j in range(i + 1, d)]
    scores = np.array([np.abs(_two_way(codes, i, j, sizes) - total * np.outer(probs[i], probs[j])).sum()
                       for i, j in pairs])
    eps_round = None if rho is None else float(np.sqrt(8.0 * rho / (d - 1)))  # ε²/8-zCDP per round
    component = np.arange(d)
    edges: list[tuple[int, int]] = []
    left, right = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    for _ in range(d - 1):
        candidates = np.flatnonzero(component[left] != component[right])
        if eps_round is None:
            pick = candidates[int(np.argmax(scores[candidates]))]
        else:
            pick = candidates[exponential_choice(scores[candidates], eps_round, 1.0, rng)]
        i, j = pairs[pick]
        edges.append((i, j))
        component[component == component[j]] = component[i]
    return edges


def _node_marginals(ones: list[tuple[np.ndarray, np.ndarray]], edges: list[tuple[int, int]],
                    measured: list[tuple[np.ndarray, float]], sizes: list[int]) -> list[np.ndarray]:
    """Per column: inverse-variance average of its noisy 1-way and the sums of its noisy 2-ways."""
    out = []
    for j in range(len(sizes)):
        counts, var = ones[j]
        num = counts / np.maximum(var, 1e-12) if np.all(var > 0) else counts.copy()
        den = 1.0 / np.maximum(var, 1e-12) if np.all(var > 0) else np.ones_like(counts)
        if np.all(var > 0):
            for (a, b), (table, cell_var) in zip(edges, measured):
                if j in (a, b) and cell_var > 0:
                    view = table.sum(axis=1) if j == a else table.sum(axis=0)
                    view_var = cell_var * (table.shape[1] if j == a else table.shape[0])
                    num, den = num + view / view_var, den + 1.0 / view_var
        est = np.clip(num / den, 0.0, None)
        out.append(est / est.sum() if est.sum() > 0 else np.full(len(est), 1.0 / len(est)))
    return out


def _ipf(table: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Scale ``table`` so its margins match ``rows`` and ``cols`` (probabilities)."""
    joint = table + 1e-9
    joint = joint / joint.sum()
    for _ in range(_IPF_ITERATIONS):
        joint *= (rows / np.maximum(joint.sum(axis=1), 1e-300))[:, None]
        joint *= (cols / np.maximum(joint.sum(axis=0), 1e-300))[None, :]
    return joint


def _tree_order(root: int, edges: list[tuple[int, int]], d: int) -> list[tuple[int, int]]:
    neighbours: dict[int, list[int]] = {i: [] for i in range(d)}
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    order, seen, queue = [], {root}, [root]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(neighbours[node]):
            if nxt not in seen:
                seen.add(nxt)
                order.append((node, nxt))
                queue.append(nxt)
    return order


def _draw(cond: np.ndarray, parent: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One code per row from row ``parent[r]`` of the conditional table (inverse CDF, vectorized)."""
    cdf = np.cumsum(cond, axis=1)
    cdf /= np.maximum(cdf[:, -1:], 1e-300)
    u = rng.random(len(parent))
    return np.minimum((u[:, None] > cdf[parent]).sum(axis=1), cond.shape[1] - 1)
