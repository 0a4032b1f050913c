"""Tokens and network of the ``sequence`` synthesizer.

Every value of a sequence becomes a token, so one network handles mixed types and missing values:
- :class:`ColumnCodec` maps a column to tokens and back. Categories are tokens; numbers with few
  distinct values are exact tokens; other numbers get "spike" tokens for values that carry a large
  share (0 ml urine, a GCS of 15) plus quantile bins, decoded uniformly inside the bin; missing is a
  token of its own. The state is JSON (aggregates: quantile edges, categories).
- :class:`SequenceNet` is an autoregressive GRU over steps. The entity context (static columns,
  sequence length, start time) sets the initial state and is added to every step; inside a step the
  columns are decoded one after another, each conditioned on the tokens already drawn in that step
  (so a lab value follows its lab code, a diastolic pressure its systolic one).

Hand-written rather than borrowed: the tokenization must round-trip through JSON and the network
must sample column-by-column within a step, which no library offers in this combination.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

__all__ = ["ColumnCodec", "SequenceNet", "position_features"]


def position_features(lengths: torch.Tensor, t_max: int) -> torch.Tensor:
    """[B, T, 2]: step index as a share of the entity's length, and log length (known up front)."""
    length = lengths.float().clamp(min=1).unsqueeze(1)
    t = torch.arange(t_max, dtype=torch.float32).unsqueeze(0)
    return torch.stack([(t / length).expand(-1, t_max), (torch.log1p(length) / 6.0).expand(-1, t_max)], dim=-1)


class ColumnCodec:
    """Reversible column ↔ integer tokens; see the module docstring."""

    def __init__(self, kind: str, exact: list[Any], edges: list[float], has_missing: bool) -> None:
        self.kind = kind  # "numerical" | "categorical"
        self.exact = exact  # exact values (categories, or numeric spikes / discrete values)
        self.edges = edges  # quantile bin edges for the non-exact numeric values
        self.has_missing = has_missing

    @classmethod
    def fit(cls, values: np.ndarray, kind: str, n_bins: int) -> ColumnCodec:
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
        rest = present[~np.isin(present, spikes)]
        edges = np.unique(np.quantile(rest, np.linspace(0, 1, n_bins + 1))) if len(rest) else np.zeros(0)
        if len(edges) < 2:  # the rest is a single value: keep it exact
            spikes, edges = np.unique(np.concatenate([spikes, rest])), np.zeros(0)
        return cls("numerical", spikes.tolist(), edges.tolist(), has_missing)

    @property
    def n_bins(self) -> int:
        return max(len(self.edges) - 1, 0)

    @property
    def vocab_size(self) -> int:
        return max(len(self.exact) + self.n_bins + int(self.has_missing), 1)

    @property
    def missing_token(self) -> int:
        return len(self.exact) + self.n_bins

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Tokens (int64); values never seen map to the nearest bin or the most frequent category."""
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
                edges = np.asarray(self.edges)
                bins = np.clip(np.searchsorted(edges, arr, side="right") - 1, 0, self.n_bins - 1)
                rest = ~is_exact & ~missing
                tokens[rest] = len(exact) + bins[rest]
            elif len(exact):
                rest = ~is_exact & ~missing
                tokens[rest] = np.argmin(np.abs(exact[None, :] - arr[rest, None]), axis=1) if rest.any() else 0
        if self.has_missing:
            tokens[missing] = self.missing_token
        return tokens

    def decode(self, tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Values for tokens: exact values as they are, bins as uniform draws inside the bin."""
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
            out[in_bin] = edges[b] + u[in_bin] * (edges[b + 1] - edges[b])
        return out

    def ranks(self) -> list[float]:
        """Per token, the rank of its value among the tokens in [0, 1] (categories and missing: 0)."""
        if self.kind == "categorical" or self.vocab_size <= 1:
            return [0.0] * self.vocab_size
        edges = np.asarray(self.edges)
        reps = np.concatenate([np.asarray(self.exact, dtype=float), (edges[:-1] + edges[1:]) / 2 if self.n_bins else []])
        order = np.argsort(np.argsort(reps, kind="stable"), kind="stable")
        rank = (order / max(len(reps) - 1, 1)).tolist()
        return rank + [0.0] * int(self.has_missing)

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "exact": self.exact, "edges": self.edges, "has_missing": self.has_missing}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ColumnCodec:
        return cls(state["kind"], list(state["exact"]), list(state["edges"]), bool(state["has_missing"]))


