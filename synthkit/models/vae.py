"""``vae``: a tabular variational autoencoder of the TVAE family (Xu et al., 2019).

Rows are encoded with the shared :class:`~synthkit.transform.TableEncoder` (mode-specific
normalization + one-hots); an MLP encoder maps a row to a Gaussian posterior over a latent code,
an MLP decoder maps the code back to logits. The reconstruction loss is Gaussian (with a learned
per-scalar σ, as TVAE) for the scalars and cross-entropy for every one-hot group, computed for all
groups at once (:class:`~synthkit.models.nn_base.SpanLayout`). Unlike a GAN, the loss tracks
quality, so ``patience`` enables early stopping on a held-out validation ELBO.

Sampling draws latent codes, decodes them, adds the learned σ noise to scalars and draws each
category from its softmax (``sample_categories="softmax"``, default) or takes the argmax as TVAE
does (``"argmax"``).

Privacy defaults: see :mod:`synthkit.models.nn_base`. Model files hold the decoder weights and
encoder aggregates only.

Differential privacy (``epsilon=...``, needs ``opacus``: ``pip install synthkit[dp]``): the same
networks are trained with DP-SGD (Poisson sampling, per-row clipping to ``max_grad_norm``,
Gaussian noise; :mod:`synthkit.models.dp_neural`). The TableEncoder, which reads categories, modes
and ranges from the raw data, is replaced by the DP release of
:class:`~synthkit.privacy.preprocess.DPDiscretizer` (``preprocessing_share`` of the budget, or
public ``bounds`` / ``categories``): every column is one softmax group over released codes, numeric
columns as ``n_bins`` quantile bins of a noisy histogram. ``delta`` defaults to min(1e-5, 1/n^1.1).
The noise multiplier is calibrated so that ``epochs`` expected passes spend the budget; with an
explicit ``noise_multiplier`` training stops when the next step would overspend
(``stop_reason_ == "budget"``). The ε spent (opacus' RDP accountant + the preprocessing's zCDP)
is ``privacy_guarantee_["epsilon_spent"]``, saved in the model file and picked up by the pipeline
(metrics.json, report). ``dp=True`` with ``epsilon=None`` runs the same pipeline without noise
(the ε = ∞ reference). Early stopping is refused with DP (a validation loss is a non-private read).
``dp-vae`` is this model with DP on and defaults tuned for DP-SGD (small network, large batches).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from synthkit.errors import ConfigError
from synthkit.models.chunked import map_chunks
from synthkit.models.nn_base import NeuralSynthesizer
from synthkit.models.registry import register
from synthkit.models.dp_neural import DPNeuralMixin
from synthkit.models.params import DPParams, NeuralParams

__all__ = ["Decoder", "Encoder", "TabularVAE"]

log = logging.getLogger(__name__)

_SAMPLE_CHUNK = 4_096  # rows per chunk (parallel threads, synthkit.models.chunked): the work buffers stay in cache


def _mlp(d_in: int, hidden: tuple[int, ...]) -> tuple[nn.Sequential, int]:
    layers: list[nn.Module] = []
    d = d_in
    for h in hidden:
        layers += [nn.Linear(d, h), nn.ReLU()]
        d = h
    return nn.Sequential(*layers), d


class Encoder(nn.Module):
    """Row → (mean, log-variance) of the latent posterior."""

    def __init__(self, d_in: int, hidden: tuple[int, ...], latent: int) -> None:
        super().__init__()
        self.body, d = _mlp(d_in, hidden)
        self.mu = nn.Linear(d, latent)
        self.logvar = nn.Linear(d, latent)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mu(h), self.logvar(h)


class _DPNet(nn.Module):
    """Encoder + decoder as one module, so DP-SGD clips each row's gradient over both networks."""

    def __init__(self, encoder: Encoder, decoder: Decoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x)
        logvar = logvar.clamp(-8.0, 8.0)  # noisy steps can push it far; exp() must stay finite
        return self.decoder(mu + noise * torch.exp(0.5 * logvar)), mu, logvar


