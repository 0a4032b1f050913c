"""Conditional vectors and training-by-sampling (CTGAN), vectorized over the whole batch.

CTGAN's ``DataSampler`` picks the real row matching each condition in a Python loop over the
batch; here every draw is an array operation: the row indices of each (column, category) pair are
stored once as one concatenated array with offsets, so a batch of conditions maps to a batch of
rows with one gather.

- :meth:`CondSampler.sample_train`: a random categorical column per row, a category drawn with
  probability ∝ log(1 + count) (so rare categories get trained), and a real row that has it;
- :meth:`CondSampler.sample_original`: categories drawn by their real frequency (for generation);
- :meth:`CondSampler.for_values`: the conditional vector of requested values (conditional sampling).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthkit.transform.encoders import Span

__all__ = ["CondSampler"]


class CondSampler:
    """Conditional-vector machinery over the categorical one-hot spans of an encoded matrix."""

    def __init__(self, spans: list[Span], counts: list[np.ndarray]) -> None:
        self.spans = spans
        self.widths = np.array([s.width for s in spans], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.widths)[:-1]]).astype(np.int64) if spans else np.zeros(0, np.int64)
        self.dim = int(self.widths.sum()) if spans else 0
        self.counts = np.concatenate(counts).astype(np.float64) if spans else np.zeros(0)
        w = int(self.widths.max()) if spans else 1
        logp = np.zeros((len(spans), w))
        for i, c in enumerate(counts):  # per column, once
            logp[i, : len(c)] = np.log1p(c)
        self._train_cum = np.cumsum(logp / np.maximum(logp.sum(axis=1, keepdims=True), 1e-12), axis=1)
        self._original_p = self.counts / self.counts.sum() if self.dim and self.counts.sum() > 0 else np.zeros(0)
        self.rows_by_category = np.zeros(0, dtype=np.int64)
        self.row_start = np.zeros(self.dim, dtype=np.int64)

    @classmethod
    def from_matrix(cls, matrix: np.ndarray, spans: list[Span]) -> CondSampler:
        """Count categories and index the rows of each (column, category) in ``matrix``."""
        codes = [matrix[:, s.start:s.stop].argmax(axis=1) for s in spans]
        counts = [np.bincount(c, minlength=s.width) for c, s in zip(codes, spans)]
        sampler = cls(spans, counts)
        if spans:
            n = len(matrix)
            # rows sorted by category within each column, columns one after another
            order = np.concatenate([np.argsort(c, kind="stable") for c in codes])
            sampler.rows_by_category = order.astype(np.int64)
            col_base = np.repeat(np.arange(len(spans)) * n, sampler.widths)
            within = np.concatenate([np.concatenate([[0], np.cumsum(cnt)[:-1]]) for cnt in counts])
            sampler.row_start = (col_base + within).astype(np.int64)
        return sampler

    def to_state(self) -> dict[str, Any]:
        """Aggregates only (category counts); the row index is rebuilt at fit time, never saved."""
        return {"counts": [self.counts[o:o + w].astype(int).tolist() for o, w in zip(self.offsets, self.widths)]}

    @classmethod
    def from_state(cls, state: dict[str, Any], spans: list[Span]) -> CondSampler:
        return cls(spans, [np.asarray(c, dtype=np.float64) for c in state["counts"]])

    # -- draws -------------------------------------------------------------------------
    def sample_train(self, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cond one-hot (B, dim), chosen column (B,), real row index (B,)) for training."""
        col = rng.integers(0, len(self.spans), batch)
        cum = self._train_cum[col]
        u = rng.random(batch)[:, None] * cum[:, -1:]
        cat = np.minimum((cum <= u).sum(axis=1), self.widths[col] - 1)
        flat = self.offsets[col] + cat
        pos = self.row_start[flat] + np.floor(rng.random(batch) * self.counts[flat]).astype(np.int64)
        rows = self.rows_by_category[pos]
        cond = np.zeros((batch, self.dim), dtype=np.float32)
        cond[np.arange(batch), flat] = 1.0
        return cond, col, rows

    def sample_original(self, batch: int, rng: np.random.Generator) -> np.ndarray:
        """Cond one-hot (B, dim) with one category drawn by its real frequency over all columns."""
        cond = np.zeros((batch, self.dim), dtype=np.float32)
        if self.dim:
            cond[np.arange(batch), self.sample_original_index(batch, rng)] = 1.0
        return cond

    def sample_original_index(self, batch: int, rng: np.random.Generator) -> np.ndarray:
        """(B,) position of the hot entry of :meth:`sample_original`'s rows (same draws)."""
        return rng.choice(self.dim, size=batch, p=self._original_p)
