"""Reversible column encoders for neural models, with JSON-serializable state (no pickle).

Each encoder follows one life cycle: ``fit(values, rng)`` learns aggregates only (mixture
parameters, a quantile grid, category counts), ``transform(values, rng)`` returns a float32 block
of ``width`` columns, ``reverse(block, rng)`` maps network output back to model-frame values, and
``to_state()`` / ``encoder_from_state()`` round-trip through JSON. ``spans`` says how each part of
the block must be activated by a network (``"tanh"`` for a scalar in [-1, 1], ``"softmax"`` for a
one-hot group), which is all a model needs to build its output layer and loss.

- :class:`NumericEncoder` (``method="gmm"``): CTGAN's mode-specific normalization — a value
  becomes (mode one-hot, scalar inside the mode); ``method="quantile"``: the value's empirical-CDF
  position scaled to [-1, 1] (one scalar, cheaper and smooth). A missing value is an extra
  one-hot slot ("indicator + value"). Decoding clips to the learned bounds and rounds integers.
- :class:`CategoricalEncoder`: one-hot (or integer codes for embeddings); missing is a category of
  its own; categories seen fewer than ``min_count`` times share one "other" slot. With
  ``rare_strategy="drop"`` (privacy default) the rare values are not stored at all and the
  "other" slot decodes to a frequent category drawn by frequency; with ``"resample"`` the rare
  values and counts are kept and drawn by frequency.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from synthkit.errors import ConfigError
from synthkit.transform.gmm import Mixture1D, fit_mixture, mode_posteriors

__all__ = ["CategoricalEncoder", "ColumnEncoder", "NumericEncoder", "Span", "encoder_from_state"]

log = logging.getLogger(__name__)

Activation = Literal["tanh", "softmax"]
_ALPHA_SCALE = 4.0  # a value is normalized by 4 σ of its mode, as in CTGAN
_ALPHA_LIMIT = 0.99


@dataclass(frozen=True)
class Span:
    """A slice of the encoded matrix: ``[start, start + width)`` with one activation.

    ``role`` is ``"value"`` (scalar), ``"mode"`` (mixture mode / missing indicator of a numeric
    column) or ``"category"`` (one-hot of a categorical column, usable in a conditional vector).
    """

    column: str
    start: int
    width: int
    activation: Activation
    role: str

    @property
    def stop(self) -> int:
        return self.start + self.width


class ColumnEncoder:
    """Base of the column encoders: see the module docstring for the life cycle."""

    kind: ClassVar[str] = "base"

    def __init__(self, column: str) -> None:
        self.column = column

    def layout(self) -> list[tuple[int, Activation, str]]:
        """(width, activation, role) of each part of this encoder's block, in order."""
        raise NotImplementedError

    @property
    def width(self) -> int:
        return sum(w for w, _, _ in self.layout())

    def to_state(self) -> dict[str, Any]:
        raise NotImplementedError


