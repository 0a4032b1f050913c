"""Tree-structured Bayesian network (``bayesnet``): counted pairs, a tenth of a second to fit.

Every column is discretized into the same tokens as ``arm`` (:mod:`synthkit.transform.discretize`:
quantile bins for numbers, decoded along each bin's own quantiles). The joint distribution is
approximated by the best tree over the columns (Chow and Liu, 1968; :mod:`synthkit.models.chow_liu`):
each column is drawn given one parent from a table of smoothed counts. That keeps every column's
distribution and the distribution of every tree pair (the strongest dependences of the table) as
the training rows show them, where a neural model learns them from a few hundred rows only partly.

Where it stands (issue 18's benchmark, ``benchmarks/results/models_2min.md``; 343-5,000 training
rows, mean of five representative draws): holdout quality 0.941 on german-credit (arm 0.941),
0.916 on gbsg2 (arm 0.917), 0.945 on insurance (arm 0.946), 0.974 on bank-marketing (arm 0.970),
and a lower DCR share than arm's on five of seven tables (0.48-0.56). What it gives up is every
dependence that no single tree edge carries: TSTR AUC 0.634 against arm's 0.709 on german-credit
and 0.881 against 0.943 on actg175, and on 5,000 rows a detection AUC of 0.69-0.93 where arm has
0.55-0.70. ``auto`` measures it beside the others.

- Pairs are linked by bias-corrected mutual information and only when a G-test finds them
  dependent (the tree may be a forest).
- A parent value seen on few rows shares its child's table with the child's overall distribution
  (``smoothing`` pseudo-rows): a rare combination is not copied row for row. With PII columns in
  the table, rare categories and numeric tails are protected as in ``arm``.
- Sampling is vectorized per column (one ``searchsorted`` over the parents' cumulative tables), with
  uniforms stratified among the rows that share a parent value (:mod:`synthkit.utils.stratified`),
  so each child's counts follow its table without the draw's own noise.
- Conditions (``sample(n, conditions=...)``, :mod:`synthkit.models.conditional`) are exact and cost
  no extra draws: the likelihood of the conditions is passed up the tree and every column's table
  is reweighted by it (:meth:`BayesianNetworkSynthesizer._conditioned_tables`), so a rare class is
  drawn as fast as a common one and a numeric condition gets its exact value.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from synthkit.errors import ConfigError, ModelError
from synthkit.models.arm import clip_tails, numeric_bins, protection_defaults
from synthkit.models.base import Synthesizer
from synthkit.models.chow_liu import SMOOTHING, best_tree, conditional_table, mutual_information
from synthkit.models.chunked import map_chunks
from synthkit.models.registry import register
from synthkit.models.representative import check_representative, draw_tokens
from synthkit.transform.discretize import Discretizer
from synthkit.utils.stratified import grouped_stratified_uniforms

__all__ = ["BayesianNetworkSynthesizer"]

STRUCTURE_ROWS = 50_000  # rows the mutual information is estimated on (a seeded sample above it)
_CHUNK = 65_536  # rows sampled per chunk (chunks run on parallel threads)


@register("bayesnet")
class BayesianNetworkSynthesizer(Synthesizer):
    """Chow-Liu tree over discretized columns; see the module docstring.

    ``n_bins`` quantile bins per numeric column (at most one per 50 training rows, as in ``arm``),
    ``smoothing`` pseudo-rows of a child's overall distribution mixed into each of its parent
    values' tables (0.5: of 0.5, 1, 2, 4 and 8 the best or equal best holdout quality on gbsg2,
    german-credit, insurance and actg175 in a probe before the G-test and grouped draws; 8 lost
    0.005-0.017: more pulls every pair towards independence), ``max_categories``,
    ``rare_min_count``, ``rare_strategy`` and ``clip_quantile`` as in ``arm``.
    """

    test_params: ClassVar[dict[str, Any]] = {"n_bins": 16}
    native_conditions = True  # exact on the tree (see _conditioned_tables)

    def __init__(self, metadata: Any = None, seed: int | None = 0, tail_quantile: float = 0.0, n_bins: int = 64,
                 smoothing: float = SMOOTHING, max_categories: int = 255, rare_min_count: int | None = None,
                 rare_strategy: str = "drop", clip_quantile: float | None = None,
                 representative: bool | None = None) -> None:
        super().__init__(metadata=metadata, seed=seed, tail_quantile=tail_quantile)
        self.n_bins, self.smoothing, self.max_categories = n_bins, smoothing, max_categories
        self.rare_min_count, self.rare_strategy, self.clip_quantile = rare_min_count, rare_strategy, clip_quantile
        self.representative = representative

    def _check_params(self) -> None:
        if not isinstance(self.n_bins, int) or isinstance(self.n_bins, bool) or self.n_bins < 2:
            raise ConfigError(f"n_bins must be an integer >= 2, got {self.n_bins!r}")
        if isinstance(self.smoothing, bool) or not isinstance(self.smoothing, (int, float)) or not self.smoothing > 0:
            raise ConfigError(f"smoothing must be a positive number, got {self.smoothing!r}")
        if self.rare_min_count is not None and (not isinstance(self.rare_min_count, int) or self.rare_min_count < 1):
            raise ConfigError(f"rare_min_count must be an integer >= 1 or None, got {self.rare_min_count!r}")
        if self.clip_quantile is not None and not 0 <= float(self.clip_quantile) < 0.5:
            raise ConfigError(f"clip_quantile must be in [0, 0.5) or None, got {self.clip_quantile!r}")
        check_representative(self.representative)

    # -- fit ---------------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame) -> None:
        rare, clip = protection_defaults(self)
        frame = clip_tails(frame, self.schema_.numerical_names, clip)
        n_bins = numeric_bins(self.n_bins, len(frame))
        self.discretizer_ = Discretizer.fit(frame, self.schema_.numerical_names, n_bins=n_bins,
                                            max_categories=self.max_categories, rare_min_count=rare,
                                            rare_strategy=self.rare_strategy)
        tokens = self.discretizer_.encode(frame)
        sizes = self.discretizer_.sizes
        rows = tokens
        if len(tokens) > STRUCTURE_ROWS:
            rows = tokens[np.sort(np.random.default_rng(self.seed).choice(len(tokens), STRUCTURE_ROWS, replace=False))]
        information = mutual_information(rows, sizes)
        self.order_, self.parents_ = best_tree(information)
        self.tables_ = [conditional_table(tokens, j, self.parents_[j], sizes, float(self.smoothing))
                        for j in range(len(sizes))]
        names = self.discretizer_.names
        self.fit_info_ = {"n_bins": n_bins, "edges": [
            {"parent": names[p], "child": names[j], "mutual_information": round(float(information[p, j]), 6)}
            for j, p in enumerate(self.parents_) if p >= 0]}

    # -- sample ------------------------------------------------------------------------
    def _sample(self, n: int, rng: np.random.Generator, conditions: dict[str, list[Any]] | None = None) -> pd.DataFrame:
        conditions = conditions or {}
        cumulative = self._cumulative(self._conditioned_tables(self.discretizer_.condition_tokens(conditions)))

        def chunk(rows: int, chunk_seed: int) -> np.ndarray:
            return self._sample_tokens(rows, cumulative, np.random.default_rng(chunk_seed))

        def draw(rows: int, seed: int) -> np.ndarray:
            return np.concatenate(map_chunks(rows, _CHUNK, seed, chunk), axis=0)

        tokens = draw_tokens(self.representative, draw, n, self.discretizer_.sizes, rng)
        return self.discretizer_.decode(tokens, rng, allowed=conditions, columns=[s.name for s in self.schema_.learned])

    def _conditioned_tables(self, allowed: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Each column's table given that the conditioned columns take only their ``allowed`` tokens.

        Exact on a tree, no rejection: every column j gets the likelihood of the conditions in its
        subtree for each of its values, lambda_j(x) (the allowed tokens' indicator at a conditioned
        column, times each child's sum over its table of P(child | x) lambda_child), passed from the
        leaves up; its table then becomes P(x | parent) lambda_j(x), normalized per parent value. A
        condition the tree gives probability 0 is refused. Why: rejection needs about 1/p draws for
        a condition of probability p (a class of 1 % needs a hundred per row kept), and a numeric
        value is never met exactly by a continuous decode.
        """
        if not allowed:
            return self.tables_
        names = self.discretizer_.names
        likelihood = [np.ones(table.shape[1]) for table in self.tables_]
        for name, tokens in allowed.items():
            indicator = np.zeros_like(likelihood[names.index(name)])
            indicator[tokens] = 1.0
            likelihood[names.index(name)] = indicator
        for j in reversed(self.order_):  # children come after their parent in order_: leaves first
            top = likelihood[j].max()
            if top > 0:  # a constant factor cancels in every table's normalization; rescaled, many
                likelihood[j] = likelihood[j] / top  # conditioned columns cannot underflow the product
            if self.parents_[j] >= 0:
                likelihood[self.parents_[j]] = likelihood[self.parents_[j]] * (self.tables_[j] @ likelihood[j])
        tables = []
        for j, table in enumerate(self.tables_):
            weighted = table * likelihood[j][None, :]
            total = weighted.sum(axis=1, keepdims=True)
            if self.parents_[j] < 0 and not total.all():
                raise ModelError(f"the conditions on {sorted(allowed)} have probability 0 under this model")
            # a parent value the conditions rule out is never drawn; its row keeps the old table
            tables.append(np.where(total > 0, weighted / np.where(total > 0, total, 1.0), table))
        return tables

    def _cumulative(self, tables: list[np.ndarray]) -> list[np.ndarray]:
        """Each column's table summed along its rows, every row ending at exactly 1."""
        cumulative = [np.cumsum(table, axis=1) for table in tables]
        for table in cumulative:
            table /= table[:, -1:]  # so that row p spans [p, p + 1] once shifted by p
        return cumulative

    def _sample_tokens(self, n: int, cumulative: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
        """Tokens (n, columns): each column in tree order, given its parent's tokens.

        Rows with parent value p look up row p of the child's cumulative table; shifting row p by p
        lays all rows out as one increasing array, so one ``searchsorted`` draws every row's token.
        """
        tokens = np.zeros((n, len(cumulative)), dtype=np.int64)
        for j in self.order_:
            parent = self.parents_[j]
            given = tokens[:, parent] if parent >= 0 else np.zeros(n, dtype=np.int64)
            table = cumulative[j]
            k = table.shape[1]
            shifted = (table + np.arange(len(table))[:, None]).ravel()
            u = grouped_stratified_uniforms(given, rng) + given
            drawn = np.searchsorted(shifted, u, side="right") - given * k
            tokens[:, j] = np.clip(drawn, 0, k - 1)
        return tokens

    # -- state -------------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        state = {"discretizer": self.discretizer_.to_state(), "order": [int(j) for j in self.order_],
                 "parents": [int(p) for p in self.parents_], "fit_info": self.fit_info_}
        return state, {f"table_{j}": torch.from_numpy(table) for j, table in enumerate(self.tables_)}

    def _set_state(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        self.discretizer_ = Discretizer.from_state(state["discretizer"])
        self.order_ = [int(j) for j in state["order"]]
        self.parents_ = [int(p) for p in state["parents"]]
        self.fit_info_ = state.get("fit_info", {})
        sizes = self.discretizer_.sizes
        self.tables_ = [tensors[f"table_{j}"].numpy().astype(float) for j in range(len(sizes))]
        for j, (table, parent) in enumerate(zip(self.tables_, self.parents_, strict=True)):
            rows = sizes[parent] if parent >= 0 else 1
            if table.shape != (rows, sizes[j]) or not np.isfinite(table).all() or (table < 0).any():
                raise ValueError(f"table {j} does not fit its column and parent")
        if sorted(self.order_) != list(range(len(sizes))):
            raise ValueError("the column order is not a permutation of the columns")


