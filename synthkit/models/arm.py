"""Autoregressive mixed-type model (``arm``), in the spirit of TabularARGN: our best-quality synthesizer.

Every column is discretized into tokens (:mod:`synthkit.transform.discretize`), and the joint
distribution is factored exactly as p(x1) p(x2 | x1) ... p(xC | x<C). One network predicts every
column at once during training: token embeddings, a block-causal ("masked") linear layer so that
column j only sees columns before it, per-column residual layers and per-column softmax heads,
trained with cross-entropy and early stopping on a held-out share. Each column's output bias
starts at the log of its token shares (:meth:`ARNet.start_from_marginals`), and what is kept is
an average of the weights over about the last epoch of steps (:func:`train_likelihood_model`):
together they took arm from 0.908 to 0.964-0.969 holdout quality on bank-marketing (5,000 rows)
and from 0.875 to 0.897 on gbsg2 (343 rows), where early stopping had ended training before the
marginals had converged.

Sampling goes column by column, vectorized over rows. The first layer is linear in the embeddings,
so for sampling it is folded into per-column lookup tables (``embedding_bag`` sums them): a row
costs a few hundred thousand multiply-adds, which is what makes sampling fast on CPU. Each column's
uniforms are stratified over the chunk's rows (:mod:`synthkit.utils.stratified`): every row is an
exact draw from the model, and the table's token counts follow the model's probabilities without
the ±√n noise of independent draws (on tables of a few hundred rows that noise cost 0.005-0.02 of
holdout quality).

Conditions are native: conditioned columns are sampled from their restricted distribution and,
when earlier columns exist, rows are reweighted by how likely the condition is given their prefix
and resampled (sequential importance resampling). Put conditioned columns first with
``column_order`` and the conditional is exact.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from synthkit.errors import ConfigError, ModelError
from synthkit.models.base import Synthesizer
from synthkit.models.chow_liu import SMOOTHING, best_tree, conditional_table, mutual_information
from synthkit.models.chunked import map_chunks
from synthkit.models.nn_base import PII_CLIP_QUANTILE, PII_RARE_MIN_COUNT
from synthkit.models.registry import register
from synthkit.models.representative import check_representative, draw_tokens
from synthkit.models.trainer import Trainer
from synthkit.transform.discretize import Discretizer
from synthkit.utils.normal_scores import normal_scores
from synthkit.utils.stratified import stratified_uniforms_torch

__all__ = ["ARNet", "AutoregressiveSynthesizer", "clip_tails", "numeric_bins", "protection_defaults", "train_likelihood_model",
           "tree_order"]

log = logging.getLogger(__name__)
MIN_BATCHES = 16  # batches per epoch a small table still gets (the batch shrinks to give them)
MIN_BATCH = 64  # ... but never below this many rows
ROWS_PER_BIN = 50  # numeric bins are capped at one per this many training rows (measured: 64 bins on
# 1,800 rows learned a 0.49 rank correlation as 0.40, 32 bins as 0.47)
MIN_BINS = 16
SMALL_TABLE_ROWS = 2_000  # below this many rows the network is narrower (see network_size)
TINY_TABLE_ROWS = 1_000  # below this many rows the token embeddings are narrower still (see network_size)
TINY_NETWORK, SMALL_NETWORK, NETWORK = (4, 32), (8, 32), (16, 64)  # (embedding_dim, hidden) when left to the model
AVERAGE_DECAY = (0.9, 0.99)  # bounds of the weight average's decay (see train_likelihood_model)
ORDINAL_FEATURES = 6  # smooth features (rank, cosines) of a numeric token's position, see ARNet
NORMAL_FEATURES = 2  # a token's normal score z and z**2 - 1, for numbers in a strong pair (see normal_features)
STRONG_PAIR = 0.5  # |rank correlation| with another number that makes a column's pair "strong"
FREE_SCALE = 0.1  # numeric tokens start from their ordinal features: the free part starts small
TREE_FLOOR = 1e-4  # smallest probability a prior table gives a token (a token its rows never show is not impossible)
_CHUNK = 16_384  # rows sampled per step: large enough to amortize 15+ small ops per column (measured best at 2 threads)


class ARNet(nn.Module):
    """Block-causal MLP over column tokens: logits of column j depend on tokens of columns < j."""

    def __init__(self, sizes: list[int], embedding_dim: int, hidden: int, depth: int, dropout: float,
                 ordinal: np.ndarray | None = None, normal: np.ndarray | None = None,
                 prior_parents: list[int] | None = None) -> None:
        super().__init__()
        c, d, h = len(sizes), embedding_dim, hidden
        self.sizes, self.embedding_dim, self.hidden, self.depth = list(sizes), d, h, depth
        kmax = max(sizes)
        self.register_buffer("offsets", torch.tensor(np.concatenate([[0], np.cumsum(sizes)[:-1]]), dtype=torch.long))
        self.embed = nn.Embedding(int(sum(sizes)), d)
        nn.init.normal_(self.embed.weight, std=1.0)
        # numeric tokens also get a smooth function of their position in the column's distribution
        # (a cosine basis, projected into the embedding space): neighbouring bins start alike and share what they
        # learn, so a few rows per bin are enough to learn how later columns depend on a number
        ordinal = np.zeros((int(sum(sizes)), ORDINAL_FEATURES)) if ordinal is None else ordinal
        self.register_buffer("ordinal", torch.as_tensor(ordinal, dtype=torch.float32), persistent=False)
        numeric = torch.as_tensor(np.abs(ordinal).sum(1) > 0)
        with torch.no_grad():
            self.embed.weight[numeric] *= FREE_SCALE
        self.ordinal_proj = nn.Parameter(torch.randn(ORDINAL_FEATURES, d))
        mask = torch.zeros(c * h, c * d)
        for j in range(c):
            mask[j * h:(j + 1) * h, : j * d] = 1.0
        self.register_buffer("mask", mask)
        self.w_in = nn.Parameter(torch.randn(c * h, c * d) / np.sqrt(max(c * d / 2, 1)))
        self.b_in = nn.Parameter(torch.zeros(c, h))
        self.w_hidden = nn.Parameter(torch.randn(depth, c, h, h) / np.sqrt(h))
        self.b_hidden = nn.Parameter(torch.zeros(depth, c, h))
        self.w_out = nn.Parameter(torch.randn(c, h, kmax) / np.sqrt(h))
        self.b_out = nn.Parameter(torch.zeros(c, kmax))
        # the same smooth features on the output side: how a numeric column's distribution shifts with
        # earlier columns starts as a smooth tilt over its bins, learned from all rows at once instead
        # of bin by bin (measured: the bin-by-bin head learns a 0.5 rank correlation from 1,350 rows as
        # ~0.43 at its best validation loss)
        out_ordinal = self._by_column(self.ordinal, kmax)
        self.register_buffer("out_ordinal", out_ordinal, persistent=False)
        out_numeric = out_ordinal.abs().sum(2) > 0
        with torch.no_grad():
            self.w_out.mul_(torch.where(out_numeric, FREE_SCALE, 1.0)[:, None, :])
        self.out_proj = nn.Parameter(torch.randn(c, h, ORDINAL_FEATURES) / np.sqrt(h))
        valid = torch.arange(kmax)[None, :] < torch.tensor(sizes)[:, None]
        self.register_buffer("logit_mask", torch.where(valid, 0.0, -1e9))
        self.dropout = nn.Dropout(dropout)
        # normal-score features (zero outside strong pairs), on both sides like the ordinal ones;
        # created last so that every parameter above starts as it did before they existed
        normal = np.zeros((int(sum(sizes)), NORMAL_FEATURES)) if normal is None else normal
        self.register_buffer("normal", torch.as_tensor(normal, dtype=torch.float32), persistent=False)
        self.register_buffer("out_normal", self._by_column(self.normal, kmax), persistent=False)
        self.normal_proj = nn.Parameter(torch.randn(NORMAL_FEATURES, d))
        self.out_normal_proj = nn.Parameter(torch.randn(c, h, NORMAL_FEATURES) / np.sqrt(h))
        # the tree prior (see start_from_tree): buffers only, so networks without it start as before
        self.prior_parents = list(prior_parents) if prior_parents is not None else None
        if self.prior_parents is not None:
            if len(self.prior_parents) != c or any(not -1 <= p < j for j, p in enumerate(self.prior_parents)):
                raise ValueError("each column's tree parent must be a column before it (or -1)")
            rows = [sizes[p] if p >= 0 else 1 for p in self.prior_parents]
            self.register_buffer("prior_table", torch.zeros(sum(rows), kmax))
            self.register_buffer("prior_start", torch.tensor(np.concatenate([[0], np.cumsum(rows)[:-1]]), dtype=torch.long),
                                 persistent=False)
            self.register_buffer("prior_parent", torch.tensor([max(p, 0) for p in self.prior_parents]), persistent=False)
            self.register_buffer("prior_linked", torch.tensor([int(p >= 0) for p in self.prior_parents]), persistent=False)

    def _by_column(self, features: torch.Tensor, kmax: int) -> torch.Tensor:
        """(all tokens, F) per-token features laid out as (columns, max vocabulary, F) for the output side."""
        out = torch.zeros(len(self.sizes), kmax, features.shape[1])
        for j, size in enumerate(self.sizes):
            start = int(self.offsets[j])
            out[j, :size] = features[start:start + size]
        return out

    @torch.no_grad()
    def start_from_marginals(self, tokens: torch.Tensor) -> None:
        """Start every column's output bias at the log of its tokens' shares in ``tokens``.

        Why: logits start at zero, i.e. uniform over a column's tokens, and the first column's
        distribution is nothing but its bias, which Adam moves by about the learning rate per step;
        early stopping then ended Adult's training (630 steps) with age 2.6 % off in KS and
        marital-status 1.2 % off. Starting at the marginals (the answer for the first column, a
        baseline for the others) leaves the steps for the dependencies.
        """
        self.start_from_counts([torch.bincount(tokens[:, j], minlength=size)[:size] for j, size in enumerate(self.sizes)])

    @torch.no_grad()
    def start_from_counts(self, counts: list[torch.Tensor]) -> None:
        """:meth:`start_from_marginals` from each column's token counts (the Ray engine has no token matrix)."""
        for j, size in enumerate(self.sizes):
            smoothed = torch.as_tensor(counts[j], dtype=torch.float64)[:size] + 0.5  # no token starts at -inf
            self.b_out[j, :size] = torch.log(smoothed / smoothed.sum()).float()

    @torch.no_grad()
    def start_from_tree(self, tokens: torch.Tensor, smoothing: float = SMOOTHING) -> None:
        """Start from the tree prior: column j's logits get the log of its table given its tree parent
        (``prior_parents[j]``, counted on ``tokens`` by :func:`synthkit.models.chow_liu.conditional_table`)
        added to them, a fixed table; the output biases start at zero, the table holding the marginals.

        Why: on tables of a few hundred rows the network learns a strong pair only partly before its
        validation loss turns (german-credit's duration x credit amount, rank correlation 0.60, came out
        0.46-0.55), while a count table holds it as the rows show it. Starting from the best tree over
        the columns, training learns what the tree cannot carry (dependence on several columns): holdout
        quality rose from 0.923 to 0.939 on german-credit and from 0.953 to 0.958 on actg175, TSTR the
        same or higher; insurance's DCR share rose from 0.545 to 0.582 (3 model seeds each,
        ``benchmarks/results/models_2min.md``).
        """
        assert self.prior_parents is not None, "the network was built without a tree prior"
        data = tokens.numpy()
        for j, parent in enumerate(self.prior_parents):
            table = conditional_table(data, j, parent, self.sizes, smoothing)
            start = int(self.prior_start[j])
            self.prior_table[start:start + len(table), : self.sizes[j]] = torch.from_numpy(
                np.log(np.maximum(table, TREE_FLOOR))).float()
        self.b_out.zero_()

    def prior(self, tokens: torch.Tensor) -> torch.Tensor:
        """(n, columns, max vocabulary) the tree prior's log probabilities of each column given the row's tokens."""
        return self.prior_table[self.prior_start + tokens[:, self.prior_parent] * self.prior_linked]

    def token_weight(self) -> torch.Tensor:
        """Embedding of every token: its free vector plus the projection of its ordinal and normal features."""
        return self.embed.weight + self.ordinal @ self.ordinal_proj + self.normal @ self.normal_proj

    def output_weight(self) -> torch.Tensor:
        """(columns, hidden, max vocabulary) output weights: free part plus the smooth ordinal and normal parts."""
        return (self.w_out + torch.einsum("chf,ckf->chk", self.out_proj, self.out_ordinal)
                + torch.einsum("chf,ckf->chk", self.out_normal_proj, self.out_normal))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (n, columns, max vocabulary) of every column given the tokens before it."""
        n, c = tokens.shape
        e = F.embedding(tokens + self.offsets, self.token_weight()).reshape(n, -1)
        h = F.linear(e, self.w_in * self.mask).reshape(n, c, self.hidden) + self.b_in
        h = self.dropout(F.relu(h))
        for layer in range(self.depth):
            h = h + self.dropout(F.relu(torch.einsum("nch,chg->ncg", h, self.w_hidden[layer]) + self.b_hidden[layer]))
        logits = torch.einsum("nch,chk->nck", h, self.output_weight()) + self.b_out + self.logit_mask
        return logits + self.prior(tokens) if self.prior_parents is not None else logits

    def loss(self, tokens: torch.Tensor) -> torch.Tensor:
        """Mean over rows of the summed per-column cross-entropy (negative log-likelihood in nats)."""
        logits = self.forward(tokens)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens.reshape(-1), reduction="sum") / len(tokens)


class ARSampler:
    """:class:`ARNet`'s column-by-column conditionals, rearranged once per ``sample`` call for speed.

    The first layer of column j is folded into one table over all earlier tokens (an embedding
    times its block of ``w_in``), with the bias as row 0, so its input is one ``embedding_bag``
    over the row's token ids; tokens are kept as ids into those tables (``shift[j]`` + token, and
    id 0 for the bias), which spares an offset addition per column, and the output weights are
    made contiguous, so the last layer is one fused ``addmm``.
    """

    @torch.no_grad()
    def __init__(self, net: ARNet) -> None:
        c, d, h = len(net.sizes), net.embedding_dim, net.hidden
        self.sizes = list(net.sizes)
        self.shift = (net.offsets + 1).tolist()
        self.tables: list[torch.Tensor] = []
        self.hidden: list[list[tuple[torch.Tensor, torch.Tensor]]] = []
        self.out: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.prior: dict[int, tuple[int, torch.Tensor]] = {}  # column -> (its tree parent, its prior table)
        weight, w_out = net.token_weight(), net.output_weight()
        for j in range(c):
            parts = [net.b_in[j][None, :]]
            for i in range(j):
                emb = weight[net.offsets[i]: net.offsets[i] + net.sizes[i]]
                parts.append(emb @ net.w_in[j * h:(j + 1) * h, i * d:(i + 1) * d].T)
            self.tables.append(torch.cat(parts).contiguous())
            self.hidden.append([(net.b_hidden[layer, j].clone(), net.w_hidden[layer, j].contiguous())
                                for layer in range(net.depth)])
            k = net.sizes[j]
            bias = net.b_out[j, :k].clone()
            parent = net.prior_parents[j] if net.prior_parents is not None else -1
            if net.prior_parents is not None:  # the tree prior: a root's one row joins the bias, a child's is looked up
                rows = net.prior_table[int(net.prior_start[j]):int(net.prior_start[j]) + (net.sizes[parent] if parent >= 0 else 1), :k]
                if parent < 0:
                    bias += rows[0]
                else:
                    self.prior[j] = (parent, rows.contiguous())
            self.out.append((bias, w_out[j, :, :k].contiguous()))

    def ids(self, rows: int) -> torch.Tensor:
        """(rows, columns + 1) token ids, all 0: column 0 is the bias slot, the rest are filled by :meth:`put`."""
        return torch.zeros(rows, len(self.sizes) + 1, dtype=torch.long)

    def put(self, ids: torch.Tensor, j: int, tokens: torch.Tensor) -> None:
        ids[:, j + 1] = tokens + self.shift[j]

    def tokens(self, ids: torch.Tensor) -> np.ndarray:
        """(rows, columns) tokens of filled ids."""
        return (ids[:, 1:] - torch.tensor(self.shift)).numpy()

    @torch.no_grad()
    def logits(self, j: int, ids: torch.Tensor) -> torch.Tensor:
        """Logits (rows, size_j) of column j given the ids of the columns before it."""
        h = F.embedding_bag(ids[:, : j + 1], self.tables[j], mode="sum").clamp_min_(0.0)
        for bias, weight in self.hidden[j]:
            h = h + torch.addmm(bias, h, weight).clamp_min_(0.0)
        bias, weight = self.out[j]
        logits = torch.addmm(bias, h, weight)
        if j in self.prior:
            parent, table = self.prior[j]
            logits += table[ids[:, parent + 1] - self.shift[parent]]
        return logits


@register("arm")
class AutoregressiveSynthesizer(Synthesizer):
    """Autoregressive token model; see the module docstring.

    Small tables get the same amount of learning as large ones: at least ``min_steps`` optimizer
    steps (early stopping cannot fire before; ``epochs=None`` lets the epoch cap grow to fit them,
    an explicit ``epochs`` is a hard cap), with the batch shrunk so an epoch has at least
    :data:`MIN_BATCHES` batches, the learning rate scaled with the square root of the batch, and at
    most one numeric bin per :data:`ROWS_PER_BIN` rows (see :func:`small_table_schedule`); on
    tables of tens of thousands of rows none of this changes anything. ``min_steps`` is 300: the
    best validation loss comes after ~80-450 steps on tables of 1,000-20,000 rows (measured on the
    small-table test, german-credit, insurance and Adult), the best weights are restored, so steps
    past it only cost time (1,500 gave the same small-table model and a slightly worse Adult one:
    the learning rate is halved on plateaus only once ``min_steps`` are done).

    ``embedding_dim``/``hidden`` left as None take 16/64, 8/32 on tables of fewer than
    :data:`SMALL_TABLE_ROWS` rows and 4/32 under :data:`TINY_TABLE_ROWS` (see :meth:`network_size`).
    ``tree_prior`` left as None starts the network from the best tree over the columns on tables
    under :data:`SMALL_TABLE_ROWS` rows too (:meth:`uses_tree_prior`): the
    columns are then modelled in the tree's order (after any ``column_order``), and each column's
    logits add the log of its table given its tree parent.

    ``representative`` left as None draws samples of up to 50,000 rows representatively
    (:mod:`synthkit.models.representative`: rows chosen from 4x as many draws of the model so that
    columns and pairs follow its tables without the sample's own noise); False draws independent
    rows, True always chooses.

    ``n_bins`` quantile bins per numeric column, ``column_order`` names columns to model first
    (conditioning on them is then exact), ``max_minutes`` caps training time (breaks bit-for-bit
    reproducibility, so it is off by default). Privacy defaults follow gan/vae: with PII columns in
    the table, categories seen fewer than 10 times are never stored (``rare_strategy="drop"``) and
    numeric tails are clipped to the 0.5 %/99.5 % quantiles (``rare_min_count``/``clip_quantile``).
    """

    test_params: ClassVar[dict[str, Any]] = {"epochs": 3, "hidden": 32, "embedding_dim": 8, "n_bins": 16, "batch_size": 256,
                                             "min_steps": 0}
    native_conditions = True

    def __init__(self, metadata: Any = None, seed: int | None = 0, tail_quantile: float = 0.0, n_bins: int = 64,
                 embedding_dim: int | None = None, hidden: int | None = None, depth: int = 0, dropout: float = 0.1, epochs: int | None = None,
                 batch_size: int = 512, learning_rate: float = 3e-3, weight_decay: float = 1e-5,
                 validation_fraction: float = 0.1, patience: int = 4, max_minutes: float | None = None,
                 column_order: list[str] | None = None, max_categories: int = 255, rare_min_count: int | None = None,
                 rare_strategy: str = "drop", clip_quantile: float | None = None, min_steps: int = 300,
                 tree_prior: bool | None = None, representative: bool | None = None) -> None:
        super().__init__(metadata=metadata, seed=seed, tail_quantile=tail_quantile)
        self.n_bins, self.embedding_dim, self.hidden, self.depth = n_bins, embedding_dim, hidden, depth
        self.dropout, self.epochs, self.batch_size = dropout, epochs, batch_size
        self.learning_rate, self.weight_decay = learning_rate, weight_decay
        self.validation_fraction, self.patience, self.max_minutes = validation_fraction, patience, max_minutes
        self.column_order, self.max_categories = column_order, max_categories
        self.rare_min_count, self.rare_strategy, self.clip_quantile = rare_min_count, rare_strategy, clip_quantile
        self.min_steps, self.tree_prior, self.representative = min_steps, tree_prior, representative

    def _check_params(self) -> None:
        for name in ("embedding_dim", "hidden", "epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if name in ("epochs", "embedding_dim", "hidden") and value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.depth, int) or self.depth < 0:
            raise ConfigError(f"depth must be an integer >= 0, got {self.depth!r}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if not 0.0 <= float(self.validation_fraction) < 0.5:
            raise ConfigError(f"validation_fraction must be in [0, 0.5), got {self.validation_fraction!r}")
        if not float(self.learning_rate) > 0:
            raise ConfigError(f"learning_rate must be positive, got {self.learning_rate!r}")
        if self.rare_min_count is not None and (not isinstance(self.rare_min_count, int) or self.rare_min_count < 1):
            raise ConfigError(f"rare_min_count must be an integer >= 1 or None, got {self.rare_min_count!r}")
        if not isinstance(self.min_steps, int) or isinstance(self.min_steps, bool) or self.min_steps < 0:
            raise ConfigError(f"min_steps must be an integer >= 0, got {self.min_steps!r}")
        if self.clip_quantile is not None and not 0 <= float(self.clip_quantile) < 0.5:
            raise ConfigError(f"clip_quantile must be in [0, 0.5) or None, got {self.clip_quantile!r}")
        if self.tree_prior not in (None, True, False):
            raise ConfigError(f"tree_prior must be true, false or None (left to the model), got {self.tree_prior!r}")
        check_representative(self.representative)
        learned = [s.name for s in self.schema_.learned]
        unknown = [c for c in (self.column_order or []) if c not in learned]
        if unknown:
            raise ConfigError(f"column_order names columns that are not learned: {unknown}")

    # -- fit ---------------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame) -> None:
        start = time.perf_counter()
        rare, clip = protection_defaults(self)
        frame = clip_tails(frame, self.schema_.numerical_names, clip)
        first = list(dict.fromkeys(self.column_order or []))
        n_bins = self.bins_for(len(frame))
        discretizer = Discretizer.fit(frame, self.schema_.numerical_names, n_bins=n_bins, max_categories=self.max_categories,
                                      rare_min_count=rare, rare_strategy=self.rare_strategy)
        parents: list[int] | None = None
        if self.uses_tree_prior(len(frame)):
            self.order_, parents = tree_order(discretizer, frame, first)
        else:
            self.order_ = first + [c for c in frame.columns if c not in first]
        self.discretizer_ = Discretizer([discretizer.codec(c) for c in self.order_])
        tokens = torch.from_numpy(self.discretizer_.encode(frame[self.order_]))
        self.normal_columns_ = normal_columns(frame, self.schema_.numerical_names, len(frame))
        self.net_ = ARNet(self.discretizer_.sizes, *self.network_size(len(frame)), self.depth, self.dropout,
                          ordinal_features(self.discretizer_), normal_features(self.discretizer_, self.normal_columns_),
                          prior_parents=parents)
        preprocess = time.perf_counter() - start
        begin = self.net_.start_from_tree if parents is not None else self.net_.start_from_marginals
        self.fit_info_ = train_likelihood_model(self, self.net_, tokens, preprocess, min_steps=self.min_steps,
                                                start=begin, average=True)
        self.fit_info_["n_bins"] = n_bins
        self.fit_info_["tree_prior"] = self.tree_edges()
        self.fit_info_["embedding_dim"], self.fit_info_["hidden"] = self.network_
        self.fit_info_["normal_features"] = self.normal_columns_

    def bins_for(self, n_rows: int) -> int:
        """Numeric bins per column for a table of ``n_rows`` rows (see :func:`numeric_bins`)."""
        return numeric_bins(self.n_bins, n_rows)

    def uses_tree_prior(self, n_rows: int) -> bool:
        """Whether the network starts from the tree prior (:meth:`ARNet.start_from_tree`): ``tree_prior``
        if given, else on tables of fewer than :data:`SMALL_TABLE_ROWS` rows.

        Why not on larger tables: there the network learns its pairs from the rows (default-credit-card's
        monthly bills with normal-score features), the tree's count tables of 64 x 64 bins are fine
        grained enough to hold single rows' noise, and the Ray engine sees a table that large only
        through its sketch's 20,000-row sample (it starts from the marginals, as before).
        """
        return bool(self.tree_prior) if self.tree_prior is not None else n_rows < SMALL_TABLE_ROWS

    def tree_edges(self) -> list[list[str]] | None:
        """[parent, child] pairs of the fitted network's tree prior (None without one), for ``fit_info_``."""
        parents = self.net_.prior_parents
        return None if parents is None else [[self.order_[p], self.order_[j]] for j, p in enumerate(parents) if p >= 0]

    def network_size(self, n_rows: int) -> tuple[int, int]:
        """(embedding_dim, hidden): the ones given, else :data:`TINY_NETWORK` under :data:`TINY_TABLE_ROWS`
        rows, :data:`SMALL_NETWORK` under :data:`SMALL_TABLE_ROWS` and :data:`NETWORK` above.

        Why narrower on small tables: on 343-1,069 training rows (gbsg2, german-credit, insurance,
        actg175; 3 model seeds x 2 draws each) 8/32 gave the same holdout quality as 16/64 (-0.004
        to +0.001) with a DCR share 0.008-0.039 lower (german-credit 0.614 -> 0.588): the wider
        network had room to learn single rows. Under 1,000 rows 4-wide embeddings went further
        (3 model seeds x 5 draws, representative draws): the same quality (gbsg2 0.908 -> 0.910,
        german-credit 0.942 -> 0.941, insurance 0.938 -> 0.939) with a mean DCR share of 0.575
        against 0.593 on german-credit and 0.538 against 0.566 on insurance; on actg175's 1,069
        rows they gained nothing (DCR share 0.527 -> 0.534). Tables of thousands of rows need the
        width (and Ray trains only those), so above the thresholds nothing changes.
        """
        default_embedding, default_hidden = (TINY_NETWORK if n_rows < TINY_TABLE_ROWS else
                                             SMALL_NETWORK if n_rows < SMALL_TABLE_ROWS else NETWORK)
        return (self.embedding_dim if self.embedding_dim is not None else default_embedding,
                self.hidden if self.hidden is not None else default_hidden)

    @property
    def network_(self) -> tuple[int, int]:
        """(embedding_dim, hidden) of the fitted network, read from it (not kept twice)."""
        return self.net_.embedding_dim, self.net_.hidden

    # -- sample ------------------------------------------------------------------------
    def _sample(self, n: int, rng: np.random.Generator, conditions: dict[str, list[Any]] | None = None) -> pd.DataFrame:
        self.net_.eval()
        plan = ARSampler(self.net_)
        allowed = self._condition_tokens(conditions or {})
        tokens = draw_tokens(self.representative, lambda rows, seed: self._sample_chunks(rows, plan, allowed, seed), n,
                             self.discretizer_.sizes, rng)
        return self.discretizer_.decode(tokens, rng, allowed=conditions, columns=[s.name for s in self.schema_.learned])

    def _condition_tokens(self, conditions: dict[str, list[Any]]) -> dict[int, torch.Tensor]:
        return {self.order_.index(name): torch.as_tensor(tokens, dtype=torch.long)
                for name, tokens in self.discretizer_.condition_tokens(conditions).items()}

    def _sample_chunks(self, n: int, plan: ARSampler, allowed: dict[int, torch.Tensor], seed: int) -> np.ndarray:
        """Tokens (n, columns) of ``n`` rows, chunk by chunk on parallel threads (see :mod:`synthkit.models.chunked`).

        Column-major, so that decoding reads each column contiguously.
        """

        def chunk(rows: int, chunk_seed: int) -> np.ndarray:
            return self._sample_tokens(rows, plan, allowed, torch.Generator().manual_seed(chunk_seed)).T

        return np.concatenate(map_chunks(n, _CHUNK, seed, chunk), axis=1).astype(np.int64).T

    @torch.no_grad()
    def _sample_tokens(self, n: int, plan: ARSampler, allowed: dict[int, torch.Tensor],
                       generator: torch.Generator) -> np.ndarray:
        ids = plan.ids(n)
        for j, k in enumerate(plan.sizes):
            logits = plan.logits(j, ids)
            # unnormalized probabilities (the cumulative sum's end is the total): the fused softmax
            # is faster on wide columns (binned numbers), three plain passes on narrow ones
            probs = torch.softmax(logits, dim=1) if k >= 32 else torch.exp_(logits - logits.amax(dim=1, keepdim=True))
            if j in allowed:
                keep = torch.zeros(k, dtype=torch.bool)
                keep[allowed[j]] = True
                total = probs.sum(1)
                probs = probs * keep
                weight = probs.sum(1) / total  # P(condition | earlier columns)
                if (weight <= 0).all():
                    raise ModelError(f"the model gives the condition on {self.order_[j]!r} zero probability")
                if j > 0 and float(weight.max() - weight.min()) > 1e-6 * float(weight.max()):
                    idx = _systematic_resample(weight, generator)
                    ids, probs = ids[idx], probs[idx]
            cumulative = torch.cumsum(probs, dim=1)
            u = stratified_uniforms_torch(n, generator)[:, None] * cumulative[:, -1:]
            drawn = torch.searchsorted(cumulative, u, right=True)[:, 0].clamp_max_(k - 1)
            if j in allowed:  # rounding at the top of the cumulative sum must not leave the allowed set
                bad = ~torch.isin(drawn, allowed[j])
                drawn[bad] = allowed[j][probs[bad][:, allowed[j]].argmax(1)]
            plan.put(ids, j, drawn)
        return plan.tokens(ids)

    def log_likelihood(self, data: pd.DataFrame) -> np.ndarray:
        """Per-row log-probability (nats) of the rows' tokens under the model (discretized data)."""
        self._require_fitted()
        frame = self.schema_.to_model_frame(data)
        tokens = torch.from_numpy(self.discretizer_.encode(frame[self.order_]))
        self.net_.eval()
        with torch.no_grad():
            logp = torch.log_softmax(self.net_(tokens), dim=2).gather(2, tokens[:, :, None])[:, :, 0]
        return logp.sum(1).numpy().astype(float)

    # -- state -------------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        state = {"order": self.order_, "discretizer": self.discretizer_.to_state(), "fit_info": self.fit_info_,
                 "network": list(self.network_), "normal_columns": list(self.normal_columns_),
                 "prior_parents": self.net_.prior_parents}
        return state, dict(self.net_.state_dict())

    def _set_state(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        self.order_ = list(state["order"])
        self.discretizer_ = Discretizer.from_state(state["discretizer"])
        self.fit_info_ = state.get("fit_info", {})
        # saved before the size depended on the rows: the parameters' values then, 16/64 unless given
        saved = state.get("network")
        size = (int(saved[0]), int(saved[1])) if saved else (self.embedding_dim or NETWORK[0], self.hidden or NETWORK[1])
        # saved before normal features existed: none (and their weights below are zeros)
        self.normal_columns_ = [str(c) for c in state.get("normal_columns") or []]
        # saved before the tree prior existed (or without it): none
        parents = state.get("prior_parents")
        self.net_ = ARNet(self.discretizer_.sizes, *size, self.depth, self.dropout, ordinal_features(self.discretizer_),
                          normal_features(self.discretizer_, self.normal_columns_),
                          prior_parents=[int(p) for p in parents] if parents is not None else None)
        # weights of parts added after a file was saved (ordinal features, the smooth output part,
        # normal features) are zeros: those parts then contribute nothing, as when it was saved
        added = ("ordinal_proj", "out_proj", "normal_proj", "out_normal_proj")
        tensors = {**{name: torch.zeros_like(getattr(self.net_, name)) for name in added}, **tensors}
        self.net_.load_state_dict(tensors)
        self.net_.eval()


def tree_order(discretizer: Discretizer, rows: pd.DataFrame, first: list[str]) -> tuple[list[str], list[int]]:
    """(column order, tree parents as positions in it) for the tree prior, found on ``rows``.

    The order is ``first`` (a user's ``column_order``), then the best tree's columns root first
    (:func:`~synthkit.models.chow_liu.walk`); each column's parent is its strongest tree neighbour
    before it (-1 for none).
    """
    names = discretizer.names
    information = mutual_information(discretizer.encode(rows[names]), discretizer.sizes)
    index, by_column = best_tree(information, [names.index(c) for c in first])
    return [names[j] for j in index], [index.index(by_column[j]) if by_column[j] >= 0 else -1 for j in index]


def ordinal_features(discretizer: Discretizer) -> np.ndarray:
    """(all tokens, :data:`ORDINAL_FEATURES`) cosine basis of each numeric token's rank in its column.

    A token's rank orders its representative value (exact value or bin start); categorical and
    missing tokens get zeros (no order).
    """
    rows = []
    for codec in discretizer.codecs:
        block = np.zeros((codec.size, ORDINAL_FEATURES))
        rank = _value_ranks(codec) if codec.kind == "numerical" else None
        if rank is not None:
            u = rank / (len(rank) - 1)
            block[: len(rank)] = np.stack([np.cos(np.pi * k * u) if k else u - 0.5 for k in range(ORDINAL_FEATURES)], axis=1)
        rows.append(block)
    return np.concatenate(rows)


def _value_ranks(codec: Any) -> np.ndarray | None:
    """Rank of each value token of a numeric codec (exact values, then bins) by its value (exact
    value or bin start); None when it has fewer than two."""
    values = np.concatenate([codec.exact, codec.edges[:-1] if codec.n_bins else []])
    return np.argsort(np.argsort(values, kind="stable"), kind="stable") if len(values) > 1 else None


def normal_features(discretizer: Discretizer, columns: list[str]) -> np.ndarray:
    """(all tokens, :data:`NORMAL_FEATURES`) each numeric token's normal score ``z`` and ``z**2 - 1``,
    for the numeric ``columns`` only (zeros elsewhere: those columns stay as they were).

    ``z`` is the normal quantile of the middle of the token's share of the column's values (a spike
    holding 80 % of them sits near the centre, not in the tail). On the output side a logit linear
    in ``z`` and ``z**2`` is a normal distribution over the column's bins whose mean and width the
    hidden layer sets, so "this month's bill is close to last month's" is two numbers to learn,
    where the cosine features need many large weights for a narrow peak. Only columns in a strong
    pair (:func:`strongly_paired`) of tables of :data:`SMALL_TABLE_ROWS` rows or more get them: on
    every numeric column they moved Adult's shape error from 0.54 % to 0.57 % (3 model seeds x 2
    draws), where no two numbers are strongly related, and on small tables they raised the DCR
    share. Measured in ``benchmarks/results/models_2min.md``: default-credit-card's monthly bills
    (Pearson 0.84-0.96 between months) went from a mean Pearson gap of 0.057 to 0.02 and its holdout
    quality from 0.970 to 0.978.
    """
    wanted = set(columns)
    rows = []
    for codec in discretizer.codecs:
        block = np.zeros((codec.size, NORMAL_FEATURES))
        rank = _value_ranks(codec) if codec.kind == "numerical" and codec.name in wanted else None
        if rank is not None:
            shares = codec.shares
            known = shares is not None and len(shares) == len(rank) and shares.sum() > 0
            block[: len(rank)] = normal_scores(rank, shares if known else np.ones(len(rank)), 1e-6)  # equal shares if unknown
        rows.append(block)
    return np.concatenate(rows)


def normal_columns(rows: pd.DataFrame, numerical: list[str], n_rows: int) -> list[str]:
    """The columns that get normal-score features in a table of ``n_rows`` rows, found on ``rows``
    (the table itself, or a uniform sample of it when training on a cluster).

    None under :data:`SMALL_TABLE_ROWS` rows: there they raised the DCR share (gbsg2, german-credit,
    insurance, actg175: +0.007 to +0.041) without raising holdout quality (-0.001 to +0.002, 3 model seeds).
    """
    return strongly_paired(rows, numerical) if n_rows >= SMALL_TABLE_ROWS else []


def strongly_paired(frame: pd.DataFrame, numerical: list[str], threshold: float = STRONG_PAIR,
                    max_rows: int = 20_000) -> list[str]:
    """Numeric columns whose rank correlation with another numeric column is at least ``threshold``
    in absolute value (on up to ``max_rows`` rows).

    One matrix product over the columns' centred ranks, where a missing value counts as its column's
    mean rank (which pulls a sparse column's correlations towards 0), instead of pandas' pairwise
    Spearman: that re-ranks every pair's complete rows and took 77 s for 200 columns of 20,000 rows
    with missing values (this: well under a second).
    """
    wanted = set(numerical)
    names = [c for c in frame.columns if c in wanted]
    if len(names) < 2:
        return []
    sample = frame[names] if len(frame) <= max_rows else frame[names].sample(max_rows, random_state=0)
    ranks = sample.astype(float).rank().to_numpy()
    present = ~np.isnan(ranks)
    mean_rank = np.where(present, ranks, 0.0).sum(axis=0) / np.maximum(present.sum(axis=0), 1)
    centred = np.where(present, ranks - mean_rank, 0.0)
    norms = np.sqrt((centred**2).sum(axis=0))
    norms[norms == 0] = np.inf  # a constant column correlates with nothing
    corr = np.abs(centred.T @ centred) / np.outer(norms, norms)
    pairs = present.T.astype(float) @ present  # rows where both are present
    corr[pairs < 30] = 0.0
    np.fill_diagonal(corr, 0.0)
    return [name for name, strong in zip(names, corr.max(axis=1) >= threshold, strict=True) if strong]


def protection_defaults(model: Synthesizer) -> tuple[int, float]:
    """(rare_min_count, clip_quantile): stricter when the table has PII columns, as for gan/vae."""
    has_pii = any(spec.pii != "none" for spec in model.schema_.columns)
    rare = getattr(model, "rare_min_count", None)
    clip = getattr(model, "clip_quantile", None)
    return (rare if rare is not None else (PII_RARE_MIN_COUNT if has_pii else 1),
            float(clip if clip is not None else (PII_CLIP_QUANTILE if has_pii else 0.0)))


def numeric_bins(n_bins: int, n_rows: int) -> int:
    """Numeric bins per column for a table of ``n_rows`` rows: ``n_bins``, at most one per :data:`ROWS_PER_BIN`
    rows (never fewer than :data:`MIN_BINS`)."""
    return min(n_bins, max(MIN_BINS, n_rows // ROWS_PER_BIN))


def clip_tails(frame: pd.DataFrame, numerical: list[str], q: float) -> pd.DataFrame:
    """``frame`` with each numeric column clipped to its ``q``/``1 - q`` quantiles (unchanged when ``q`` is 0)."""
    if q <= 0:
        return frame
    frame = frame.copy()
    for name in numerical:
        values = frame[name].to_numpy(dtype=float)
        if np.isfinite(values).any():
            lo, hi = np.nanquantile(values, [q, 1 - q])
            frame[name] = np.where(np.isnan(values), np.nan, np.clip(values, lo, hi))
    return frame


def small_table_schedule(n_train: int, batch_size: int, learning_rate: float, epochs: int | None,
                         min_steps: int, default_epochs: int = 60) -> tuple[int, float, int]:
    """(batch size, learning rate, epochs) so that ``n_train`` rows get at least ``min_steps`` steps.

    The batch shrinks until an epoch has :data:`MIN_BATCHES` batches (never below
    :data:`MIN_BATCH`), the learning rate follows the square root of the batch (smaller batches,
    noisier gradients), and with ``epochs=None`` the epoch cap is ``default_epochs`` or as many as
    ``min_steps`` need; an explicit ``epochs`` stays a hard cap. With ``min_steps=0`` the settings
    are returned unchanged (``flow`` trains that way).
    """
    batch = min(batch_size, n_train)
    if min_steps <= 0:
        return batch, learning_rate, epochs if epochs is not None else default_epochs
    batch = min(batch, max(MIN_BATCH, n_train // MIN_BATCHES))
    lr = learning_rate * math.sqrt(batch / batch_size) if batch < batch_size else learning_rate
    per_epoch = max(n_train // batch, 1)
    return batch, lr, epochs if epochs is not None else max(default_epochs, math.ceil(min_steps / per_epoch))


def average_decay(batch: int, n_train: int) -> float:
    """The weight average's decay per step: an average over about one epoch of steps, within :data:`AVERAGE_DECAY`."""
    low, high = AVERAGE_DECAY
    return min(high, max(low, 1.0 - batch / max(n_train, 1)))


def train_likelihood_model(model: Any, net: nn.Module, data: torch.Tensor, preprocess_seconds: float,
                           min_steps: int = 0, start: Callable[[torch.Tensor], None] | None = None,
                           average: bool = False) -> dict[str, Any]:
    """Maximum likelihood with the shared :class:`Trainer`: AdamW on ``net.loss(batch)``, early stopping
    on a held-out ``validation_fraction`` of rows (best weights restored, not before ``min_steps``
    steps), learning rate halved on plateaus once ``min_steps`` are done. Shared by ``arm`` and ``flow``.
    ``start``, if given, initializes the network from the training rows (not the validation rows).

    With ``average``, what is validated, kept at its best epoch and returned is an exponential moving
    average of the weights over about one epoch of steps (decay ``1 - 1/batches per epoch`` within
    :data:`AVERAGE_DECAY`). Why: with a batch of 512 each step moves the logits toward that batch's
    shares, which scatter by ~2 % for a binary column, so the last step's weights carry that noise
    into every marginal (Adult, 32,561 rows: shape error 1.42 % without, 0.82 % with the average;
    measured on 7 benchmark tables, holdout quality the same or better on 6, see
    ``benchmarks/results/models_2min.md``)."""
    generator = torch.Generator().manual_seed(int(model.seed or 0))
    perm = torch.randperm(len(data), generator=generator)
    n_val = int(len(data) * model.validation_fraction) if len(data) >= 200 else 0
    val, train = data[perm[:n_val]], data[perm[n_val:]]
    if start is not None:
        start(train)
    batch, lr, epochs = small_table_schedule(len(train), model.batch_size, model.learning_rate, model.epochs, min_steps)
    trainer = Trainer(epochs=epochs, batch_size=batch, max_minutes=model.max_minutes,
                      patience=model.patience if n_val else None, min_delta=1e-4, device="cpu", seed=model.seed,
                      desc=model.name, min_steps=min_steps)
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=model.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
    steps = {"done": 0}
    swa = torch.optim.swa_utils
    decay = average_decay(batch, len(train))
    ema = swa.AveragedModel(net, multi_avg_fn=swa.get_ema_multi_avg_fn(decay)) if average else None
    judged = ema.module if ema is not None else net  # what is validated, kept at its best, and sampled from

    def step(idx: torch.Tensor) -> dict[str, float]:
        loss = net.loss(train[idx])
        trainer.optimize(optimizer, loss)
        if ema is not None:
            ema.update_parameters(net)
        steps["done"] += 1
        return {"nll": float(loss.detach())}

    def validate() -> float:
        judged.eval()
        with torch.no_grad():
            score = float(judged.loss(val))
        net.train()
        if steps["done"] >= min_steps:  # a noisy small validation set must not halve the rate early
            scheduler.step(score)
        return score

    net.train()
    history = trainer.run(len(train), step, validate if n_val else None, modules=[judged])
    if ema is not None:
        net.load_state_dict(judged.state_dict())
    net.eval()
    epochs = len(history.epochs)
    return {"preprocess_seconds": preprocess_seconds, "epochs": epochs, "train_seconds": history.seconds,
            "seconds_per_epoch": history.seconds / max(epochs, 1), "stop_reason": history.stop_reason,
            "best_epoch": history.best_epoch, "steps": history.steps, "batch_size": batch, "learning_rate": lr,
            "best_validation_nll": min((e["val_loss"] for e in history.epochs if "val_loss" in e), default=None),
            "weight_average_decay": decay if average else None}


def _systematic_resample(weight: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Row indices drawn in proportion to ``weight`` with low variance (systematic resampling)."""
    n = len(weight)
    cumulative = torch.cumsum(weight.double(), 0)
    positions = (torch.rand(1, generator=generator, dtype=torch.float64) + torch.arange(n, dtype=torch.float64)) / n
    return torch.searchsorted(cumulative / cumulative[-1], positions).clamp_max(n - 1)