class Decoder(nn.Module):
    """Latent code → logits of the encoded row, plus a learned σ per output."""

    def __init__(self, latent: int, hidden: tuple[int, ...], d_out: int) -> None:
        super().__init__()
        self.body, d = _mlp(latent, hidden)
        self.head = nn.Linear(d, d_out)
        self.sigma = nn.Parameter(torch.full((d_out,), 0.1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(z))


@register("vae")
class TabularVAE(DPNeuralMixin, NeuralSynthesizer):
    """TVAE-style VAE (defaults: TVAE's sizes, batch 500, 150 epochs ≈ 3 min on Adult, 2 cores).

    Extra parameters: ``latent_dim``, ``encoder_dims``, ``decoder_dims``,
    ``loss_factor`` (weight of reconstruction vs KL, TVAE uses 2), ``weight_decay``,
    ``sample_categories`` (``"softmax"`` or ``"argmax"``).
    DP parameters (:class:`~synthkit.models.params.DPParams`, flat or as ``privacy=``; the neural ones
    are :class:`~synthkit.models.params.NeuralParams`, flat or ``neural=``): ``epsilon`` (None = no DP), ``delta``,
    ``max_grad_norm``, ``noise_multiplier``, ``n_bins``, ``bounds``, ``categories``,
    ``preprocessing_share``, ``dp``.
    """

    param_defaults: ClassVar[dict[str, Any]] = {"epochs": 150, "max_grad_norm": 10.0}
    test_params: ClassVar[dict[str, Any]] = {"epochs": 2, "batch_size": 100, "latent_dim": 16, "encoder_dims": (32,), "decoder_dims": (32,)}
    default_learning_rate = 1e-3

    def __init__(self, metadata: Any = None, seed: int | None = 0, tail_quantile: float = 0.0,
                 neural: NeuralParams | None = None, latent_dim: int = 128,
                 encoder_dims: tuple[int, ...] = (128, 128), decoder_dims: tuple[int, ...] = (128, 128),
                 loss_factor: float = 2.0, weight_decay: float = 1e-5, sample_categories: str = "softmax",
                 privacy: DPParams | None = None, **flat: Any) -> None:
        """``neural`` / ``privacy`` or their flat keys (``epochs=...``, ``epsilon=...``): :mod:`synthkit.models.params`."""
        self._set_param_group("privacy", privacy, flat, self.param_defaults)
        super().__init__(metadata=metadata, seed=seed, tail_quantile=tail_quantile, neural=neural, **flat)
        self.latent_dim = latent_dim
        self.encoder_dims = tuple(encoder_dims)
        self.decoder_dims = tuple(decoder_dims)
        self.loss_factor = loss_factor
        self.weight_decay = weight_decay
        self.sample_categories = sample_categories

    def _check_params(self) -> None:
        super()._check_params()
        self._check_dp_neural_params()
        if not isinstance(self.latent_dim, int) or isinstance(self.latent_dim, bool) or self.latent_dim < 1:
            raise ConfigError(f"latent_dim must be a positive integer, got {self.latent_dim!r}")
        for name in ("encoder_dims", "decoder_dims"):
            dims = getattr(self, name)
            if not all(isinstance(d, int) and d > 0 for d in dims):
                raise ConfigError(f"{name} must be a list of positive integers, got {dims!r}")
        if not (isinstance(self.loss_factor, (int, float)) and self.loss_factor > 0):
            raise ConfigError(f"loss_factor must be a positive number, got {self.loss_factor!r}")
        if self.sample_categories not in ("softmax", "argmax"):
            raise ConfigError(f"sample_categories must be 'softmax' or 'argmax', got {self.sample_categories!r}")

    # -- networks -------------------------------------------------------------------------
    def _build_modules(self, extra: dict[str, Any]) -> None:
        self.decoder_ = Decoder(self.latent_dim, self.decoder_dims, self.layout_.dim).to(self.device_)

    def _sampling_modules(self) -> dict[str, nn.Module]:
        return {"decoder": self.decoder_}

    def _loss(self, encoder: Encoder, x: torch.Tensor, noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction, KL) per row averaged over the batch; ``noise`` None = use the mean code."""
        mu, logvar = encoder(x)
        z = mu if noise is None else mu + noise * torch.exp(0.5 * logvar)
        out = self.decoder_(z)
        vi = self.layout_.value_index
        sigma = self.decoder_.sigma[vi]
        gauss = ((x[:, vi] - torch.tanh(out[:, vi])) ** 2 / (2 * sigma**2)).sum(dim=1) + torch.log(sigma).sum()
        recon = gauss + self.layout_.cross_entropy(out, x)
        kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(dim=1)
        return recon.mean(), kl.mean()

    # -- fit --------------------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame) -> None:
        self.discretizer_ = self.privacy_guarantee_ = None  # a refit without DP drops an earlier DP release
        if self.dp_enabled:
            self._fit_dp(frame)
            return
        data = self._prepare(frame)
        self._build_modules({})
        encoder = Encoder(self.layout_.dim, self.encoder_dims, self.latent_dim).to(self.device_)
        params = list(encoder.parameters()) + list(self.decoder_.parameters())
        opt = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        train_idx, val_idx = self._split(len(data))
        train = data[torch.from_numpy(train_idx).to(self.device_)]
        val = data[torch.from_numpy(val_idx).to(self.device_)] if len(val_idx) else None
        trainer = self._trainer()

        def step(idx: torch.Tensor) -> dict[str, float]:
            encoder.train()
            self.decoder_.train()
            x = train[idx.to(self.device_)]
            recon, kl = self._loss(encoder, x, torch.randn(len(x), self.latent_dim, device=self.device_))
            loss = self.loss_factor * recon + kl
            trainer.optimize(opt, loss, params)
            with torch.no_grad():
                self.decoder_.sigma.clamp_(0.01, 1.0)
            return {"loss": loss.item(), "recon": recon.item(), "kl": kl.item()}

        def validate() -> float:
            encoder.eval()
            self.decoder_.eval()
            with torch.no_grad():
                recon, kl = self._loss(encoder, val, None)
            return float(self.loss_factor * recon + kl)

        history = trainer.run(len(train), step, validate=validate if val is not None else None,
                              modules=[encoder, self.decoder_])
        self.decoder_.eval()
        self._record(history)

    def _fit_dp(self, frame: pd.DataFrame) -> None:
        """DP-SGD over the DP-released code domains (see the module docstring)."""
        ledger, x, _, rng = self._dp_prepare(frame)
        self._build_modules({})
        self.decoder_.sigma.requires_grad_(False)  # no scalar outputs with DP: σ is unused (and not a DP output)
        encoder = Encoder(self.layout_.dim, self.encoder_dims, self.latent_dim).to(self.device_)
        net = _DPNet(encoder, self.decoder_)
        params = [p for p in net.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        noise_gen = torch.Generator(device=self.device_).manual_seed(self._dp_seed() + 1)

        def per_row_loss(module: nn.Module, rows: torch.Tensor) -> torch.Tensor:
            xb = x[rows.to(self.device_)]
            noise = torch.randn((len(xb), self.latent_dim), generator=noise_gen, device=self.device_)
            logits, mu, logvar = module(xb, noise)
            kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)
            return self.loss_factor * self.layout_.cross_entropy(logits, xb) + kl

        net.train()
        self._dp_train(ledger, net, opt, per_row_loss, len(x), rng)
        self.decoder_.eval()

    # -- sample -----------------------------------------------------------------------------
    @torch.no_grad()
    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """Chunks on parallel threads (:mod:`synthkit.models.chunked`): codes, then decode once."""
        self.decoder_.eval()
        if getattr(self, "discretizer_", None) is not None:
            return self._dp_sample(n, rng, self.latent_dim, self.decoder_, _SAMPLE_CHUNK)
        dev = self.device_
        seed = int(rng.integers(0, 2**62))
        sigma = self.decoder_.sigma[self.layout_.value_index]

        def chunk(rows: int, chunk_seed: int) -> tuple[np.ndarray, np.ndarray]:
            gen = torch.Generator(device=dev).manual_seed(chunk_seed)
            z = torch.randn(rows, self.latent_dim, generator=gen, device=dev)
            noise = torch.randn(rows, len(sigma), generator=gen, device=dev) * sigma  # the learned σ on scalars
            values, codes = self.layout_.draw_codes(self.decoder_(z), generator=gen,
                                                    draw=self.sample_categories == "softmax")
            return np.clip(values + noise.cpu().numpy(), -1.0, 1.0), codes

        parts = map_chunks(n, _SAMPLE_CHUNK, seed, chunk, parallel=dev.type == "cpu")
        return self.encoder_.reverse_codes(np.concatenate([v for v, _ in parts]), np.concatenate([c for _, c in parts]), rng)

    # -- state ------------------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        if getattr(self, "discretizer_", None) is None:
            return super()._get_state()
        return self._dp_neural_state(), self._sampling_tensors()

    def _set_state(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        if "discretizer" not in state:
            self.discretizer_ = self.privacy_guarantee_ = None
            super()._set_state(state, tensors)
            return
        self._set_dp_neural_state(state)
        self._build_modules({})
        self._load_sampling_weights(tensors)
