"""TableEncoder: a model frame ⇄ one float32 matrix, the input and output space of neural models.

Usage (inside a model's ``_fit``)::

    enc = TableEncoder(numeric="gmm", rare_min_count=10).fit(frame, schema.numerical_names,
                                                             schema.categorical_names, seed=0)
    x = enc.transform(frame, rng)             # (n, enc.output_dim) float32
    ...network output, activated per enc.spans (tanh / softmax)...
    frame_back = enc.reverse(activated, rng)  # model frame: float64 numerics, object categoricals
    state = enc.to_state()                    # JSON; TableEncoder.from_state(state) rebuilds it

``spans`` describe every slice of the matrix (column, start, width, activation, role);
``category_spans`` are the categorical one-hot groups a conditional vector is built from, and
``codes(frame)`` gives integer codes per categorical column for models that use embeddings.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from synthkit.errors import DataError
from synthkit.transform.encoders import (
    CategoricalEncoder,
    NumericEncoder,
    Span,
    encoder_from_state,
)

__all__ = ["TableEncoder"]

log = logging.getLogger(__name__)


class TableEncoder:
    """Fit one encoder per learned column and stack their blocks into one matrix.

    Parameters: ``numeric`` (``"gmm"`` mode-specific normalization or ``"quantile"``), ``max_modes``
    (GMM modes per column), ``rare_min_count`` (categories seen fewer times are grouped as
    "other"; 1 = off), ``rare_strategy`` (``"drop"``: rare values are not stored and "other"
    decodes to a frequent category; ``"resample"``: rare values kept and drawn by frequency),
    ``clip_quantile`` (numeric tails clipped to this quantile on both sides; 0 = off),
    ``max_samples`` (values used to fit each mixture).
    """

    def __init__(self, numeric: str = "gmm", max_modes: int = 10, rare_min_count: int = 1, rare_strategy: str = "drop",
                 clip_quantile: float = 0.0, max_samples: int = 20_000) -> None:
        self.numeric = numeric
        self.max_modes = max_modes
        self.rare_min_count = rare_min_count
        self.rare_strategy = rare_strategy
        self.clip_quantile = clip_quantile
        self.max_samples = max_samples
        self.encoders: list[NumericEncoder | CategoricalEncoder] = []
        self._spans: list[Span] = []

    # -- fit ------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, numerical: list[str], categorical: list[str], seed: int | None = 0) -> TableEncoder:
        """Learn each column's encoder; columns keep the order of ``frame``."""
        wanted = set(numerical) | set(categorical)
        absent = sorted(wanted - set(frame.columns))
        if absent:
            raise DataError(f"columns {absent} are not in the table given to the encoder")
        rng = np.random.default_rng(seed)
        self.encoders = []
        for name in frame.columns:
            if name in numerical:
                enc: NumericEncoder | CategoricalEncoder = NumericEncoder(
                    name, self.numeric, self.max_modes, self.clip_quantile, max_samples=self.max_samples)
                enc.fit(frame[name].to_numpy(dtype=np.float64), rng)
            elif name in categorical:
                enc = CategoricalEncoder(name, self.rare_min_count, self.rare_strategy).fit(frame[name], rng)
            else:
                continue
            self.encoders.append(enc)
        self._build_spans()
        return self

    def _build_spans(self) -> None:
        spans, start = [], 0
        for enc in self.encoders:
            for width, activation, role in enc.layout():
                spans.append(Span(enc.column, start, width, activation, role))
                start += width
        self._spans = spans

    # -- layout ---------------------------------------------------------------------
    @property
    def spans(self) -> list[Span]:
        """Every slice of the encoded matrix, in order."""
        return list(self._spans)

    @property
    def output_dim(self) -> int:
        return self._spans[-1].stop if self._spans else 0

    @property
    def columns(self) -> list[str]:
        return [e.column for e in self.encoders]

    @property
    def category_spans(self) -> list[Span]:
        """One-hot groups of the categorical columns (what a conditional vector chooses from)."""
        return [s for s in self._spans if s.role == "category"]

    @property
    def categorical_encoders(self) -> list[CategoricalEncoder]:
        return [e for e in self.encoders if isinstance(e, CategoricalEncoder)]

    @property
    def numeric_encoders(self) -> list[NumericEncoder]:
        return [e for e in self.encoders if isinstance(e, NumericEncoder)]

    def encoder(self, column: str) -> NumericEncoder | CategoricalEncoder:
        for enc in self.encoders:
            if enc.column == column:
                return enc
        raise KeyError(column)

    # -- transform / reverse --------------------------------------------------------
    def transform(self, frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """(n, output_dim) float32 matrix of ``frame`` (mixture modes drawn from their posteriors)."""
        absent = [c for c in self.columns if c not in frame.columns]
        if absent:
            raise DataError(f"columns {absent} are missing from the table to encode")
        out = np.empty((len(frame), self.output_dim), dtype=np.float32)
        start = 0
        for enc in self.encoders:
            values = frame[enc.column]
            block = enc.transform(values.to_numpy(dtype=np.float64) if isinstance(enc, NumericEncoder) else values, rng)
            out[:, start:start + block.shape[1]] = block
            start += block.shape[1]
        return out

    def reverse(self, matrix: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        """Model frame from an activated matrix (softmax groups decoded by argmax)."""
        matrix = np.asarray(matrix)
        if matrix.ndim != 2 or matrix.shape[1] != self.output_dim:
            raise DataError(f"expected a matrix with {self.output_dim} columns, got shape {matrix.shape}")
        out: dict[str, Any] = {}
        start = 0
        for enc in self.encoders:
            block = matrix[:, start:start + enc.width]
            out[enc.column] = enc.reverse(block, rng)
            start += enc.width
        return pd.DataFrame(out, index=pd.RangeIndex(len(matrix)), copy=False)  # fresh arrays: no consolidating copy

    def reverse_codes(self, values: np.ndarray, codes: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        """Model frame from the scalar parts ``values`` (n, tanh spans) and the chosen slot of every
        softmax group ``codes`` (n, softmax spans), both in span order.

        The same result as :meth:`reverse` on a matrix whose groups have their maxima at ``codes``;
        a sampler that draws the slots itself skips building and re-scanning the wide matrix.
        """
        out: dict[str, Any] = {}
        v = g = 0
        for enc in self.encoders:
            if isinstance(enc, NumericEncoder):
                has_mode = len(enc.layout()) > 1
                mode = codes[:, g] if has_mode else np.zeros(len(values), dtype=np.int64)
                out[enc.column] = enc.from_parts(values[:, v], mode)
                v, g = v + 1, g + int(has_mode)
            else:
                out[enc.column] = enc.from_codes(codes[:, g], rng)
                g += 1
        return pd.DataFrame(out, index=pd.RangeIndex(len(values)), copy=False)  # fresh arrays: no consolidating copy

    def codes(self, frame: pd.DataFrame) -> np.ndarray:
        """(n, n_categorical) int64 codes of the categorical columns, for embedding layers."""
        encs = self.categorical_encoders
        if not encs:
            return np.zeros((len(frame), 0), dtype=np.int64)
        return np.column_stack([e.to_codes(frame[e.column]) for e in encs])

    def from_codes(self, codes: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        """Categorical columns of a model frame from (n, n_categorical) codes."""
        return pd.DataFrame({e.column: e.from_codes(codes[:, i], rng) for i, e in enumerate(self.categorical_encoders)})

    # -- state ----------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """JSON-serializable state: settings plus each encoder's aggregates."""
        return {
            "numeric": self.numeric, "max_modes": self.max_modes, "rare_min_count": self.rare_min_count,
            "rare_strategy": self.rare_strategy, "clip_quantile": self.clip_quantile, "max_samples": self.max_samples,
            "encoders": [e.to_state() for e in self.encoders],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TableEncoder:
        enc = cls(state["numeric"], state["max_modes"], state["rare_min_count"], state["rare_strategy"],
                  state["clip_quantile"], state["max_samples"])
        enc.encoders = [encoder_from_state(s) for s in state["encoders"]]
        enc._build_spans()
        return enc
