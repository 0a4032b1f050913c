"""DP preprocessing: every column becomes integer codes over a domain released under the budget.

A DP synthesizer may not read category sets, numeric bounds or bins from the data for free. The
:class:`DPDiscretizer` releases, per column and with a share of the zCDP budget:

- categorical: the category set and counts. Without a public list (``public_categories``), only
  categories whose Gaussian count clears τ = 1 + σΦ⁻¹(1−δ_c) survive, so a value held by one row
  (or a handful) never reaches the model file or the output; values not released are re-drawn
  from the released distribution at encode time (data-independent post-processing).
- numerical / datetime: bounds (public ``public_bounds`` or a noisy ±2^k bucket histogram), then a
  noisy fine histogram (``grid`` cells, an exact-zero atom, a missing cell) over those bounds, cut
  into ``n_bins`` quantile bins. Decoding draws a cell by its noisy weight and a value inside it,
  so the output density is the released histogram, never a training value.
- missing values are one more cell of each histogram, kept only above the noise level.

The noisy counts per code (and their variances) are the 1-way marginals the MST synthesizer
needs, so they are kept. ``rho=None`` switches the noise off (the ε = ∞ reference point).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from synthkit.privacy.mechanisms import dp_bounds_from_counts, gaussian_sigma, threshold_for
from synthkit.privacy.tally import NumericGrid, domain_tally, grid_tally, numeric_grid

__all__ = ["MISSING_CODE_LABEL", "DPDiscretizer"]

log = logging.getLogger(__name__)

MISSING_CODE_LABEL = "<missing>"
_PUBLIC_CELL_SIGMAS = 3.0  # a public cell (missing, zero atom) is kept only when its noisy count clears 3σ
_BOUNDS_SHARE = 0.2  # of a numeric column's ρ, when its bounds are not public


class DPDiscretizer:
    """Fit (privately) per-column code domains; encode a model frame to codes and decode back."""

    def __init__(self, n_bins: int = 20, grid: int = 256) -> None:
        self.n_bins = n_bins
        self.grid = grid
        self.columns: list[dict[str, Any]] = []

    # -- fit --------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, numerical: list[str], categorical: list[str], rho: float | None,
            threshold_delta: float, rng: np.random.Generator, public_bounds: dict[str, tuple[float, float]],
            public_categories: dict[str, list[str]], integer: dict[str, bool]) -> DPDiscretizer:
        """Release every column's domain and 1-way counts; ``rho`` is the zCDP total for all columns.

        ``threshold_delta`` is the δ the caller set aside for the thresholded category sets (split
        evenly over the categorical columns without a public list); ``rho=None`` means no noise.
        The frame is read only through :mod:`synthkit.privacy.tally` counts (see :meth:`fit_tallies`).
        """
        names = [c for c in frame.columns if c in numerical or c in categorical]
        cats = [c for c in names if c in categorical]
        tally = domain_tally(frame, [c for c in names if c not in cats], cats)
        return self.fit_tallies(names, cats, tally, lambda grids: grid_tally(frame, grids), rho, threshold_delta, rng,
                                public_bounds, public_categories, integer)

    def fit_tallies(self, names: list[str], categorical: list[str], tally: dict[str, Any],
                    count_grids: Callable[[dict[str, NumericGrid]], dict[str, Any]], rho: float | None,
                    threshold_delta: float, rng: np.random.Generator, public_bounds: dict[str, tuple[float, float]],
                    public_categories: dict[str, list[str]], integer: dict[str, bool]) -> DPDiscretizer:
        """:meth:`fit` from exact counts: ``tally`` (:func:`~synthkit.privacy.tally.domain_tally`, merged
        over every batch) and ``count_grids(grids)`` (the merged :func:`~synthkit.privacy.tally.grid_tally`
        over the released grids; called once, after every bound is released).

        Noise is drawn column by column in the order of a one-pass fit (bounds, fine-grid cells, zero
        atom, missing cell: how many draws depends only on released values), then added to the grid
        counts once they arrive, so both ways give the same release for the same ``rng``.
        """
        per_column = None if rho is None else rho / max(len(names), 1)
        private_sets = [c for c in categorical if c not in public_categories]
        delta_each = threshold_delta / len(private_sets) if private_sets else 0.0
        specs: dict[str, dict[str, Any]] = {}
        pending: dict[str, tuple[NumericGrid | None, float, dict[str, Any], list[Any]]] = {}
        for name in names:
            if name in categorical:
                specs[name] = self._fit_categorical(name, tally["categorical"][name], per_column, delta_each, rng,
                                                    public_categories.get(name))
                continue
            col = tally["numerical"][name]
            specs[name], grid, sigma = self._numeric_domain(name, col, per_column, rng, public_bounds.get(name),
                                                            bool(integer.get(name, False)))
            noise: list[Any] = []  # drawn now, in the one-pass order; added to the counts below
            if grid is not None:
                noise += [rng.normal(0.0, sigma, grid.cells) if sigma else 0.0,
                          float(rng.normal(0.0, sigma)) if sigma and grid.atom else 0.0]
            noise.append(float(rng.normal(0.0, sigma)) if sigma else 0.0)
            pending[name] = (grid, sigma, col, noise)
        grids = {name: grid for name, (grid, _, _, _) in pending.items() if grid is not None}
        counts = count_grids(grids) if grids else {}
        for name, (grid, sigma, col, noise) in pending.items():
            spec = specs[name]
            if grid is not None:
                self._numeric_bins(spec, grid, counts[name], sigma, noise[0], noise[1])
            elif col["present"]:
                log.warning("column %r: no numeric range could be released at this budget; it will be sampled as missing", name)
            self._add_missing(spec, float(col["missing"]), sigma, noise[-1])
        self.columns = [specs[name] for name in names]
        return self

    def _fit_categorical(self, name: str, col: dict[str, Any], rho: float | None, delta: float,
                         rng: np.random.Generator, public: list[str] | None) -> dict[str, Any]:
        seen: dict[str, int] = col["counts"]
        sigma = 0.0 if rho is None else gaussian_sigma(rho)
        if public is not None:
            cats = sorted({str(c) for c in public})
            counts = np.asarray([seen.get(c, 0) for c in cats], dtype=float)
            noisy = counts + (rng.normal(0.0, sigma, len(cats)) if sigma else 0.0)
            keep = noisy > (_PUBLIC_CELL_SIGMAS * sigma if sigma else 0.0)
        else:
            cats = sorted(seen)
            counts = np.asarray([seen[c] for c in cats], dtype=float)
            noisy = counts + (rng.normal(0.0, sigma, len(cats)) if sigma else 0.0)
            keep = noisy > (threshold_for(sigma, delta) if sigma else 0.0)
        cats = [c for c, k in zip(cats, keep) if k]
        noisy = np.asarray(noisy, dtype=float)[np.asarray(keep, dtype=bool)] if len(keep) else np.zeros(0)
        spec: dict[str, Any] = {"column": name, "type": "categorical", "labels": cats, "counts": noisy.tolist(),
                                "variance": [sigma**2] * len(cats)}
        self._add_missing(spec, float(col["missing"]), sigma, float(rng.normal(0.0, sigma)) if sigma else 0.0)
        if seen and not cats:
            log.warning("column %r: no category cleared the DP threshold; it will be sampled as missing", name)
        return spec

    def _numeric_domain(self, name: str, col: dict[str, Any], rho: float | None, rng: np.random.Generator,
                        public: tuple[float, float] | None, integer: bool) -> tuple[dict[str, Any], NumericGrid | None, float]:
        """A numeric column's bounds (public, exact without DP, or DP from its bucket counts) → its grid."""
        spec: dict[str, Any] = {"column": name, "type": "numerical", "labels": [], "counts": [], "variance": [],
                                "integer": integer, "low": None, "high": None}
        hist_rho = rho
        if public is not None:
            low, high = float(public[0]), float(public[1])
            spec["bounds_source"] = "public"
        elif rho is None:
            low, high = _bucket_range(col) if col["present"] else (0.0, 0.0)
            spec["bounds_source"] = "data (no DP)"
        else:
            found = dp_bounds_from_counts(col["buckets"], rho * _BOUNDS_SHARE, rng) if col["present"] else None
            hist_rho = rho * (1 - _BOUNDS_SHARE)
            spec["bounds_source"] = "dp"
            low, high = found if found is not None else (math.nan, math.nan)
        sigma = 0.0 if hist_rho is None else gaussian_sigma(hist_rho)
        usable = math.isfinite(low) and math.isfinite(high) and high >= low and (col["present"] or public is not None)
        return spec, numeric_grid(low, high, integer, self.grid) if usable else None, sigma

    def _numeric_bins(self, spec: dict[str, Any], grid: NumericGrid, tally: dict[str, Any], sigma: float,
                      cell_noise: Any, zero_noise: float) -> None:
        """Noisy fine histogram over the grid (+ zero atom) → ``n_bins`` quantile bins."""
        low, width, cells = grid.low, grid.width, grid.cells
        counts = np.asarray(tally["cells"], dtype=float)
        noisy = counts + cell_noise
        weights = np.clip(noisy, 0.0, None)
        # quantile bins: cut the cumulative noisy mass into n_bins equal parts at cell boundaries. The
        # cut uses the unclipped counts: their noise has mean 0, whereas clipping at 0 adds ~0.4σ to
        # every empty cell, which on small data spread the bins evenly over the range
        cum = np.maximum.accumulate(np.cumsum(noisy)) if sigma else np.cumsum(weights)
        total = cum[-1] if len(cum) else 0.0
        if total > 0:
            cuts = np.searchsorted(cum, total * np.arange(1, self.n_bins) / self.n_bins, side="left") + 1
            starts = np.unique(np.concatenate([[0], np.clip(cuts, 1, cells - 1) if cells > 1 else []]).astype(int))
        else:
            starts = np.array([0])
        stops = np.append(starts[1:], cells)
        spec.update(low=float(low), high=float(grid.high), width=float(width), cells=int(cells),
                    cell_weights=weights.tolist(), bin_starts=starts.tolist())
        spec["labels"] = [f"[{low + s * width:.6g}, {low + e * width:.6g})" for s, e in zip(starts, stops)]
        spec["counts"] = [float(noisy[s:e].sum()) for s, e in zip(starts, stops)]
        spec["variance"] = [sigma**2 * float(e - s) for s, e in zip(starts, stops)]
        if grid.atom:
            zero = float(tally["zero"]) + zero_noise
            if zero > (_PUBLIC_CELL_SIGMAS * sigma if sigma else 0.0):
                spec["labels"].append("0")
                spec["counts"].append(zero)
                spec["variance"].append(sigma**2)
                spec["zero_code"] = len(spec["labels"]) - 1

    @staticmethod
    def _add_missing(spec: dict[str, Any], n_missing: float, sigma: float, noise: float) -> None:
        noisy = n_missing + noise
        if noisy > (_PUBLIC_CELL_SIGMAS * sigma if sigma else 0.0) or not spec["labels"]:
            spec["labels"].append(MISSING_CODE_LABEL)
            spec["counts"].append(max(noisy, 0.0))
            spec["variance"].append(sigma**2)
            spec["missing_code"] = len(spec["labels"]) - 1

    # -- layout -----------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [c["column"] for c in self.columns]

    @property
    def sizes(self) -> list[int]:
        return [len(c["labels"]) for c in self.columns]

    def marginal(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Released noisy counts of column ``j``'s codes and their noise variances."""
        spec = self.columns[j]
        return np.asarray(spec["counts"], dtype=float), np.asarray(spec["variance"], dtype=float)

    def spec(self, column: str) -> dict[str, Any]:
        for spec in self.columns:
            if spec["column"] == column:
                return spec
        raise KeyError(column)

    # -- encode / decode ----------------------------------------------------------------
    def encode(self, frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """(n, d) int64 codes; values outside the released domain are re-drawn from it."""
        n = len(frame)
        out = np.empty((n, len(self.columns)), dtype=np.int64)
        for j, spec in enumerate(self.columns):
            values = frame[spec["column"]]
            codes = np.full(n, -1, dtype=np.int64)
            missing = values.isna().to_numpy()
            if spec["type"] == "categorical":
                cats = [lab for i, lab in enumerate(spec["labels"]) if i != spec.get("missing_code")]
                codes = pd.Categorical(values.astype(object).where(~missing, None), categories=cats).codes.astype(np.int64)
            elif "cells" in spec:
                x = np.clip(values.to_numpy(dtype=float), spec["low"], spec["high"])
                cell = np.clip(((x - spec["low"]) // spec["width"]), 0, spec["cells"] - 1)
                cell = np.where(np.isnan(cell), 0, cell).astype(np.int64)
                codes = np.searchsorted(np.asarray(spec["bin_starts"]), cell, side="right") - 1
                if "zero_code" in spec:
                    codes[x == 0.0] = spec["zero_code"]
            if "missing_code" in spec:
                codes[missing] = spec["missing_code"]
            else:
                codes[missing] = -1
            bad = codes < 0
            if bad.any():
                codes[bad] = self._draw(spec, int(bad.sum()), rng)
            out[:, j] = codes
        return out

    @staticmethod
    def _draw(spec: dict[str, Any], n: int, rng: np.random.Generator) -> np.ndarray:
        weights = np.clip(np.asarray(spec["counts"], dtype=float), 0.0, None)
        if "missing_code" in spec and len(weights) > 1:
            weights[spec["missing_code"]] = 0.0  # an unreleased value becomes a released value, not missing
        if weights.sum() <= 0:
            weights = np.ones(len(weights))
        return rng.choice(len(weights), size=n, p=weights / weights.sum())

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        """Model frame (float64 numerics, object categoricals, NaN = missing) from codes."""
        out: dict[str, Any] = {}
        n = len(codes)
        for j, spec in enumerate(self.columns):
            c = codes[:, j]
            if spec["type"] == "categorical":
                labels = np.asarray(spec["labels"] + [None], dtype=object)
                values = labels[np.clip(c, 0, len(labels) - 2)]
                if "missing_code" in spec:
                    values = np.where(c == spec["missing_code"], np.nan, values)
                out[spec["column"]] = pd.Series(values, dtype=object)
                continue
            x = np.full(n, np.nan)
            if "cells" in spec:
                n_bins = len(spec["bin_starts"])
                in_bin = c < n_bins
                x[in_bin] = self._draw_in_bins(spec, c[in_bin], rng)
                if "zero_code" in spec:
                    x[c == spec["zero_code"]] = 0.0
            out[spec["column"]] = x
        return pd.DataFrame(out, index=pd.RangeIndex(n))

    @staticmethod
    def _draw_in_bins(spec: dict[str, Any], bins: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Per row: a cell of its bin by noisy weight, then a point inside the cell (vectorized)."""
        starts = np.asarray(spec["bin_starts"], dtype=np.int64)
        stops = np.append(starts[1:], spec["cells"])
        weights = np.asarray(spec["cell_weights"], dtype=float)
        widest = int((stops - starts).max())
        offsets = starts[:, None] + np.arange(widest)[None, :]
        inside = offsets < stops[:, None]
        w = np.where(inside, weights[np.minimum(offsets, len(weights) - 1)], 0.0)
        empty = w.sum(axis=1) <= 0
        w[empty] = inside[empty].astype(float)  # a bin with no noisy mass: uniform over its cells
        cdf = np.cumsum(w, axis=1)
        cdf /= cdf[:, -1:]
        u = rng.random(len(bins))
        pick = (u[:, None] > cdf[bins]).sum(axis=1)
        cell = starts[bins] + np.minimum(pick, (stops - starts)[bins] - 1)
        x = spec["low"] + (cell + rng.random(len(bins))) * spec["width"]
        if spec.get("integer"):
            x = np.floor(x)
        return np.clip(x, spec["low"], spec["high"])

    # -- state --------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {"n_bins": self.n_bins, "grid": self.grid, "columns": self.columns}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> DPDiscretizer:
        obj = cls(int(state["n_bins"]), int(state["grid"]))
        obj.columns = list(state["columns"])
        return obj


def _bucket_range(col: dict[str, Any]) -> tuple[float, float]:
    """Without DP (the ε = ∞ reference): the exact min and max the tally carries."""
    return float(col["min"]), float(col["max"])
