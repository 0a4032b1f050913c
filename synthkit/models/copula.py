"""Gaussian copula baseline: fast, robust, and a floor every neural model must beat.

Each learned column is mapped to a standard-normal score; the dependence between columns is the
correlation matrix of those scores; sampling draws correlated normals and maps them back.
- numerical: empirical CDF (ties broken uniformly at random, so spikes such as "0 capital gain"
  survive) → Φ⁻¹; inverse through a stored quantile grid (aggregates, not rows).
- categorical: frequency-interval encoding — each category owns a slice of [0, 1] as wide as its
  share, a value maps to a uniform draw inside its slice → Φ⁻¹.
- missing values: a numeric column with missing values gets a companion missing/present variable
  in the copula, so missingness is sampled with its correlations; categoricals treat missing as a
  category of its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.special import ndtr, ndtri

from synthkit.errors import ConfigError
from synthkit.models.base import Synthesizer
from synthkit.models.chunked import map_chunks
from synthkit.models.registry import register

__all__ = ["GaussianCopula"]

_MISSING = "__synthkit_missing__"
_EPS = 1e-6
_SAMPLE_CHUNK = 65_536  # rows per sampling chunk (chunks run on parallel threads)


@register("copula")
class GaussianCopula(Synthesizer):
    """Gaussian copula over empirical marginals. ``n_quantiles`` sets the marginal resolution."""

    test_params = {"n_quantiles": 101}

    def __init__(self, metadata: Any = None, seed: int | None = 0, tail_quantile: float = 0.0, n_quantiles: int = 1001) -> None:
        super().__init__(metadata=metadata, seed=seed, tail_quantile=tail_quantile)
        self.n_quantiles = n_quantiles

    def _check_params(self) -> None:
        if not isinstance(self.n_quantiles, int) or self.n_quantiles < 3:
            raise ConfigError(f"n_quantiles must be an integer >= 3, got {self.n_quantiles!r}")

    # -- fit ---------------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame) -> None:
        rng = np.random.default_rng(self.seed)
        n = len(frame)
        scores: list[np.ndarray] = []
        self.marginals_: list[dict[str, Any]] = []
        for name in self.schema_.numerical_names:
            values = frame[name].to_numpy(dtype=float)
            present = ~np.isnan(values)
            if present.any():
                grid = np.quantile(values[present], np.linspace(0, 1, self.n_quantiles))
                u = np.full(n, 0.5)
                u[present] = _randomized_ecdf(values[present], rng)
                z = ndtri(np.clip(u, _EPS, 1 - _EPS))
                z[~present] = rng.standard_normal(int((~present).sum()))  # no information: independent noise
                self.marginals_.append({"column": name, "type": "numerical", "grid": grid.tolist()})
                scores.append(z)
            else:
                self.marginals_.append({"column": name, "type": "numerical", "grid": []})
            if not present.all() and present.any():
                share = float((~present).mean())
                self.marginals_.append({"column": name, "type": "missing", "categories": [True, False], "probs": [share, 1 - share]})
                scores.append(_frequency_interval_scores(np.where(present, 1, 0), np.array([share, 1 - share]), rng))
        for name in self.schema_.categorical_names:
            values = frame[name].fillna(_MISSING).astype(str)
            counts = values.value_counts(sort=True)
            categories = counts.index.to_numpy()
            probs = counts.to_numpy(dtype=float) / n
            codes = pd.Categorical(values, categories=categories).codes
            self.marginals_.append({"column": name, "type": "categorical", "categories": categories.tolist(), "probs": probs.tolist()})
            scores.append(_frequency_interval_scores(codes, probs, rng))
        if scores:
            matrix = np.column_stack(scores)
            corr = np.corrcoef(matrix, rowvar=False) if len(scores) > 1 and n > 1 else np.eye(len(scores))
            corr = np.nan_to_num(np.atleast_2d(corr), nan=0.0)
            np.fill_diagonal(corr, 1.0)
            self.correlation_ = _nearest_correlation(corr)
        else:
            self.correlation_ = np.zeros((0, 0))

    # -- sample ------------------------------------------------------------------------
    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        dims = self.correlation_.shape[0]
        u = np.zeros((n, 0))
        if dims:
            chol = np.linalg.cholesky(self.correlation_ + 1e-9 * np.eye(dims))

            def chunk(rows: int, seed: int) -> np.ndarray:  # numpy and scipy release the GIL: chunks run in parallel
                return ndtr(np.random.default_rng(seed).standard_normal((rows, dims)) @ chol.T)

            u = np.concatenate(map_chunks(n, _SAMPLE_CHUNK, int(rng.integers(0, 2**62)), chunk))
        out: dict[str, Any] = {}
        k = 0
        for marginal in self.marginals_:
            name, kind = marginal["column"], marginal["type"]
            if kind == "numerical":
                grid = np.asarray(marginal["grid"], dtype=float)
                if len(grid) == 0:
                    out[name] = np.full(n, np.nan)
                    continue
                positions = np.linspace(0, 1, len(grid))
                out[name] = np.interp(u[:, k], positions, grid)
                k += 1
            elif kind == "missing":
                missing = u[:, k] < marginal["probs"][0]
                out[name] = np.where(missing, np.nan, out[name])
                k += 1
            else:
                cumulative = np.cumsum(marginal["probs"])
                codes = np.minimum(np.searchsorted(cumulative, u[:, k] * cumulative[-1], side="right"), len(cumulative) - 1)
                cats = np.asarray(marginal["categories"], dtype=object)[codes]
                cats[cats == _MISSING] = np.nan
                out[name] = cats
                k += 1
        return pd.DataFrame({spec.name: out[spec.name] for spec in self.schema_.learned})

    # -- state -------------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"marginals": self.marginals_}, {"correlation": torch.from_numpy(np.ascontiguousarray(self.correlation_))}

    def _set_state(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        self.marginals_ = state["marginals"]
        self.correlation_ = tensors["correlation"].numpy().astype(float)


def _randomized_ecdf(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """ECDF positions in (0, 1) with ties spread uniformly over their CDF step."""
    sorted_values = np.sort(values)
    lower = np.searchsorted(sorted_values, values, side="left")
    upper = np.searchsorted(sorted_values, values, side="right")
    return (lower + rng.random(len(values)) * (upper - lower)) / len(values)


def _frequency_interval_scores(codes: np.ndarray, probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Normal scores of categories: a uniform draw inside each category's [start, end) slice."""
    starts = np.concatenate([[0.0], np.cumsum(probs)[:-1]])
    u = starts[codes] + rng.random(len(codes)) * probs[codes]
    return ndtri(np.clip(u, _EPS, 1 - _EPS))


def _nearest_correlation(corr: np.ndarray) -> np.ndarray:
    """Clip negative eigenvalues so the matrix is positive definite, then rescale to unit diagonal."""
    vals, vecs = np.linalg.eigh((corr + corr.T) / 2)
    fixed = vecs @ np.diag(np.clip(vals, 1e-6, None)) @ vecs.T
    d = np.sqrt(np.diag(fixed))
    return fixed / np.outer(d, d)