class NumericEncoder(ColumnEncoder):
    """Mode-specific normalization (``gmm``) or quantile scaling (``quantile``) with a missing slot."""

    kind = "numerical"

    def __init__(self, column: str, method: str = "gmm", max_modes: int = 10, clip_quantile: float = 0.0,
                 n_quantiles: int = 1000, max_samples: int = 20_000, weight_threshold: float = 0.005) -> None:
        super().__init__(column)
        if method not in ("gmm", "quantile"):
            raise ConfigError(f"numeric encoding must be 'gmm' or 'quantile', got {method!r}")
        if not 0.0 <= clip_quantile < 0.5:
            raise ConfigError(f"clip_quantile must be in [0, 0.5), got {clip_quantile!r}")
        self.method = method
        self.max_modes = int(max_modes)
        self.clip_quantile = float(clip_quantile)
        self.n_quantiles = int(n_quantiles)
        self.max_samples = int(max_samples)
        self.weight_threshold = float(weight_threshold)
        self.nullable = False
        self.empty = False
        self.integer = False
        self.low = 0.0
        self.high = 0.0
        self.mixture = Mixture1D(np.zeros(0), np.zeros(0), np.zeros(0))
        self.grid = np.zeros(0)

    # -- fit ------------------------------------------------------------------------
    def fit(self, values: np.ndarray, rng: np.random.Generator) -> NumericEncoder:
        x = np.asarray(values, dtype=np.float64)
        present = np.isfinite(x)
        self.nullable = bool((~present).any())
        finite = x[present]
        self.empty = len(finite) == 0
        if self.empty:
            return self
        self.integer = bool(np.all(np.floor(finite) == finite))
        q = self.clip_quantile
        self.low, self.high = (float(v) for v in np.quantile(finite, [q, 1 - q])) if q > 0 else (float(finite.min()), float(finite.max()))
        finite = np.clip(finite, self.low, self.high)
        if self.method == "gmm":
            self.mixture = fit_mixture(finite, rng, self.max_modes, self.weight_threshold, max_samples=self.max_samples)
        else:
            sample = finite if len(finite) <= self.max_samples * 5 else rng.choice(finite, self.max_samples * 5, replace=False)
            self.grid = np.quantile(sample, np.linspace(0.0, 1.0, max(2, min(self.n_quantiles, len(sample)))))
        return self

    def layout(self) -> list[tuple[int, Activation, str]]:
        modes = self.mixture.n_modes if self.method == "gmm" and not self.empty else 1
        slots = modes + int(self.nullable)
        parts: list[tuple[int, Activation, str]] = [(1, "tanh", "value")]
        if slots > 1:
            parts.append((slots, "softmax", "mode"))
        return parts

    # -- transform / reverse ---------------------------------------------------------
    def transform(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = np.asarray(values, dtype=np.float64)
        n = len(x)
        out = np.zeros((n, self.width), dtype=np.float32)
        present = np.isfinite(x)
        if self.empty:
            if self.width > 1:
                out[:, 1] = 1.0
            return out
        xp = np.clip(x[present], self.low, self.high)
        slots = self.width - 1
        if self.method == "gmm":
            k = self.mixture.n_modes
            if k > 1:
                post = mode_posteriors(xp, self.mixture)
                # draw each value's mode from its posterior (CTGAN), vectorized by inverse CDF
                cum = np.cumsum(post, axis=1)
                u = rng.random(len(xp))[:, None] * cum[:, -1:]
                mode = np.minimum((cum < u).sum(axis=1), k - 1)
            else:
                mode = np.zeros(len(xp), dtype=np.int64)
            alpha = (xp - self.mixture.means[mode]) / (_ALPHA_SCALE * self.mixture.stds[mode])
        else:
            mode = np.zeros(len(xp), dtype=np.int64)
            alpha = 2.0 * self._cdf(xp, rng) - 1.0
        limit = _ALPHA_LIMIT if self.method == "gmm" else 1.0
        out[present, 0] = np.clip(alpha, -limit, limit)
        if slots > 1:
            rows = np.flatnonzero(present)
            out[rows, 1 + mode] = 1.0
            if self.nullable:
                out[~present, slots] = 1.0  # the last slot is the missing indicator
        return out

    def _cdf(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Position of ``x`` in the quantile grid; ties (spikes) spread uniformly over their step."""
        grid = self.grid
        lo = np.searchsorted(grid, x, side="left")
        hi = np.searchsorted(grid, x, side="right")
        pos = np.interp(x, grid, np.arange(len(grid), dtype=float))
        tied = hi > lo
        pos[tied] = lo[tied] + rng.random(int(tied.sum())) * (hi[tied] - lo[tied] - 1).clip(0)
        return pos / max(len(grid) - 1, 1)

    def reverse(self, block: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Values (float64, NaN = missing) from an activated block (argmax over the mode slots)."""
        block = np.asarray(block)
        n = len(block)
        if self.empty:
            return np.full(n, np.nan)
        slots = self.width - 1
        mode = block[:, 1:].argmax(axis=1) if slots > 1 else np.zeros(n, dtype=np.int64)
        return self.from_parts(block[:, 0], mode)

    def from_parts(self, value: np.ndarray, mode: np.ndarray) -> np.ndarray:
        """Values from the scalar part (in [-1, 1]) and the chosen mode slot of each row."""
        n = len(value)
        if self.empty:
            return np.full(n, np.nan)
        alpha = np.clip(np.asarray(value, dtype=np.float64), -1.0, 1.0)
        slots = self.width - 1
        if self.method == "gmm":
            k = self.mixture.n_modes
            m = np.minimum(mode, k - 1)
            x = alpha * _ALPHA_SCALE * self.mixture.stds[m] + self.mixture.means[m]
        else:
            positions = np.linspace(0.0, 1.0, len(self.grid))
            x = np.interp((alpha + 1.0) / 2.0, positions, self.grid)
        x = np.clip(x, self.low, self.high)
        if self.integer:
            x = np.round(x)
        if self.nullable:
            x[mode == slots - 1] = np.nan
        return x

    # -- state -----------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "column": self.column, "method": self.method, "max_modes": self.max_modes,
            "clip_quantile": self.clip_quantile, "n_quantiles": self.n_quantiles, "max_samples": self.max_samples,
            "weight_threshold": self.weight_threshold, "nullable": self.nullable, "empty": self.empty,
            "integer": self.integer, "low": self.low, "high": self.high,
            "means": self.mixture.means.tolist(), "stds": self.mixture.stds.tolist(),
            "weights": self.mixture.weights.tolist(), "grid": self.grid.tolist(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> NumericEncoder:
        enc = cls(state["column"], state["method"], state["max_modes"], state["clip_quantile"], state["n_quantiles"],
                  state["max_samples"], state["weight_threshold"])
        enc.nullable, enc.empty, enc.integer = bool(state["nullable"]), bool(state["empty"]), bool(state["integer"])
        enc.low, enc.high = float(state["low"]), float(state["high"])
        enc.mixture = Mixture1D(np.asarray(state["means"], float), np.asarray(state["stds"], float), np.asarray(state["weights"], float))
        enc.grid = np.asarray(state["grid"], float)
        return enc


class CategoricalEncoder(ColumnEncoder):
    """One-hot / integer codes with a missing category and an "other" slot for rare categories."""

    kind = "categorical"

    def __init__(self, column: str, min_count: int = 1, rare_strategy: str = "drop") -> None:
        super().__init__(column)
        if not isinstance(min_count, (int, np.integer)) or isinstance(min_count, bool) or min_count < 1:
            raise ConfigError(f"rare category min_count must be an integer >= 1, got {min_count!r}")
        if rare_strategy not in ("drop", "resample"):
            raise ConfigError(f"rare_strategy must be 'drop' or 'resample', got {rare_strategy!r}")
        self.min_count = int(min_count)
        self.rare_strategy = rare_strategy
        self.categories: list[str] = []  # frequent categories, most frequent first
        self.counts: list[int] = []  # aligned with ``vocabulary``
        self.has_other = False
        self.has_missing = False
        self.n_rare = 0  # how many distinct categories were grouped into "other"
        self.rare_values: list[str] = []  # only with rare_strategy="resample"
        self.rare_counts: list[int] = []

    @property
    def vocabulary_size(self) -> int:
        return len(self.categories) + int(self.has_other) + int(self.has_missing)

    @property
    def other_code(self) -> int:
        return len(self.categories) if self.has_other else -1

    @property
    def missing_code(self) -> int:
        return self.vocabulary_size - 1 if self.has_missing else -1

    def fit(self, values: pd.Series | np.ndarray, rng: np.random.Generator | None = None) -> CategoricalEncoder:
        series = pd.Series(values, dtype=object)
        missing = series.isna()
        return self.fit_counts(series[~missing].astype(str).value_counts(), int(missing.sum()))

    def fit_counts(self, counts: pd.Series, n_missing: int) -> CategoricalEncoder:
        """Fit from category counts and the number of missing values (what merged partition statistics give)."""
        counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
        frequent = counts[counts >= self.min_count]
        rare = counts[counts < self.min_count]
        self.categories = [str(c) for c in frequent.index]
        self.has_other = len(rare) > 0
        self.n_rare = len(rare)
        self.has_missing = n_missing > 0
        self.counts = [int(c) for c in frequent.to_numpy()]
        if self.has_other:
            self.counts.append(int(rare.sum()))
        if self.has_missing:
            self.counts.append(int(n_missing))
        if self.rare_strategy == "resample":
            self.rare_values = [str(c) for c in rare.index]
            self.rare_counts = [int(c) for c in rare.to_numpy()]
        if self.has_other:
            log.info("column %r: %d categories seen fewer than %d times grouped as 'other' (%s)", self.column,
                     self.n_rare, self.min_count, self.rare_strategy)
            if not self.categories and self.rare_strategy == "drop":
                log.warning("column %r: every category is rarer than %d; it will be sampled as missing", self.column, self.min_count)
        return self

    def layout(self) -> list[tuple[int, Activation, str]]:
        return [(max(self.vocabulary_size, 1), "softmax", "category")]

    def to_codes(self, values: pd.Series | np.ndarray) -> np.ndarray:
        """Integer codes (int64); unseen and rare values map to "other" (or the most frequent category)."""
        series = pd.Series(values, dtype=object)
        missing = series.isna().to_numpy()
        codes = pd.Categorical(series.where(~missing, None).astype(object), categories=self.categories).codes.astype(np.int64)
        unknown = (codes < 0) & ~missing
        codes[unknown] = self.other_code if self.has_other else 0
        if self.has_missing:
            codes[missing] = self.missing_code
        else:
            codes[missing] = self.other_code if self.has_other else 0
        return codes

    def from_codes(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Model-frame values (object, NaN = missing); "other" is resolved by ``rare_strategy``."""
        codes = np.asarray(codes, dtype=np.int64)
        table = np.array(self.categories + [np.nan] * (int(self.has_other) + int(self.has_missing)), dtype=object)
        if len(table) == 0:
            return np.full(len(codes), np.nan, dtype=object)
        out = table[np.clip(codes, 0, len(table) - 1)]
        if self.has_other:
            is_other = codes == self.other_code
            n_other = int(is_other.sum())
            if n_other:
                if self.rare_strategy == "resample" and self.rare_values:
                    pool, weights = self.rare_values, np.asarray(self.rare_counts, float)
                else:
                    pool, weights = self.categories, np.asarray(self.counts[: len(self.categories)], float)
                if pool:
                    picks = rng.choice(len(pool), size=n_other, p=weights / weights.sum())
                    out[is_other] = np.asarray(pool, dtype=object)[picks]
        return out

    def transform(self, values: pd.Series | np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        codes = self.to_codes(values)
        out = np.zeros((len(codes), max(self.vocabulary_size, 1)), dtype=np.float32)
        if self.vocabulary_size:
            out[np.arange(len(codes)), codes] = 1.0
        return out

    def reverse(self, block: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.from_codes(np.asarray(block).argmax(axis=1), rng)

    def to_state(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "column": self.column, "min_count": self.min_count, "rare_strategy": self.rare_strategy,
            "categories": self.categories, "counts": self.counts, "has_other": self.has_other,
            "has_missing": self.has_missing, "n_rare": self.n_rare, "rare_values": self.rare_values,
            "rare_counts": self.rare_counts,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> CategoricalEncoder:
        enc = cls(state["column"], state["min_count"], state["rare_strategy"])
        enc.categories = list(state["categories"])
        enc.counts = [int(c) for c in state["counts"]]
        enc.has_other, enc.has_missing = bool(state["has_other"]), bool(state["has_missing"])
        enc.n_rare = int(state["n_rare"])
        enc.rare_values, enc.rare_counts = list(state["rare_values"]), [int(c) for c in state["rare_counts"]]
        return enc


def encoder_from_state(state: dict[str, Any]) -> NumericEncoder | CategoricalEncoder:
    """Rebuild a column encoder from :meth:`ColumnEncoder.to_state` output."""
    kind = state.get("kind")
    if kind == NumericEncoder.kind:
        return NumericEncoder.from_state(state)
    if kind == CategoricalEncoder.kind:
        return CategoricalEncoder.from_state(state)
    raise ConfigError(f"unknown encoder kind {kind!r} in model state")
