"""Normalizing flow (``flow``): RealNVP affine couplings over Gaussianized columns, with exact density.

Every learned column becomes one coordinate u in (0, 1), then z = Φ⁻¹(u):
- numerical: a missing slice [0, p_missing) followed by the column's quantile grid (piecewise
  linear CDF). Values repeated so often that they cover several grid points (point masses such as
  capital-gain = 0) own a slice of their own, like categories.
- categorical: frequency intervals — each category (missing included) owns a slice as wide as its
  share.
Discrete slices are *dequantized*: a value maps to a uniform draw inside its slice, the standard
way to give discrete data a density. The marginals of z are then standard normal, and the flow
(coupling layers initialised at the identity) only has to learn the dependence between columns.

``log_prob(df)`` is the flow's exact log-density of the encoded point plus the change of
variables: for continuous values it is an exact log-density (w.r.t. Lebesgue measure, clipped to
the training range); for categories, missing values and point masses it is the dequantization
bound log P(slice) ≥ E_u[log q(u)] + log(width), averaged over ``n_samples`` uniform draws.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from scipy.special import ndtri
from torch import nn
from torch.nn import functional as F

from synthkit.errors import ConfigError
from synthkit.models.arm import train_likelihood_model
from synthkit.models.base import Synthesizer
from synthkit.models.chunked import map_chunks
from synthkit.models.nn_base import check_precision, uses_bf16
from synthkit.models.registry import register

__all__ = ["FlowSynthesizer", "GaussianizedColumns", "RealNVP"]

log = logging.getLogger(__name__)
_EPS = 1e-6
_MISSING = "__synthkit_missing__"
_LOG_2PI = math.log(2 * math.pi)
_SAMPLE_CHUNK = 16_384  # rows per sampling chunk (parallel threads): large enough to amortize the per-layer calls


class GaussianizedColumns:
    """Per-column maps between model-frame values and u in (0, 1); JSON state (aggregates only)."""

    def __init__(self, marginals: list[dict[str, Any]]) -> None:
        self.marginals = marginals

    @classmethod
    def fit(cls, frame: pd.DataFrame, numerical: list[str], n_quantiles: int) -> GaussianizedColumns:
        marginals: list[dict[str, Any]] = []
        for name in frame.columns:
            if name in numerical:
                values = frame[name].to_numpy(dtype=float)
                marginals.append(cls.numeric_marginal(name, values[~np.isnan(values)], float(np.isnan(values).mean()),
                                                      n_quantiles))
            else:
                counts = frame[name].fillna(_MISSING).astype(str).value_counts(sort=True)
                marginals.append(cls.categorical_marginal(name, counts))
        return cls(marginals)

    @staticmethod
    def numeric_marginal(name: str, present: np.ndarray, p_missing: float, n_quantiles: int) -> dict[str, Any]:
        """A numerical column's map from its present values (or values standing for them) and missing share."""
        grid = np.quantile(present, np.linspace(0, 1, n_quantiles)).tolist() if len(present) else []
        return {"column": name, "type": "numerical", "p_missing": p_missing, "grid": grid}

    @staticmethod
    def categorical_marginal(name: str, counts: pd.Series, n_missing: int = 0) -> dict[str, Any]:
        """A categorical column's map from its category counts (most frequent first) and missing count."""
        if n_missing:
            counts = pd.concat([counts, pd.Series({_MISSING: n_missing})]).sort_values(ascending=False, kind="stable")
        return {"column": name, "type": "categorical", "categories": counts.index.tolist(),
                "probs": (counts.to_numpy(dtype=float) / counts.sum()).tolist()}

    def encode(self, frame: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(u matrix, per-row log |du/dx| + log slice widths); discrete slices get a uniform draw."""
        n = len(frame)
        u = np.empty((n, len(self.marginals)))
        log_jac = np.zeros(n)
        for j, m in enumerate(self.marginals):
            lo, width, density = self._slices(m, frame[m["column"]])
            discrete = width > 0
            u[:, j] = np.where(discrete, lo + rng.random(n) * width, lo)
            log_jac += np.where(discrete, np.log(np.maximum(width, 1e-300)), np.log(np.maximum(density, 1e-300)))
        return u, log_jac

    @staticmethod
    def _slices(m: dict[str, Any], series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per value: slice start, slice width (0 for continuous values) and du/dx (continuous)."""
        n = len(series)
        if m["type"] == "categorical":
            probs = np.asarray(m["probs"])
            starts = np.concatenate([[0.0], np.cumsum(probs)[:-1]])
            codes = pd.Categorical(series.fillna(_MISSING).astype(str), categories=m["categories"]).codes
            known = codes >= 0  # unseen categories get probability ~0 (a tiny slice at the end)
            lo = np.where(known, starts[np.maximum(codes, 0)], 1 - _EPS)
            return lo, np.where(known, probs[np.maximum(codes, 0)], _EPS), np.zeros(n)
        values = series.to_numpy(dtype=float)
        p_m, grid = m["p_missing"], np.asarray(m["grid"])
        lo, width, density = np.zeros(n), np.zeros(n), np.zeros(n)
        missing = np.isnan(values)
        width[missing] = max(p_m, _EPS)
        if len(grid) == 0:
            return lo, np.full(n, 1.0), density
        k = len(grid) - 1
        x = np.clip(values[~missing], grid[0], grid[-1])
        left = np.searchsorted(grid, x, side="left")
        right = np.searchsorted(grid, x, side="right")
        spike = right - left >= 2
        i = np.clip(right - 1, 0, k - 1)
        step = np.maximum(grid[i + 1] - grid[i], 1e-12)
        frac = np.clip((x - grid[i]) / step, 0, 1)
        cdf = np.where(spike, left / k, (i + frac) / k) if k else np.zeros(len(x))
        lo[~missing] = p_m + (1 - p_m) * cdf
        width[~missing] = np.where(spike, (1 - p_m) * (right - left - 1) / max(k, 1), 0.0)
        density[~missing] = np.where(spike, 0.0, (1 - p_m) / (k * step)) if k else 0.0
        return lo, width, density

    def decode(self, u: np.ndarray) -> pd.DataFrame:
        """Model frame from a (n, columns) matrix of u values."""
        return self.frame_from_parts(*self.decode_parts(torch.from_numpy(np.asarray(u, dtype=np.float64))))

    def decode_parts(self, u: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(numerical values (n, numerical) float64 with NaN = missing, category codes (n, categorical)).

        In torch (which releases the GIL), so that sampling threads decode their own chunks; the
        only work left for :meth:`frame_from_parts` is the lookup of category labels.
        """
        u = u.double()
        n = u.shape[0]
        values, codes = [], []
        for j, (m, table) in enumerate(zip(self.marginals, self._decode_tables)):
            col = u[:, j]
            if m["type"] == "categorical":
                cumulative = table
                drawn = torch.searchsorted(cumulative, (col * cumulative[-1]).contiguous(), right=True)
                codes.append(drawn.clamp_max_(len(cumulative) - 1))
                continue
            grid = table
            if len(grid) == 0:
                values.append(torch.full((n,), float("nan"), dtype=torch.float64))
                continue
            p_m = m["p_missing"]
            # linear interpolation in the quantile grid at equally spaced positions (np.interp's result)
            position = ((col - p_m) / max(1 - p_m, _EPS)).clamp_(0, 1) * (len(grid) - 1)
            if len(grid) == 1:
                x = grid.expand(n).clone()
            else:
                left = position.floor().long().clamp_(0, len(grid) - 2)
                x = grid[left] + (position - left) * (grid[left + 1] - grid[left])
            values.append(x.masked_fill_(col < p_m, float("nan")))
        stacked = torch.stack(values, 1).numpy() if values else np.zeros((n, 0))
        return stacked, (torch.stack(codes, 1).numpy() if codes else np.zeros((n, 0), dtype=np.int64))

    @functools.cached_property
    def _decode_tables(self) -> list[torch.Tensor]:
        """Per column, the float64 cumulative category shares or quantile grid: built once, not per chunk."""
        return [torch.cumsum(torch.tensor(m["probs"], dtype=torch.float64), 0) if m["type"] == "categorical"
                else torch.tensor(m["grid"], dtype=torch.float64) for m in self.marginals]

    def frame_from_parts(self, values: np.ndarray, codes: np.ndarray) -> pd.DataFrame:
        """The model frame of :meth:`decode_parts`' output, columns in order."""
        out: dict[str, Any] = {}
        v = c = 0
        for m in self.marginals:
            if m["type"] == "categorical":
                labels = np.asarray(m["categories"], dtype=object)
                labels[labels == _MISSING] = np.nan
                out[m["column"]] = labels[codes[:, c]]
                c += 1
            else:
                out[m["column"]] = values[:, v]
                v += 1
        return pd.DataFrame(out, copy=False)  # fresh arrays: no consolidating copy into 2-D blocks


class _Coupling(nn.Module):
    """Affine coupling: the masked half rescales and shifts the other half (tanh-bounded scales)."""

    def __init__(self, dim: int, mask: torch.Tensor, hidden: int) -> None:
        super().__init__()
        self.register_buffer("mask", mask)
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                 nn.Linear(hidden, 2 * dim))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        self.scale = nn.Parameter(torch.ones(dim))

    def _params(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self.net(x * self.mask).chunk(2, dim=1)
        free = 1 - self.mask
        return torch.tanh(s) * self.scale * free, t * free

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """data → latent direction; returns (y, log|det|)."""
        s, t = self._params(x)
        return x * torch.exp(s) + t, s.sum(1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        s, t = self._params(y)  # the masked half is unchanged, so the parameters are the same
        return (y - t) * torch.exp(-s)


class RealNVP(nn.Module):
    """A stack of affine couplings with alternating random half-masks; base N(0, I)."""

    def __init__(self, dim: int, n_layers: int, hidden: int, seed: int) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        layers = []
        for layer in range(n_layers):
            if layer % 2 == 0:
                perm = torch.randperm(dim, generator=gen)
            mask = torch.zeros(dim)
            half = perm[: dim // 2] if layer % 2 == 0 else perm[dim // 2:]
            mask[half] = 1.0
            layers.append(_Coupling(dim, mask, hidden))
        self.layers = nn.ModuleList(layers)
        self.dim = dim

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(len(z), dtype=z.dtype)
        for layer in self.layers:
            z, logdet = layer(z)
            total = total + logdet
        return total - 0.5 * (z**2).sum(1) - 0.5 * self.dim * _LOG_2PI

    def loss(self, z: torch.Tensor) -> torch.Tensor:
        return -self.log_prob(z).mean()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        z = torch.randn(n, self.dim, generator=generator)
        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return z


class _SamplingFlow:
    """:class:`RealNVP`'s inverse rearranged for sampling speed (the same function up to ``dtype`` rounding).

    Each coupling's masks are folded into its weights (input columns of the masked-out half and
    output rows of the kept half are zero), its last layer is split into the scale and shift
    products (contiguous outputs instead of two strided halves), and the networks run in
    ``dtype``: bfloat16 where the CPU has AMX tiles, where the products are ~5x faster. The
    coupling arithmetic itself stays in float32.
    """

    @torch.no_grad()
    def __init__(self, flow: RealNVP, dtype: torch.dtype) -> None:
        self.dim, self.dtype = flow.dim, dtype
        self.layers: list[tuple[torch.Tensor, ...]] = []
        for layer in reversed(flow.layers):
            first, middle, last = layer.net[0], layer.net[2], layer.net[4]
            free = 1 - layer.mask
            d = flow.dim
            weights = (first.weight * layer.mask, first.bias, middle.weight, middle.bias,
                       last.weight[:d] * free[:, None], last.bias[:d] * free,
                       last.weight[d:] * free[:, None], last.bias[d:] * free)
            self.layers.append((*(w.to(dtype).contiguous() for w in weights), (layer.scale * free).float()))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """(n, dim) float32 draws of the flow's latent-to-data map applied to standard normal noise."""
        z = torch.randn(n, self.dim, generator=generator)
        for w1, b1, w2, b2, ws, bs, wt, bt, scale in self.layers:
            h = F.silu(F.linear(z.to(self.dtype), w1, b1), inplace=True)
            h = F.silu(F.linear(h, w2, b2), inplace=True)
            s = torch.tanh(F.linear(h, ws, bs).float()).mul_(scale)
            z = z.sub_(F.linear(h, wt, bt).float()).mul_(s.neg_().exp_())
        return z


@register("flow")
class FlowSynthesizer(Synthesizer):
    """RealNVP over Gaussianized columns; ``log_prob(df)`` gives per-row log-likelihoods.

    ``sample_precision``: ``"auto"`` runs the coupling networks in bfloat16 for sampling where
    that is fast (CPUs with AMX tiles; latents move by ~1e-3 on average), ``"float32"`` always
    in float32. ``log_prob`` is always float32.
    """

    test_params: ClassVar[dict[str, Any]] = {"epochs": 3, "n_layers": 2, "hidden": 16, "n_quantiles": 51, "batch_size": 256}

    def __init__(self, metadata: Any = None, seed: int | None = 0, tail_quantile: float = 0.0, n_layers: int = 8,
                 hidden: int = 128, n_quantiles: int = 1001, epochs: int = 100, batch_size: int = 512,
                 learning_rate: float = 1e-3, weight_decay: float = 1e-5, validation_fraction: float = 0.1,
                 patience: int = 5, max_minutes: float | None = None, sample_precision: str = "auto") -> None:
        super().__init__(metadata=metadata, seed=seed, tail_quantile=tail_quantile)
        self.n_layers, self.hidden, self.n_quantiles = n_layers, hidden, n_quantiles
        self.epochs, self.batch_size, self.learning_rate = epochs, batch_size, learning_rate
        self.weight_decay, self.validation_fraction, self.patience = weight_decay, validation_fraction, patience
        self.max_minutes = max_minutes
        self.sample_precision = sample_precision

    def _check_params(self) -> None:
        for name in ("n_layers", "hidden", "epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.n_quantiles, int) or self.n_quantiles < 3:
            raise ConfigError(f"n_quantiles must be an integer >= 3, got {self.n_quantiles!r}")
        if not 0.0 <= float(self.validation_fraction) < 0.5:
            raise ConfigError(f"validation_fraction must be in [0, 0.5), got {self.validation_fraction!r}")
        check_precision("sample_precision", self.sample_precision)

    def _fit(self, frame: pd.DataFrame) -> None:
        start = time.perf_counter()
        rng = np.random.default_rng(self.seed)
        self.columns_ = GaussianizedColumns.fit(frame, self.schema_.numerical_names, self.n_quantiles)
        u, _ = self.columns_.encode(frame, rng)
        z = torch.from_numpy(ndtri(np.clip(u, _EPS, 1 - _EPS))).float()
        self.flow_ = RealNVP(z.shape[1], self.n_layers, self.hidden, int(self.seed or 0))
        preprocess = time.perf_counter() - start
        self.fit_info_ = train_likelihood_model(self, self.flow_, z, preprocess)

    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        self.flow_.eval()
        bf16 = uses_bf16(self.sample_precision, torch.device("cpu"))
        sampler = _SamplingFlow(self.flow_, torch.bfloat16 if bf16 else torch.float32)

        def chunk(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:  # in parallel, without autograd
            z = sampler.sample(rows, torch.Generator().manual_seed(seed)).double()
            return self.columns_.decode_parts(torch.special.ndtr(torch.nan_to_num(z, nan=0.0, posinf=8.0, neginf=-8.0)))

        parts = map_chunks(n, _SAMPLE_CHUNK, int(rng.integers(0, 2**62)), chunk)
        return self.columns_.frame_from_parts(np.concatenate([v for v, _ in parts]), np.concatenate([c for _, c in parts]))

    def log_prob(self, data: pd.DataFrame, n_samples: int = 1, seed: int = 0) -> np.ndarray:
        """Per-row log-likelihood (nats) of ``data``; see the module docstring for its exact meaning."""
        self._require_fitted()
        frame = self.schema_.to_model_frame(data)
        rng = np.random.default_rng(seed)
        total = np.zeros(len(frame))
        self.flow_.eval()
        for _ in range(max(int(n_samples), 1)):
            u, log_jac = self.columns_.encode(frame, rng)
            u = np.clip(u, _EPS, 1 - _EPS)
            z = ndtri(u)
            with torch.no_grad():
                log_q = self.flow_.log_prob(torch.from_numpy(z).float()).double().numpy()
            # density in u-space: q(z) / prod φ(z_d)
            log_phi = -0.5 * z**2 - 0.5 * _LOG_2PI
            total += log_q - log_phi.sum(1) + log_jac
        return total / max(int(n_samples), 1)

    def _get_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"marginals": self.columns_.marginals, "fit_info": self.fit_info_}, dict(self.flow_.state_dict())

    def _set_state(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        self.columns_ = GaussianizedColumns(state["marginals"])
        self.fit_info_ = state.get("fit_info", {})
        self.flow_ = RealNVP(len(self.columns_.marginals), self.n_layers, self.hidden, int(self.seed or 0))
        self.flow_.load_state_dict({k: v.float() for k, v in tensors.items()})
        self.flow_.eval()
