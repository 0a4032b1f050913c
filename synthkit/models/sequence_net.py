"""Tokens and network of the ``sequence`` synthesizer.

Every value of a sequence becomes a token, so one network handles mixed types and missing values:
- :class:`ColumnCodec` maps a column to tokens and back. Categories are tokens; numbers with few
  distinct values are exact tokens; other numbers get "spike" tokens for values that carry a large
  share (0 ml urine, a GCS of 15) plus quantile bins (the outer edges at the 0.1 % quantiles, not
  at a lone outlier), decoded uniformly inside the bin; missing is a token of its own. The state
  is JSON (aggregates: quantile edges, categories).
- :class:`SequenceNet` is an autoregressive GRU over steps. The entity context (static columns,
  sequence length, start time) sets the initial state and is added to every step; inside a step the
  columns are decoded one after another, each conditioned on the tokens already drawn in that step
  (so a lab value follows its lab code, a diastolic pressure its systolic one). Each numeric
  column's entity stats (its mean so far, moving average, typical move, how often and how long ago
  it was read) are inputs too: without them a heart rate drifted like a random walk, each step of
  the right size but none pulling back to the patient's own level, and a temperature re-read within
  the hour moved as far as one read hours later (benchmarks/results/sequence.md, v9). With a time
  window, so are the time left to its end and the gap that would fill it (pace_features).

Hand-written rather than borrowed: the tokenization must round-trip through JSON and the network
must sample column-by-column within a step, which no library offers in this combination.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from synthkit.models.sequence_delta import Integrator
from synthkit.utils.normal_scores import normal_scores

__all__ = ["NORMAL_FEATURES", "ColumnCodec", "SequenceNet", "draw_tokens", "position_features"]

# share of a binned column's values (spikes included) left outside its outer bin edges at each end.
# A single outlier (a pH of 735, probably 7.35, or a temperature of -17.8 degrees) would otherwise
# stretch the outer bin across an empty range that uniform draws then fill (a temperature of 10
# degrees, a pH of 300), and the edges would store one patient's own extreme value. Values beyond
# are encoded into the outer bins and drawn inside them.
TAIL_SHARE = 0.001
# ... and an outer bin whose stretch beyond its last reading is more than this share of its width
# ends at that reading (_last_reading). ICU's training stays hold 8 pH readings of 1, 3, 94-96 and
# 733-735 among ~6,000, right at TAIL_SHARE: the top quantile interpolated to 16.6 between 7.69 and
# 94, the top bin ran from 7.57 to 16.6, and its draws were pH values of 8-16 (sequence.md, v23)
EMPTY_BIN_SHARE = 0.5
# A reading further beyond the outer edges than the outer bin is wide, recorded by at least this many
# entities, is a recording convention rather than one patient's value: PhysioNet writes a missing
# temperature, MAP or respiratory rate as 0 (10, 6 and 5 of 1,000 training stays). It becomes an
# exact token, so synthetic stays hold it as often, and as isolated, as real ones: drawn inside the
# outer bin instead, it left synthetic temperatures smoother than real ones (lag-1 autocorrelation
# 0.81 against 0.31-0.39, the largest lag-1 gap of any ICU measure; sequence.md, v26). Fewer
# entities keep the old rule, which stores no single patient's extreme value.
SHARED_OUTLIER_ENTITIES = 5
EMA_RATE = 0.3  # weight of a new value in a column's moving average (SequenceNet.stats_ema)
# rows of SequenceNet.stats_moves [..., 5, S] and of their running sums: per stats column, read (0/1),
# its value's rank, a previous value to move from (0/1), the size of the move; and the step itself
SEEN, RANK, MOVED, MOVE, STEP = range(5)
NORMAL_FEATURES = 2  # a numeric token's normal score z and z**2 - 1 (SequenceNet's ``normal``)


def _last_reading(present: np.ndarray, inner: float, outer: float) -> float:
    """An outer bin's ``outer`` edge, moved back to the last reading inside the bin (from the
    ``inner`` edge) where the bin is mostly empty of readings (more than ``EMPTY_BIN_SHARE`` of its
    width): a quantile interpolated between a last ordinary reading and a few gross outliers lands in
    empty space, and every value drawn there is one no record has. Where the tail is dense the edge
    stays (ICU and Beijing: every outer edge but pH's)."""
    lo, hi = min(inner, outer), max(inner, outer)
    inside = present[(present >= lo) & (present <= hi)]
    if not len(inside) or hi <= lo:
        return outer
    last = float(inside.max() if outer > inner else inside.min())
    return last if abs(outer - last) > EMPTY_BIN_SHARE * (hi - lo) else outer


def _bin_edges(present: np.ndarray, spikes: np.ndarray, n_bins: int) -> np.ndarray:
    """Quantile edges of the readings that are not ``spikes``; the outer edges move in to the
    column's ``TAIL_SHARE`` quantiles (never past the next edge) and to the last reading of a
    mostly empty outer bin (:func:`_last_reading`)."""
    rest = present[~np.isin(present, spikes)]
    edges = np.quantile(rest, np.linspace(0, 1, n_bins + 1)) if len(rest) else np.zeros(0)
    if len(edges) > 2:
        low, high = np.quantile(present, [TAIL_SHARE, 1 - TAIL_SHARE])
        edges[0], edges[-1] = min(max(edges[0], low), edges[1]), max(min(edges[-1], high), edges[-2])
        edges[0], edges[-1] = _last_reading(present, edges[1], edges[0]), _last_reading(present, edges[-2], edges[-1])
    return np.unique(edges)


def _shared_outliers(values: np.ndarray, entities: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Values further below the lowest edge than the lowest bin is wide (or above the highest by
    more than the highest bin's width) that ``SHARED_OUTLIER_ENTITIES`` or more entities hold."""
    low = edges[0] - (edges[1] - edges[0])
    high = edges[-1] + (edges[-1] - edges[-2])
    far = ~np.isnan(values) & ((values < low) | (values > high))
    if not far.any():
        return np.zeros(0)
    holders = pd.DataFrame({"value": values[far], "entity": entities[far]}).drop_duplicates()
    counts = holders["value"].value_counts()
    return np.sort(counts.index[counts.to_numpy() >= SHARED_OUTLIER_ENTITIES].to_numpy(dtype=float))


def draw_tokens(logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One category per row of ``logits`` [B, V], drawn from their softmax by inverting its
    cumulative sum. Same distribution as ``torch.multinomial``, which took 42 % of an ICU draw's
    time on a CPU: one uniform per row and a binary search instead (5x faster at 40 categories).
    A category of probability 0 (masked to -1e9) is never drawn: the target stays below the total,
    and an empty category's cumulative sum equals its left neighbour's."""
    cdf = torch.softmax(logits, dim=-1).cumsum(dim=-1)
    total = cdf[:, -1:]
    target = torch.minimum(torch.rand(total.shape, generator=generator, dtype=cdf.dtype) * total, total * (1 - 1e-6))
    return torch.searchsorted(cdf, target, right=True).squeeze(1).clamp(max=logits.shape[1] - 1)


def position_features(lengths: torch.Tensor, t_max: int) -> torch.Tensor:
    """[B, T, 3]: step index as a share of the entity's length, log length (known up front) and
    log of the steps still to come (so an entity's last steps know they are its last)."""
    length = lengths.float().clamp(min=1).unsqueeze(1)
    t = torch.arange(t_max, dtype=torch.float32).unsqueeze(0)
    left = torch.log1p((length - t).clamp(min=0)) / 6.0
    return torch.stack([(t / length).expand(-1, t_max), (torch.log1p(length) / 6.0).expand(-1, t_max), left], dim=-1)


class ColumnCodec:
    """Reversible column ↔ integer tokens; see the module docstring.

    Binned numbers carry two more pieces: a ``repeat`` token ("the same value as this entity's
    previous observation": a weight carried over a stay, a pressure reading that has not moved), and
    a ``fine`` position inside the bin, a second token predicted after the bin, so a smooth series
    is written at bin × fine resolution instead of jumping uniformly inside a coarse bin."""

    def __init__(self, kind: str, exact: list[Any], edges: list[float], has_missing: bool, fine: int = 0,
                 repeat: bool = False) -> None:
        self.kind = kind  # "numerical" | "categorical"
        self.exact = exact  # exact values (categories, or numeric spikes / discrete values)
        self.edges = edges  # quantile bin edges for the non-exact numeric values
        self.has_missing = has_missing
        self.fine = fine if len(edges) > 1 else 0  # positions inside a bin (0: uniform draw)
        self.repeat = bool(repeat and len(edges) > 1)

    @classmethod
    def fit(cls, values: np.ndarray, kind: str, n_bins: int, fine: int = 0, repeat: bool = False,
            entities: np.ndarray | None = None) -> ColumnCodec:
        """``entities``: each value's entity, to find readings far outside the bins that several
        entities share (``SHARED_OUTLIER_ENTITIES``); without it no such reading is kept."""
        if kind == "categorical":
            series = pd.Series(values, dtype=object)
            counts = series.dropna().astype(str).value_counts(sort=False)
            order = np.lexsort((counts.index.to_numpy(dtype=str), -counts.to_numpy()))  # by frequency, ties by name
            return cls("categorical", counts.index.to_numpy()[order].tolist(), [], bool(series.isna().any()))
        arr = np.asarray(values, dtype=float)
        present = arr[~np.isnan(arr)]
        has_missing = bool(np.isnan(arr).any())
        if len(present) == 0:
            return cls("numerical", [], [], True)
        uniq, counts = np.unique(present, return_counts=True)
        if len(uniq) <= n_bins:
            return cls("numerical", uniq.tolist(), [], has_missing)
        spikes = uniq[counts >= len(present) / n_bins]
        edges = _bin_edges(present, spikes, n_bins)
        if entities is not None and len(edges) > 2:
            shared = _shared_outliers(arr, np.asarray(entities), edges)
            if len(shared):
                spikes = np.union1d(spikes, shared)
                edges = _bin_edges(present, spikes, n_bins)
        rest = present[~np.isin(present, spikes)]
        if len(edges) < 2:  # the rest is a single value: keep it exact
            spikes, edges = np.unique(np.concatenate([spikes, rest])), np.zeros(0)
        return cls("numerical", spikes.tolist(), edges.tolist(), has_missing, fine, repeat)

    @property
    def n_bins(self) -> int:
        return max(len(self.edges) - 1, 0)

    @property
    def repeat_token(self) -> int:
        return len(self.exact) + self.n_bins if self.repeat else -1

    @property
    def missing_token(self) -> int:
        return len(self.exact) + self.n_bins + int(self.repeat)

    @property
    def vocab_size(self) -> int:
        return max(self.missing_token + int(self.has_missing), 1)

    def encode(self, values: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
        """Tokens (int64); values never seen map to the nearest bin or the most frequent category.
        ``previous``: the entity's previous observed value per row (NaN if none), for repeats."""
        n = len(values)
        if self.kind == "categorical":
            series = pd.Series(values, dtype=object)
            missing = series.isna().to_numpy()
            codes = pd.Categorical(series.astype(str).where(~missing), categories=self.exact).codes
            tokens = np.maximum(codes.astype(np.int64), 0)  # unseen categories fall back to the most frequent
        else:
            arr = np.asarray(values, dtype=float)
            missing = np.isnan(arr)
            tokens = np.zeros(n, dtype=np.int64)
            exact = np.asarray(self.exact, dtype=float)
            is_exact = np.zeros(n, dtype=bool)
            if len(exact):
                pos = np.clip(np.searchsorted(exact, arr), 0, len(exact) - 1)
                is_exact = exact[pos] == arr
                tokens[is_exact] = pos[is_exact]
            if self.n_bins:
                bins = self._bins(arr)
                rest = ~is_exact & ~missing
                tokens[rest] = len(exact) + bins[rest]
                if self.repeat and previous is not None:
                    tokens[(arr == previous) & rest] = self.repeat_token
            elif len(exact):
                rest = ~is_exact & ~missing
                tokens[rest] = np.argmin(np.abs(exact[None, :] - arr[rest, None]), axis=1) if rest.any() else 0
        if self.has_missing:
            tokens[missing] = self.missing_token
        return tokens

    def _bins(self, arr: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(np.asarray(self.edges), arr, side="right") - 1, 0, self.n_bins - 1)

    def encode_fine(self, values: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        """Position inside the bin (0 … fine-1) of binned values; ``fine`` (= not applicable) elsewhere."""
        arr, edges = np.asarray(values, dtype=float), np.asarray(self.edges)
        binned = self.drawn(tokens)
        out = np.full(len(arr), self.fine, dtype=np.int64)
        b = self._bins(arr[binned])
        u = (arr[binned] - edges[b]) / np.maximum(edges[b + 1] - edges[b], 1e-12)
        out[binned] = np.clip((u * self.fine).astype(np.int64), 0, self.fine - 1)
        return out

    def drawn(self, tokens: np.ndarray) -> np.ndarray:
        """Whether each token is a bin, whose value :meth:`decode` draws (not an exact value)."""
        tokens = np.asarray(tokens, dtype=np.int64)
        return (tokens >= len(self.exact)) & (tokens < len(self.exact) + self.n_bins)

    def drawn_values(self, values: np.ndarray) -> np.ndarray:
        """The present ``values`` that fall in a bin rather than on an exact value."""
        arr = np.asarray(values, dtype=float)
        return arr[~np.isnan(arr) & ~np.isin(arr, np.asarray(self.exact, dtype=float))]

    def decode(self, tokens: np.ndarray, rng: np.random.Generator, fine: np.ndarray | None = None) -> np.ndarray:
        """Values for tokens: exact values as they are, bins as uniform draws inside the bin (inside
        the ``fine`` sub-bin when given); repeats and missing are NaN (the caller fills repeats)."""
        tokens = np.asarray(tokens, dtype=np.int64)
        n_exact = len(self.exact)
        if self.kind == "categorical":
            out = np.full(len(tokens), np.nan, dtype=object)
            ok = tokens < n_exact
            out[ok] = np.asarray(self.exact, dtype=object)[tokens[ok]]
            return out
        out = np.full(len(tokens), np.nan)
        u = rng.random(len(tokens))
        if n_exact:
            ok = tokens < n_exact
            out[ok] = np.asarray(self.exact, dtype=float)[tokens[ok]]
        if self.n_bins:
            edges = np.asarray(self.edges)
            in_bin = (tokens >= n_exact) & (tokens < n_exact + self.n_bins)
            b = tokens[in_bin] - n_exact
            if fine is not None and self.fine:
                u[in_bin] = (np.minimum(fine[in_bin], self.fine - 1) + u[in_bin]) / self.fine
            out[in_bin] = edges[b] + u[in_bin] * (edges[b + 1] - edges[b])
        return out

    def ranks(self) -> list[float]:
        """Per token, the rank of its value among the tokens in [0, 1] (categories, repeat, missing: 0)."""
        if self.kind == "categorical" or self.vocab_size <= 1:
            return [0.0] * self.vocab_size
        edges = np.asarray(self.edges)
        reps = np.concatenate([np.asarray(self.exact, dtype=float), (edges[:-1] + edges[1:]) / 2 if self.n_bins else []])
        order = np.argsort(np.argsort(reps, kind="stable"), kind="stable")
        rank = (order / max(len(reps) - 1, 1)).tolist()
        return rank + [0.0] * (int(self.repeat) + int(self.has_missing))

    def normal_scores(self, counts: np.ndarray) -> np.ndarray | None:
        """[value tokens, 2] each value token's normal score z and z**2 - 1, where z is the normal
        quantile of the middle of the token's share of ``counts`` (its training steps per token) in
        value order: a spike holding most readings (a GCS of 15) sits near the centre, not in a
        tail. None for categories and numbers of fewer than three values (nothing to shape)."""
        n_values = len(self.exact) + self.n_bins if self.kind == "numerical" else 0
        if n_values < 3:
            return None
        rank = np.argsort(np.argsort(np.asarray(self.ranks()[:n_values]), kind="stable"), kind="stable")
        # + 0.5: a token no step holds still gets a place
        return normal_scores(rank, np.asarray(counts[:n_values], dtype=float) + 0.5, 1e-4)

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "exact": self.exact, "edges": self.edges, "has_missing": self.has_missing,
                "fine": self.fine, "repeat": self.repeat}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ColumnCodec:
        return cls(state["kind"], list(state["exact"]), list(state["edges"]), bool(state["has_missing"]),
                   int(state.get("fine", 0)), bool(state.get("repeat", False)))


class SequenceNet(nn.Module):
    """Context-conditioned GRU over steps with column-by-column decoding inside each step."""

    def __init__(self, context_vocab: list[int], step_vocab: list[int], hidden: int = 128, embed: int = 64,
                 missing_tokens: list[Any] | None = None, ranks: list[list[float]] | None = None, latent: int = 0,
                 integrator: Integrator | None = None, repeat_tokens: list[int] | None = None,
                 entity_stats: list[int] | None = None, gap_unit: float = 0.0, pace: bool = False,
                 normal: dict[int, np.ndarray] | None = None) -> None:
        super().__init__()
        # running levels of integrated channels (smooth series written as steps, elapsed time)
        self.integrator = integrator if integrator is not None else Integrator([], {})
        time_axis = self.integrator.time_axis
        # with a time axis, the time still left to the window's end and the gap the entity must
        # average over its remaining steps to fill it (pace_features), appended to the level inputs
        self.pace = bool(pace and gap_unit > 0 and time_axis is not None and np.isfinite(time_axis.get("room", np.inf)))
        n_levels = self.integrator.n_features + (2 if self.pace else 0)
        self.context_emb = nn.ModuleList([nn.Embedding(v, embed) for v in context_vocab])
        self.context_proj = nn.Linear(embed, hidden)
        self.step_emb = nn.ModuleList([nn.Embedding(v + 1, embed) for v in step_vocab])  # +1: start token
        # last *observed* token of each column: sparse measures (a lab every few hours) stay in view
        self.carry_emb = nn.ModuleList([nn.Embedding(v + 1, embed) for v in step_vocab])
        # tokens that say nothing about a column's level (missing, repeat, "no fine position"): the
        # carried token skips them, so it always holds the last observed value's token
        skip_tokens = [m if isinstance(m, (list, tuple)) else [m] for m in (missing_tokens or [-1] * len(step_vocab))]
        skip = []
        for v, tokens in zip(step_vocab, skip_tokens, strict=True):
            skip.append(torch.zeros(v + 1, dtype=torch.bool))
            skip[-1][[t for t in tokens if 0 <= t <= v]] = True
        # value rank of each token (numbers: order of the value; categories: 0) + start token, so a
        # bin's neighbours are near from the first step instead of being learned one pair at a time
        ranks = ranks if ranks is not None else [[0.0] * v for v in step_vocab]
        rank = [torch.tensor(list(r) + [0.0], dtype=torch.float32) for r in ranks]
        self.rank_proj = nn.Linear(2 * len(step_vocab), embed)
        self.in_proj = nn.Linear(embed + 3 + n_levels, hidden)
        self.level_proj = nn.Linear(n_levels, hidden) if n_levels else None
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.inner = nn.Linear(hidden, hidden)
        self.row_emb = nn.ModuleList([nn.Embedding(v, hidden) for v in step_vocab])
        # each column's own last observed token goes straight to its head: persistence (a patient's
        # heart rate stays near its last value) is then one lookup away instead of through the GRU
        self.own_emb = nn.ModuleList([nn.Embedding(v + 1, hidden) for v in step_vocab])
        self.heads = nn.ModuleList([nn.Sequential(nn.LayerNorm(hidden), nn.ReLU(), nn.Linear(hidden, v)) for v in step_vocab])
        # ``normal``: per numeric column (token column index), each token's normal score z and z**2 - 1
        # [V, 2] (zeros for tokens that are no value): its head adds a logit linear in both, with
        # coefficients from its hidden layer and the carried token's own (z, z**2 - 1), a normal
        # distribution over the bins whose mean and width two numbers set. "The next lactate is near
        # the last one" is then a single weight, where each carried bin's own embedding had to learn
        # it from the few pairs that bin has (a lab read every few hours: ~900 pairs in 1,000 stays)
        self.normal_heads = nn.ModuleDict()
        for i, scores in (normal or {}).items():
            block = np.zeros((step_vocab[i] + 1, NORMAL_FEATURES), dtype=np.float32)  # + the start token
            block[: len(scores)] = scores
            self.register_buffer(f"normal_{i}", torch.from_numpy(block))  # saved: the shares it came from are not
            self.normal_heads[str(i)] = nn.Linear(hidden + NORMAL_FEATURES, NORMAL_FEATURES)
        self.step_vocab = list(step_vocab)
        # "same as the previous observation" per column (-1: none); never drawn before a first observation
        self.repeat_tokens = list(repeat_tokens or [-1] * len(step_vocab))
        # the tokens that are no observation of a column (missing, start): the skipped ones but a repeat
        absent = [mask.clone() for mask in skip]
        for mask, repeat in zip(absent, self.repeat_tokens, strict=True):
            if repeat >= 0:
                mask[repeat] = False  # a repeat is an observation, of the same value
        # every column's per-token tables (size vocab + 1: the start token) laid end to end, each at its
        # offset: a step's lookups over all columns are then one gather, not one per column (a draw of
        # 16,000 ICU stays made ~130 lookups a step, each a call of its own; see ``generate``)
        sizes = torch.tensor([v + 1 for v in step_vocab], dtype=torch.long)
        offsets = torch.cat([torch.zeros(1, dtype=torch.long), sizes.cumsum(0)[:-1]])
        self.register_buffer("offsets", offsets, persistent=False)
        self.register_buffer("input_offsets", torch.cat([offsets, offsets + sizes.sum()]), persistent=False)  # previous, carried
        self.register_buffer("rank_offsets", torch.cat([offsets, offsets]), persistent=False)  # both read the same ranks
        for name, table in (("rank_all", rank), ("skip_all", skip), ("absent_all", absent)):
            self.register_buffer(name, torch.cat(table), persistent=False)
        stats_index = torch.tensor(list(entity_stats or []), dtype=torch.long)
        self.register_buffer("stats_index", stats_index, persistent=False)
        self.register_buffer("stats_offsets", offsets[stats_index], persistent=False)
        self.register_buffer("stats_start", torch.tensor(step_vocab, dtype=torch.long)[stats_index], persistent=False)
        # per-entity latent (a VAE over whole sequences): what the context does not say about an
        # entity (a patient's own baseline and volatility, a windy or a still week) is drawn once
        # per entity and conditions every step, instead of being re-decided step by step
        self.latent = latent
        # per numeric column (``entity_stats``: token column indices), where the entity has been, how
        # much it moves and how often it is read (stats_features); the heads and the GRU read them
        # directly instead of having to keep them in the GRU state
        self.stats_columns = list(entity_stats or [])
        # with a time axis, also the time since each column was last read, in units of a typical gap
        # (``gap_unit``): an ICU temperature re-read within the hour has moved 0.2 degrees on
        # average, one read 1.5-3 hours later 0.56; and lab rounds follow a schedule
        self.gap_unit = float(gap_unit) if time_axis is not None else 0.0
        n_stats = (7 if self.gap_unit > 0 else 6) * len(self.stats_columns)
        if self.stats_columns:
            self.stats_in = nn.Linear(n_stats, hidden)
            self.stats_out = nn.Linear(n_stats, hidden)
        if latent:
            self.enc = nn.Sequential(nn.Linear(embed, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
            self.enc_out = nn.Linear(hidden, 2 * latent)
            self.z_proj = nn.Linear(latent, hidden)

    def logits(self, i: int, x: torch.Tensor, carried: torch.Tensor) -> torch.Tensor:
        """Column ``i``'s head on its input ``x`` [..., H], given the column's ``carried`` token [...]:
        the head's own logits, plus on a numeric column the normal term (see ``normal``)."""
        head = self.heads[i]
        if str(i) not in self.normal_heads:
            return head(x)
        hidden = head[1](head[0](x))
        scores, normal = getattr(self, f"normal_{i}"), self.normal_heads[str(i)]
        width = hidden.shape[-1]
        # the normal head's linear layer on [hidden, scores[carried]], split in two: the carried token's
        # part is a table of V + 1 rows, so no [B, H + 2] copy is made per head and step
        coef = nn.functional.linear(hidden, normal.weight[:, :width], normal.bias) + (scores @ normal.weight[:, width:].T)[carried]
        flat = torch.addmm(head[2](hidden).reshape(-1, scores.shape[0] - 1), coef.reshape(-1, NORMAL_FEATURES), scores[:-1].T)
        return flat.view(*hidden.shape[:-1], -1)

    def context(self, ctx: torch.Tensor) -> torch.Tensor:
        """[B, C] context tokens → [B, H] context vector."""
        total = sum(emb(ctx[:, i]) for i, emb in enumerate(self.context_emb))
        return torch.tanh(self.context_proj(total))

    def carry(self, steps: torch.Tensor) -> torch.Tensor:
        """[B, T, K] → the last non-missing token of each column up to each step (start token before any)."""
        b, t, k = steps.shape
        observed = ~self.skip_all[steps + self.offsets]
        idx = torch.where(observed, torch.arange(t).view(1, t, 1).expand(b, t, k), torch.full_like(steps, -1))
        last = torch.cummax(idx, dim=1).values
        start = torch.tensor(self.step_vocab, dtype=steps.dtype).expand(b, t, k)
        return torch.where(last >= 0, steps.gather(1, last.clamp(min=0)), start)

    def stats_moves(self, tokens: torch.Tensor, before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
        """[..., 5, S]: rows ``SEEN``, ``RANK``, ``MOVED``, ``MOVE``, ``STEP`` per stats column: observed
        (0/1), its value's rank, whether a previous value exists to move from (0/1), the size of the
        move, and 1 (the step itself, to count steps), for a step of ``tokens`` [..., K] with the
        carried tokens ``before`` and ``after`` it (repeats carry the previous value: a move of 0)."""
        cols, offsets = self.stats_index, self.stats_offsets
        was = before[..., cols]
        seen = (~self.absent_all[tokens[..., cols] + offsets]).float()
        moved = seen * (was != self.stats_start).float()
        now = self.rank_all[after[..., cols] + offsets]
        move = moved * (now - self.rank_all[was + offsets]).abs()
        return torch.stack([seen, seen * now, moved, move, torch.ones_like(seen)], dim=-2)

    def stats_before(self, steps: torch.Tensor, carried: torch.Tensor, after: torch.Tensor,
                     clock: torch.Tensor | None = None) -> torch.Tensor:
        """[B, T, 6S or 7S] :meth:`stats_features` before each step of ``steps`` [B, T, K] (of steps
        0 … t-1), given the carried tokens before and after each step, as generation accumulates
        them; ``clock`` [B, T]: the time axis' share (:meth:`Integrator.features`) before each step."""
        b, t_max, _ = steps.shape
        moves = self.stats_moves(steps, carried, after)
        sums = torch.cumsum(moves, dim=1)
        sums = torch.cat([torch.zeros_like(sums[:, :1]), sums[:, :-1]], dim=1)
        ema, before = torch.zeros(b, len(self.stats_columns)), []
        for t in range(t_max):  # a recurrence; entities are vectorized, steps cannot be
            before.append(ema)
            ema = self.stats_ema(ema, sums[:, t], moves[:, t])
        since = None
        if self.gap_unit > 0 and clock is not None:
            # the last step j < t each column was read at; the time after step j is the clock before j + 1
            steps_idx = torch.arange(t_max).view(1, t_max, 1)
            read = torch.where(moves[..., SEEN, :] > 0, steps_idx, torch.full_like(steps_idx, -1))
            last = torch.cat([torch.full_like(read[:, :1], -1), torch.cummax(read, dim=1).values[:, :-1]], dim=1)
            at = torch.gather(clock.unsqueeze(-1).expand(-1, -1, len(self.stats_columns)), 1, (last + 1).clamp(max=t_max - 1))
            since = self.stats_since(clock.unsqueeze(-1) - at, last >= 0)
        return self.stats_features(sums, torch.stack(before, dim=1), carried, since)

    def stats_since(self, elapsed_share: torch.Tensor, read: torch.Tensor) -> torch.Tensor:
        """Time since a column was last read, from the difference of time shares, as log(1 + gaps)
        (0 before its first reading)."""
        gaps = (elapsed_share.double() * self.integrator.bounds[0, 2] / self.gap_unit).clamp(min=0)
        return torch.where(read, torch.log1p(gaps).clamp(max=4.0), torch.zeros_like(gaps)).float()

    def pace_features(self, clock: torch.Tensor, steps_left: torch.Tensor) -> torch.Tensor:
        """[..., 2] from the time axis' share ``clock`` [...] (:meth:`Integrator.features`) and the
        steps still to come, this one included: log(1 + the time left to the window's end) and the
        log of the gap the entity must average to reach that end, both in units of a typical gap.
        Why: 97.9 % of real ICU stays are read within 5 hours of the 48-hour window's end but 29 %
        of drawn ones ended earlier, so their gaps ran short; the network saw the elapsed share and
        the steps left, but the gap they imply is a ratio of the two it had to learn. With it (1,000
        stays, 3 seeds) the gap KS fell from 0.044 to 0.032 and the seed-0 model's chosen stays reach
        43 hours 85 % of the time instead of 72 %; the discriminator stayed at 0.758 (sequence.md, v14)."""
        scale = self.integrator.bounds[0, 2]
        left = ((1.0 - clock.double()) * scale / self.gap_unit).clamp(min=0.0)
        per_step = left / steps_left.double().clamp(min=1.0)
        return torch.stack([torch.log1p(left) / 6.0, torch.log(per_step.clamp(0.01, 100.0)) / 4.0], dim=-1).float()

    def _paced(self, levels: torch.Tensor, steps_left: torch.Tensor) -> torch.Tensor:
        """``levels`` [..., n_features] with :meth:`pace_features` appended (unchanged without pace)."""
        return torch.cat([levels, self.pace_features(levels[..., 0], steps_left)], dim=-1) if self.pace else levels

    @staticmethod
    def stats_ema(ema: torch.Tensor, sums: torch.Tensor, moves: torch.Tensor) -> torch.Tensor:
        """Each stats column's moving average of its value ranks [..., S] after a step of ``moves``
        (:meth:`stats_moves`), ``sums`` the running sums before it: the first value as it is, then
        ``EMA_RATE`` of each new one."""
        seen, now, first = moves[..., SEEN, :] > 0, moves[..., RANK, :], sums[..., SEEN, :] == 0
        return torch.where(seen, torch.where(first, now, ema + EMA_RATE * (now - ema)), ema)

    def stats_features(self, sums: torch.Tensor, ema: torch.Tensor, carried: torch.Tensor,
                       since: torch.Tensor | None = None) -> torch.Tensor:
        """Running sums [..., 5, S] of :meth:`stats_moves`, the moving averages [..., S] and the
        carried tokens [..., K] → [..., 6S]: per column the mean rank so far, the mean size of a move
        (scaled to about 1: rank moves are a few hundredths), whether any is known, the share of
        steps it was observed at (how often a lab is drawn), the moving average and how far the last
        value is from it (a heart rate at a spike above its level moves back; at its level it stays);
        with ``since`` [..., S] (:meth:`stats_since`) appended, [..., 7S]."""
        seen, total, moved, size = sums[..., SEEN, :], sums[..., RANK, :], sums[..., MOVED, :], sums[..., MOVE, :]
        mean = total / seen.clamp(min=1)
        step = 10.0 * size / moved.clamp(min=1)
        share = seen / sums[..., STEP, :].clamp(min=1)
        last = self.rank_all[carried[..., self.stats_index] + self.stats_offsets]
        away = torch.where(seen > 0, (10.0 * (last - ema)).clamp(-3.0, 3.0), torch.zeros_like(ema))
        parts = [mean, step.clamp(max=3.0), (moved > 0).float(), share, ema, away]
        return torch.cat(parts + ([since] if since is not None else []), dim=-1)

    def input_table(self) -> torch.Tensor:
        """The previous and carried tokens' embeddings of every column, end to end (``input_offsets``)."""
        return torch.cat([emb.weight for emb in self.step_emb] + [emb.weight for emb in self.carry_emb])

    def _inputs(self, prev: torch.Tensor, carried: torch.Tensor, pos: torch.Tensor, c: torch.Tensor, levels: torch.Tensor,
                stats: torch.Tensor | None = None, table: torch.Tensor | None = None) -> torch.Tensor:
        """The GRU's input at each step; ``table``: :meth:`input_table`, if the caller has built it."""
        tokens = torch.cat([prev, carried], dim=-1)  # [..., 2K]
        table = self.input_table() if table is None else table
        flat = (tokens + self.input_offsets).reshape(-1, tokens.shape[-1])
        total = nn.functional.embedding_bag(flat, table, mode="sum").view(*tokens.shape[:-1], -1)
        total = total + self.rank_proj(self.rank_all[tokens + self.rank_offsets])
        hidden = self.in_proj(torch.cat([total, pos, levels], dim=-1))
        if stats is not None:
            hidden = hidden + self.stats_in(stats)
        return torch.relu(hidden) + c.unsqueeze(1)

    def _base(self, out: torch.Tensor, c: torch.Tensor, levels: torch.Tensor, stats: torch.Tensor | None = None) -> torch.Tensor:
        """Shared input of the column heads: the GRU state, the context and (directly, like the own
        carried token) the running levels and entity stats, so "stay near the current level" and
        "move as much as this entity does" are one layer away."""
        base = self.inner(out) + c
        if stats is not None:
            base = base + self.stats_out(stats)
        return base + self.level_proj(levels) if self.level_proj is not None else base

    def loss(self, ctx: torch.Tensor, steps: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor,
             levels: torch.Tensor | None = None) -> torch.Tensor:
        """Mean per-step negative log-likelihood (summed over columns) of padded sequences.

        ctx [B, C], steps [B, T, K] tokens, pos [B, T, 3] position features, mask [B, T] bool,
        levels [B, T, 2D] :meth:`Integrator.features` of the levels before each step.
        """
        b, t, k = steps.shape
        c = self.context(ctx)
        kl = torch.zeros(())
        if self.latent:
            seen = sum(emb(steps[..., i]) for i, emb in enumerate(self.step_emb))
            pooled = (self.enc(seen) * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
            mu, logvar = self.enc_out(pooled).chunk(2, dim=-1)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu  # validation: the mean
            c = c + torch.tanh(self.z_proj(z))
            kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum()
        start = torch.tensor(self.step_vocab, dtype=steps.dtype).expand(b, 1, k)
        prev = torch.cat([start, steps[:, :-1]], dim=1)
        after = self.carry(steps)
        carried = torch.cat([start, after[:, :-1]], dim=1)
        levels = levels if levels is not None else torch.zeros(b, t, 0)
        stats = self.stats_before(steps, carried, after, levels[..., 0] if self.gap_unit > 0 else None) if self.stats_columns else None
        levels = self._paced(levels, mask.sum(1, keepdim=True) - torch.arange(t).unsqueeze(0))
        out, _ = self.gru(self._inputs(prev, carried, pos, c, levels, stats), c.unsqueeze(0).contiguous())
        base = self._base(out, c.unsqueeze(1), levels, stats)
        nll = torch.zeros(b, t)
        known = levels[..., self.integrator.size : 2 * self.integrator.size] > 0.5
        for i in range(k):  # base: the shared input, plus each earlier column's token at this step
            logits = self.integrator.mask(i, self.logits(i, base + self.own_emb[i](carried[..., i]), carried[..., i]), known)
            nll = nll + nn.functional.cross_entropy(logits.reshape(b * t, -1), steps[..., i].reshape(-1), reduction="none").view(b, t)
            base = base + self.row_emb[i](steps[..., i])
        return ((nll * mask).sum() + kl) / mask.sum().clamp(min=1)  # ELBO per step

    @torch.no_grad()
    def generate(self, ctx: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator, temperature: float = 1.0,
                 start: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The drawn steps, entity after entity (``lengths`` of them each, sum(lengths) rows): their
        tokens [N, K], the integrated channels' levels after each step [N, D] and whether each
        channel was observed at it [N, D]. ``start`` [B]: the entities' start times (the time axis'
        first level).

        Entities are stepped longest first, and each step computes only those still running (a
        prefix of that order): ICU stays are 70 steps long on average and the longest 200, so
        stepping every entity to the longest computed mostly finished ones. Steps are written in
        that order, step-major, and gathered into the entities' order once at the end.

        The loop's cost is the number of tensor operations a step makes, each over the entities
        still running (~130 lookups and ~100 additions a step on ICU's 33 token columns before
        they were merged into concatenated tables and one running sum: 16,000 stays, one core,
        43 s)."""
        b, k = ctx.shape[0], len(self.heads)
        t_max = int(lengths.max()) if len(lengths) else 0
        c = self.context(ctx)
        if self.latent:
            c = c + torch.tanh(self.z_proj(torch.randn(b, self.latent, generator=generator)))
        own_lengths = lengths
        order = torch.sort(lengths, descending=True, stable=True).indices
        c, lengths = c[order], lengths[order]
        start = None if start is None else start[order]
        running = (lengths.unsqueeze(0) > torch.arange(t_max).unsqueeze(1)).sum(1).tolist()  # entities at each step
        h = c.unsqueeze(0).contiguous()
        prev = torch.tensor(self.step_vocab, dtype=torch.long).expand(b, k).unsqueeze(1)
        carried = prev.clone()
        positions = position_features(lengths, t_max)
        integ = self.integrator
        level, known = integ.start(b, start)
        # step-major, longest entity first; only the entities' own steps are written and read
        out_tokens = torch.empty(t_max, b, k, dtype=torch.long)
        out_levels = torch.empty(t_max, b, integ.size, dtype=torch.float64)
        out_observed = torch.empty(t_max, b, integ.size, dtype=torch.bool)
        table = self.input_table()
        total = torch.zeros(b, integ.size, dtype=torch.float64)
        count = torch.zeros(b, integ.size, dtype=torch.float64)
        sums = torch.zeros(b, 5, len(self.stats_columns))
        ema = torch.zeros(b, len(self.stats_columns))
        read_at = torch.zeros(b, len(self.stats_columns))  # time share after each column's last reading
        read_now = torch.zeros(b, len(self.stats_columns), dtype=torch.bool)
        for t in range(t_max):
            m = running[t]
            if m < len(lengths):  # the shortest have ended: drop them from every per-entity state
                c, lengths, positions, h, prev, carried = c[:m], lengths[:m], positions[:m], h[:, :m], prev[:m], carried[:m]
                level, known, total, count = level[:m], known[:m], total[:m], count[:m]
                sums, ema, read_at, read_now = sums[:m], ema[:m], read_at[:m], read_now[:m]
            total, count, baseline = integ.running(total, count, level, known)
            features = integ.features(level, known, baseline)
            stats, since = None, None
            if self.stats_columns:
                if self.gap_unit > 0:  # the clock now is the time after the previous step
                    read_at = torch.where(read_now, features[:, :1], read_at)
                    since = self.stats_since(features[:, :1] - read_at, sums[:, SEEN] > 0)
                stats = self.stats_features(sums, ema, carried[:, 0], since)
            features = self._paced(features, lengths - t)
            out, h = self.gru(self._inputs(prev, carried, positions[:, t : t + 1], c, features.unsqueeze(1),
                                           None if stats is None else stats.unsqueeze(1), table), h)
            base = self._base(out[:, 0], c, features, stats)  # a new tensor: the loop adds to it in place
            left = (lengths - 1 - t).clamp(min=0)
            columns = carried[:, 0].T.contiguous()  # [K, m]: each column's carried tokens, read three times a head
            drawn = []
            for i in range(k):
                logits = self.integrator.mask(i, self.logits(i, base + self.own_emb[i](columns[i]), columns[i]), known)
                logits = self.integrator.room(i, logits, level, left)
                if self.repeat_tokens[i] >= 0:
                    nothing_yet = columns[i] == self.step_vocab[i]
                    logits[:, self.repeat_tokens[i]] = logits[:, self.repeat_tokens[i]].masked_fill(nothing_yet, -1e9)
                drawn.append(draw_tokens(logits if temperature == 1.0 else logits / temperature, generator))
                base += self.row_emb[i](drawn[-1])  # each next column reads the tokens drawn before it
            step = out_tokens[t, :m]
            torch.stack(drawn, dim=1, out=step)
            level, known, out_observed[t, :m] = integ.advance(level, known, step, first=t == 0)
            out_levels[t, :m] = level
            prev = step.unsqueeze(1)
            skip = self.skip_all[step + self.offsets].unsqueeze(1)
            before, carried = carried, torch.where(skip, carried, prev)
            if self.stats_columns:
                moves = self.stats_moves(step, before[:, 0], carried[:, 0])
                read_now = moves[:, SEEN] > 0
                ema = self.stats_ema(ema, sums, moves)
                sums = sums + moves
        back = torch.empty_like(order)
        back[order] = torch.arange(b)  # each entity's place in the longest-first order
        entity = torch.repeat_interleave(torch.arange(b), own_lengths)
        first = torch.cumsum(own_lengths, 0) - own_lengths
        rows = (torch.arange(len(entity)) - first[entity]) * b + back[entity]  # step t of entity e: row t * B + its place
        return tuple(out.view(t_max * b, out.shape[-1])[rows] for out in (out_tokens, out_levels, out_observed))  # type: ignore[return-value]