class SequenceNet(nn.Module):
    """Context-conditioned GRU over steps with column-by-column decoding inside each step."""

    def __init__(self, context_vocab: list[int], step_vocab: list[int], hidden: int = 128, embed: int = 64,
                 missing_tokens: list[int] | None = None, ranks: list[list[float]] | None = None) -> None:
        super().__init__()
        self.context_emb = nn.ModuleList([nn.Embedding(v, embed) for v in context_vocab])
        self.context_proj = nn.Linear(embed, hidden)
        self.step_emb = nn.ModuleList([nn.Embedding(v + 1, embed) for v in step_vocab])  # +1: start token
        # last *observed* token of each column: sparse measures (a lab every few hours) stay in view
        self.carry_emb = nn.ModuleList([nn.Embedding(v + 1, embed) for v in step_vocab])
        self.missing = list(missing_tokens) if missing_tokens is not None else [-1] * len(step_vocab)
        # value rank of each token (numbers: order of the value; categories: 0) + start token, so a
        # bin's neighbours are near from the first step instead of being learned one pair at a time
        ranks = ranks if ranks is not None else [[0.0] * v for v in step_vocab]
        for i, r in enumerate(ranks):
            self.register_buffer(f"rank_{i}", torch.tensor(list(r) + [0.0], dtype=torch.float32), persistent=False)
        self.rank_proj = nn.Linear(2 * len(step_vocab), embed)
        self.in_proj = nn.Linear(embed + 2, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.inner = nn.Linear(hidden, hidden)
        self.row_emb = nn.ModuleList([nn.Embedding(v, hidden) for v in step_vocab])
        # each column's own last observed token goes straight to its head: persistence (a patient's
        # heart rate stays near its last value) is then one lookup away instead of through the GRU
        self.own_emb = nn.ModuleList([nn.Embedding(v + 1, hidden) for v in step_vocab])
        self.heads = nn.ModuleList([nn.Sequential(nn.LayerNorm(hidden), nn.ReLU(), nn.Linear(hidden, v)) for v in step_vocab])
        self.step_vocab = list(step_vocab)

    def context(self, ctx: torch.Tensor) -> torch.Tensor:
        """[B, C] context tokens → [B, H] context vector."""
        total = sum(emb(ctx[:, i]) for i, emb in enumerate(self.context_emb))
        return torch.tanh(self.context_proj(total))

    def carry(self, steps: torch.Tensor) -> torch.Tensor:
        """[B, T, K] → the last non-missing token of each column up to each step (start token before any)."""
        b, t, k = steps.shape
        out = torch.empty_like(steps)
        for i in range(k):
            col = steps[..., i]
            observed = col != self.missing[i]
            idx = torch.where(observed, torch.arange(t).expand(b, t), torch.full_like(col, -1))
            last = torch.cummax(idx, dim=1).values
            out[..., i] = torch.where(last >= 0, col.gather(1, last.clamp(min=0)), torch.full_like(col, self.step_vocab[i]))
        return out

    def _inputs(self, prev: torch.Tensor, carried: torch.Tensor, pos: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        total = sum(emb(prev[..., i]) + self.carry_emb[i](carried[..., i]) for i, emb in enumerate(self.step_emb))
        rank = [getattr(self, f"rank_{i}")[prev[..., i]] for i in range(len(self.step_emb))]
        rank += [getattr(self, f"rank_{i}")[carried[..., i]] for i in range(len(self.step_emb))]
        total = total + self.rank_proj(torch.stack(rank, dim=-1))
        return torch.relu(self.in_proj(torch.cat([total, pos], dim=-1))) + c.unsqueeze(1)

    def loss(self, ctx: torch.Tensor, steps: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean per-step negative log-likelihood (summed over columns) of padded sequences.

        ctx [B, C], steps [B, T, K] tokens, pos [B, T, 2] position features, mask [B, T] bool.
        """
        b, t, k = steps.shape
        c = self.context(ctx)
        start = torch.tensor(self.step_vocab, dtype=steps.dtype).expand(b, 1, k)
        prev = torch.cat([start, steps[:, :-1]], dim=1)
        carried = torch.cat([start, self.carry(steps)[:, :-1]], dim=1)
        out, _ = self.gru(self._inputs(prev, carried, pos, c), c.unsqueeze(0).contiguous())
        base = self.inner(out) + c.unsqueeze(1)
        nll = torch.zeros(b, t)
        acc = torch.zeros_like(base)
        for i, head in enumerate(self.heads):
            logits = head(base + acc + self.own_emb[i](carried[..., i]))
            nll = nll + nn.functional.cross_entropy(logits.reshape(b * t, -1), steps[..., i].reshape(-1), reduction="none").view(b, t)
            acc = acc + self.row_emb[i](steps[..., i])
        return (nll * mask).sum() / mask.sum().clamp(min=1)

    @torch.no_grad()
    def generate(self, ctx: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator, temperature: float = 1.0) -> torch.Tensor:
        """[B, max(lengths), K] tokens; steps past an entity's length are left as drawn (ignored)."""
        b, k = ctx.shape[0], len(self.heads)
        t_max = int(lengths.max()) if len(lengths) else 0
        c = self.context(ctx)
        h = c.unsqueeze(0).contiguous()
        prev = torch.tensor(self.step_vocab, dtype=torch.long).expand(b, k).unsqueeze(1)
        carried = prev.clone()
        missing = torch.tensor(self.missing, dtype=torch.long)
        positions = position_features(lengths, t_max)
        out_tokens = torch.zeros(b, t_max, k, dtype=torch.long)
        for t in range(t_max):
            out, h = self.gru(self._inputs(prev, carried, positions[:, t : t + 1], c), h)
            base = self.inner(out[:, 0]) + c
            acc = torch.zeros_like(base)
            drawn = []
            for i, head in enumerate(self.heads):
                probs = torch.softmax(head(base + acc + self.own_emb[i](carried[:, 0, i])) / temperature, dim=-1)
                token = torch.multinomial(probs, 1, generator=generator).squeeze(1)
                drawn.append(token)
                acc = acc + self.row_emb[i](token)
            step = torch.stack(drawn, dim=1)
            out_tokens[:, t] = step
            prev = step.unsqueeze(1)
            carried = torch.where(prev != missing, prev, carried)
        return out_tokens
