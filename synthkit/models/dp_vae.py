"""``dp-vae``: a variational autoencoder trained with DP-SGD (opacus) over DP-discretized columns.

Everything the model file holds is a DP output: the code domains and bins come from the DP
preprocessing (:class:`~synthkit.privacy.preprocess.DPDiscretizer`, a ``preprocessing_share`` of
the budget), and the decoder weights from DP-SGD (per-row clipping to ``max_grad_norm`` and
Gaussian noise). Numeric columns are learned as quantile bins (as in MOSTLY AI's DP mode) because
mode-specific normalization would need data-dependent mixture fits outside the budget.

Budget: ``epsilon`` (default 3) and ``delta`` (default min(1e-5, 1/n^1.1)). The noise multiplier is
calibrated so that ``epochs`` Poisson-sampled passes spend exactly the budget left after
preprocessing; with an explicit ``noise_multiplier`` training stops as soon as the next step would
overspend (``stop_reason_ == "budget"``). The ε actually spent is the RDP accountant's (opacus)
for the recorded steps, combined with the preprocessing's ρ-zCDP (ρα at order α).
``epsilon=None`` trains the same network without DP (the ε = ∞ reference point).

Defaults (small network, large batches, ``max_grad_norm=10`` for a loss summed over columns) were
picked on Adult: with ``max_grad_norm=1`` the clipped, noised gradients only learned marginals.
DP-SGD needs data: on a few thousand rows and ε ≤ 3 the noise swamps the pairwise structure,
and ``dp-marginals`` is the better choice there (see ``benchmarks/results/dp.md``).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import opacus  # noqa: F401  (first: without the optional dependency the registry marks dp-vae unavailable at once)
import pandas as pd
import torch
from torch import nn

from synthkit.errors import ConfigError
from synthkit.models.base import Synthesizer
from synthkit.models.registry import register
from synthkit.privacy.accounting import cdp_rho
from synthkit.privacy.dpsgd import (
    DPSGD,
    calibrate_noise,
    max_steps_within,
    planned_steps,
    poisson_batch,
)
from synthkit.privacy.model import DPModelMixin

__all__ = ["DPVAE"]

log = logging.getLogger(__name__)


class _VAE(nn.Module):
    """Linear layers only, so opacus computes per-sample gradients for every parameter."""

    def __init__(self, data_dim: int, hidden: int, latent: int) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(data_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                     nn.Linear(hidden, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                     nn.Linear(hidden, data_dim))
        self.latent = latent

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        logvar = logvar.clamp(-8.0, 8.0)
        z = mu + noise * torch.exp(0.5 * logvar)
        return self.decoder(z), mu, logvar


class _Groups:
    """One softmax group per column over the concatenated one-hot codes, padded for vectorization.

    Hand-written (25 lines) rather than the shared ``nn_base.SpanLayout`` because every column here
    is a plain code group and the DP model should not change when that layout evolves.
    """

    def __init__(self, sizes: list[int]) -> None:
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        width = max(sizes) if sizes else 1
        offsets = np.arange(width)[None, :]
        self.mask = torch.from_numpy(offsets < np.asarray(sizes)[:, None])
        self.index = torch.from_numpy(np.where(self.mask.numpy(), starts[:, None] + offsets, 0))
        self.starts = torch.from_numpy(starts)
        self.dim = int(sum(sizes))

    def grouped(self, logits: torch.Tensor) -> torch.Tensor:
        """(batch, groups, width) logits with padding at -inf."""
        return logits[:, self.index].masked_fill(~self.mask, float("-inf"))

    def cross_entropy(self, logits: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """(batch,) summed cross-entropy of every column's code."""
        logp = torch.log_softmax(self.grouped(logits), dim=-1)
        return -logp.gather(2, codes.unsqueeze(-1)).squeeze(-1).sum(dim=1)

    def sample(self, logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(batch, groups) codes drawn from each column's softmax (Gumbel-max)."""
        grouped = self.grouped(logits)
        u = torch.rand(grouped.shape, generator=generator).clamp(1e-20, 1.0)
        return (grouped - torch.log(-torch.log(u))).argmax(dim=-1)


@register("dp-vae")
class DPVAE(DPModelMixin, Synthesizer):
    """VAE + DP-SGD. See the module docstring for the budget and what is stored."""

    test_params: ClassVar[dict[str, Any]] = {"epsilon": 10.0, "epochs": 3, "hidden": 32, "batch_size": 128, "n_bins": 10}
    dp_mechanism = "dp-sgd"
    dp_accountant = "RDP (opacus) + zCDP preprocessing"

    def __init__(self, metadata: Any = None, seed: int | None = 0, tail_quantile: float = 0.0,
                 epsilon: float | None = 3.0, delta: float | None = None, max_grad_norm: float = 10.0,
                 noise_multiplier: float | None = None, epochs: int = 30, batch_size: int = 1000,
                 learning_rate: float = 1e-2, hidden: int = 64, latent: int = 8, n_bins: int = 20,
                 bounds: dict[str, list[float]] | None = None, categories: dict[str, list[str]] | None = None,
                 preprocessing_share: float = 0.1) -> None:
        super().__init__(metadata=metadata, seed=seed, tail_quantile=tail_quantile)
        self.epsilon = epsilon
        self.delta = delta
        self.max_grad_norm = max_grad_norm
        self.noise_multiplier = noise_multiplier
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.hidden = hidden
        self.latent = latent
        self.n_bins = n_bins
        self.bounds = bounds
        self.categories = categories
        self.preprocessing_share = preprocessing_share

    def _check_params(self) -> None:
        self._check_dp_params()
        for name in ("epochs", "batch_size", "hidden", "latent"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        for name in ("max_grad_norm", "learning_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"{name} must be a positive number, got {value!r}")
        if self.noise_multiplier is not None and (isinstance(self.noise_multiplier, bool)
                                                  or not isinstance(self.noise_multiplier, (int, float))
                                                  or not self.noise_multiplier > 0):
            raise ConfigError(f"noise_multiplier must be a positive number or None (calibrated), got {self.noise_multiplier!r}")
        if isinstance(self.preprocessing_share, bool) or not isinstance(self.preprocessing_share, (int, float)) \
                or not 0 < self.preprocessing_share < 1:
            raise ConfigError(f"preprocessing_share must be in (0, 1), got {self.preprocessing_share!r}")

    # -- fit ---------------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame) -> None:
        seed = 0 if self.seed is None else int(self.seed)
        rng = np.random.default_rng(seed)
        n = len(frame)
        ledger = self._dp_begin(n)
        rho_pre = None if ledger is None else self.preprocessing_share * cdp_rho(ledger.epsilon, ledger.conversion_delta)
        codes = self._dp_discretize(frame, rho_pre, ledger, rng)
        self._build(self.discretizer_.sizes)
        codes_t = torch.from_numpy(codes)
        x = self._one_hot(codes_t)
        q, planned = planned_steps(n, self.batch_size, self.epochs)
        sigma = 0.0
        steps = planned
        if ledger is not None:
            sigma = float(self.noise_multiplier) if self.noise_multiplier is not None else \
                calibrate_noise(ledger.epsilon, ledger.conversion_delta, q, planned, ledger.rho)
            steps = max_steps_within(ledger, sigma, q, planned)
            if steps == 0:
                raise ConfigError(f"noise_multiplier={sigma} is too small: one DP-SGD step would exceed epsilon={ledger.epsilon}")
        torch.manual_seed(seed)
        optimizer = torch.optim.Adam(self.net_.parameters(), lr=float(self.learning_rate))
        sgd = DPSGD(self.net_, optimizer, ledger, sigma, float(self.max_grad_norm), q, self.batch_size, seed, allowed_steps=steps)
        noise_gen = torch.Generator().manual_seed(seed + 1)
        losses: list[float] = []
        for _ in range(steps):
            idx = poisson_batch(n, q, rng)
            if len(idx) == 0:  # probability (1-q)^n
                sgd.charge_empty_step()
                continue
            rows = torch.from_numpy(idx)
            noise = torch.randn((len(idx), self.latent), generator=noise_gen)
            logits, mu, logvar = sgd.module(x[rows], noise)
            recon = self.layout_.cross_entropy(logits, codes_t[rows])
            kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)
            per_row = recon + kl
            sgd.step(per_row)
            losses.append(float(per_row.detach().mean()))
        sgd.close()
        self.net_.eval()
        self.noise_multiplier_ = sigma
        self.steps_ = steps
        self.stop_reason_ = "epochs" if steps == planned else "budget"
        if self.stop_reason_ == "budget":
            log.info("dp-vae: privacy budget spent after %d of %d planned steps; training stopped", steps, planned)
        # mean loss per 50 steps, for diagnostics only: NOT differentially private (exact losses on real rows),
        # so it is never saved and should not be published
        self.loss_history_ = [float(np.mean(losses[i:i + 50])) for i in range(0, len(losses), 50)]
        self._dp_finish(ledger)

    def _build(self, sizes: list[int]) -> None:
        self.layout_ = _Groups(sizes)
        self.net_ = _VAE(int(sum(sizes)), self.hidden, self.latent)

    def _one_hot(self, codes: torch.Tensor) -> torch.Tensor:
        x = torch.zeros((codes.shape[0], self.layout_.dim))
        x.scatter_(1, codes + self.layout_.starts[None, :], 1.0)
        return x

    # -- sample ------------------------------------------------------------------------
    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        gen = torch.Generator().manual_seed(int(rng.integers(0, 2**31 - 1)))
        with torch.no_grad():
            z = torch.randn((n, self.latent), generator=gen)
            codes = self.layout_.sample(self.net_.decoder(z), gen).numpy().astype(np.int64)
        frame = self.discretizer_.decode(codes, rng)
        return frame[[s.name for s in self.schema_.learned]]

    # -- state -------------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        state = self._dp_state()
        # the training losses are computed on real rows without noise: they stay in memory, never in the file
        state.update(noise_multiplier=self.noise_multiplier_, steps=self.steps_, stop_reason=self.stop_reason_)
        return state, {f"decoder.{k}": v for k, v in self.net_.decoder.state_dict().items()}

    def _set_state(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        self._set_dp_state(state)
        self.noise_multiplier_ = float(state["noise_multiplier"])
        self.steps_ = int(state["steps"])
        self.stop_reason_ = str(state["stop_reason"])
        self.loss_history_ = []
        self._build(self.discretizer_.sizes)
        self.net_.decoder.load_state_dict({k.split(".", 1)[1]: v for k, v in tensors.items()})
        self.net_.eval()
