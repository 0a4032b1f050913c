"""Distributed-training recipes of the TableEncoder models, ``vae`` and ``gan`` (see :mod:`train_recipes`).

``gan``'s training-by-sampling (CTGAN) picks real rows of a chosen category from the whole table,
which a worker streaming its shard cannot do. The recipe reaches the same training distribution
within each streamed batch: every row gets a conditioned column at random, its own category there,
and an importance weight (CTGAN's log-frequency share of that category over its true share, both
from the merged counts); the batch is then resampled by those weights. Rows of rare categories are
drawn as often as CTGAN would draw them, as far as the batch holds any.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from synthkit.engine.train_recipes import Recipe, table_encoder_from_stats
from synthkit.engine.train_stats import EncoderStats
from synthkit.errors import ConfigError
from synthkit.models.condvec import CondSampler
from synthkit.models.gan import Critic
from synthkit.models.nn_base import SpanLayout
from synthkit.models.trainer import TrainingHistory
from synthkit.models.vae import Encoder

__all__ = ["GanRecipe", "VaeRecipe"]


class _NeuralRecipe(Recipe):
    """Shared by gan and vae: the TableEncoder from merged statistics, the layout on the worker's device."""

    def prepare(self, stats: EncoderStats) -> None:

        m = self.model
        m.discretizer_ = m.privacy_guarantee_ = None
        m.encoder_ = table_encoder_from_stats(m, stats)
        m.device_ = torch.device("cpu")
        m.layout_ = SpanLayout(m.encoder_.spans, m.device_)

    def to(self, device: torch.device) -> None:

        m = self.model
        m.device_ = device
        m.layout_ = SpanLayout(m.encoder_.spans, device)
        for module in self.trained().values():
            module.to(device)

    def encode(self, frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        return self.model.encoder_.transform(frame, rng)

    def row_bytes(self, stats: EncoderStats) -> int:
        return 4 * self.model.encoder_.output_dim

    def finish(self, history: dict[str, Any]) -> None:

        m = self.model
        for module in self.weights().values():
            module.eval()
        m._record(TrainingHistory(epochs=history["epochs"], stop_reason=history["stop_reason"],
                                  best_epoch=history["best_epoch"], seconds=history["seconds"], steps=history["steps"],
                                  rows_seen=history["rows_seen"]))


class _VaeLoss(nn.Module):
    """The VAE's training loss (loss_factor · reconstruction + KL) as one forward pass."""

    def __init__(self, vae: Any, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, vae.decoder_
        self.vae = vae

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        recon, kl = self.vae._loss(self.encoder, x, noise)
        return self.vae.loss_factor * recon + kl


class VaeRecipe(_NeuralRecipe):
    kinds = ("vae",)

    def prepare(self, stats: EncoderStats) -> None:

        super().prepare(stats)
        m = self.model
        m._build_modules({})
        self.encoder_net = Encoder(m.layout_.dim, m.encoder_dims, m.latent_dim)

    @property
    def validation_fraction(self) -> float:
        return float(self.model.validation_fraction or (0.1 if self.model.patience is not None else 0.0))

    def weights(self) -> dict[str, nn.Module]:
        return {"decoder": self.model.decoder_}

    def trained(self) -> dict[str, nn.Module]:
        return {"decoder": self.model.decoder_, "encoder": self.encoder_net}

    def loss_module(self) -> nn.Module:
        return _VaeLoss(self.model, self.encoder_net)

    def optimizers(self, module: nn.Module) -> list[Any]:
        return [torch.optim.Adam(module.parameters(), lr=self.model.lr, weight_decay=self.model.weight_decay)]

    def step(self, module: nn.Module, optimizers: list[Any], x: torch.Tensor) -> dict[str, float]:
        m, opt = self.model, optimizers[0]
        loss = module(x, torch.randn(len(x), m.latent_dim, device=x.device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if m.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(module.parameters(), m.grad_clip)
        opt.step()
        with torch.no_grad():
            m.decoder_.sigma.clamp_(0.01, 1.0)
        return {"loss": float(loss.detach())}

    def val_loss(self, module: nn.Module, x: torch.Tensor) -> float:
        return float(module(x, None))


class _CriticLoss(nn.Module):
    """The critic's WGAN-GP loss as one forward pass (so DistributedDataParallel syncs its gradients)."""

    def __init__(self, critic: nn.Module) -> None:
        super().__init__()
        self.critic = critic

    def forward(self, real: torch.Tensor, fake: torch.Tensor, weight: float) -> torch.Tensor:
        loss, penalty = self.critic.wgan_gp_loss(real, fake, weight)
        return torch.stack([loss, penalty])


class _GanModules(nn.Module):
    """Generator and critic side by side: DistributedDataParallel wraps each (see :meth:`GanRecipe.step`)."""

    def __init__(self, generator: nn.Module, critic: nn.Module) -> None:
        super().__init__()
        self.generator, self.critic = generator, critic


class GanRecipe(_NeuralRecipe):
    kinds = ("gan",)

    def prepare(self, stats: EncoderStats) -> None:

        super().prepare(stats)
        m = self.model
        spans = m.encoder_.category_spans
        m.cond_ = CondSampler(spans, [np.asarray(m.encoder_.encoder(s.column).counts, dtype=np.float64) for s in spans])
        m._build_modules({})
        self.critic = Critic(m.layout_.dim + m.cond_.dim, m.critic_dims, m.pac)
        self.min_batch = m.pac  # the critic judges packs of pac rows

    @property
    def validation_fraction(self) -> float:
        return 0.0

    def weights(self) -> dict[str, nn.Module]:
        return {"generator": self.model.generator_}

    def trained(self) -> dict[str, nn.Module]:
        return {"generator": self.model.generator_, "critic": self.critic}

    def loss_module(self) -> nn.Module:
        return _GanModules(self.model.generator_, self.critic)

    def wrap(self, module: nn.Module, wrap: Any) -> nn.Module:
        """Each network is wrapped on its own: they are updated by separate backward passes."""
        return _GanModules(wrap(module.generator), wrap(_CriticLoss(module.critic)))

    def optimizers(self, module: nn.Module) -> list[Any]:
        m = self.model
        opt_g = torch.optim.Adam(m.generator_.parameters(), lr=m.lr, betas=(0.5, 0.9), weight_decay=m.weight_decay)
        opt_d = torch.optim.Adam(self.critic.parameters(), lr=m.lr, betas=(0.5, 0.9), weight_decay=m.weight_decay)
        self.updates = 0
        return [opt_g, opt_d]

    def _conditioned(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(real rows resampled by CTGAN's conditional weights, their conditional vectors); see the module docstring."""
        cond_sampler = self.model.cond_
        n, dev = len(x), x.device
        if not cond_sampler.dim:
            return x, x[:, :0]
        spans = cond_sampler.spans
        codes = torch.stack([x[:, s.start:s.stop].argmax(dim=1) for s in spans], dim=1)  # (n, columns)
        col = torch.randint(0, len(spans), (n,), device=dev)
        cat = codes.gather(1, col[:, None])[:, 0]
        if not hasattr(self, "_ratio"):
            counts = [cond_sampler.counts[o:o + w] for o, w in zip(cond_sampler.offsets, cond_sampler.widths)]
            ratio = np.zeros((len(spans), int(cond_sampler.widths.max())))
            for i, c in enumerate(counts):  # once per column
                train = np.log1p(c) / max(np.log1p(c).sum(), 1e-12)
                ratio[i, : len(c)] = np.where(c > 0, train / np.maximum(c / max(c.sum(), 1), 1e-12), 0.0)
            self._ratio = torch.tensor(ratio, dtype=torch.float32)
            self._offsets = torch.from_numpy(cond_sampler.offsets)
        weight = self._ratio.to(dev)[col, cat]
        pick = torch.multinomial(weight, n, replacement=True) if float(weight.sum()) > 0 else torch.arange(n, device=dev)
        cond = torch.zeros((n, cond_sampler.dim), device=dev)
        cond[torch.arange(n, device=dev), (self._offsets.to(dev)[col] + cat)[pick]] = 1.0
        return x[pick], cond

    def step(self, module: nn.Module, optimizers: list[Any], x: torch.Tensor) -> dict[str, float]:
        m = self.model
        opt_g, opt_d = optimizers
        gen, critic_loss = module.generator, module.critic
        critic = critic_loss.module.critic if hasattr(critic_loss, "module") else critic_loss.critic
        rows = (len(x) // m.pac) * m.pac
        real, cond = self._conditioned(x[:rows])
        z = torch.randn(rows, m.embedding_dim, device=x.device)
        zc = torch.cat([z, cond], dim=1)
        logits = gen(zc)
        fake = m.layout_.activate(logits, tau=m.tau)
        weight = 10.0 * m.penalty_every if self.updates % m.penalty_every == 0 else 0.0
        self.updates += 1
        losses = critic_loss(torch.cat([real, cond], 1), torch.cat([fake.detach(), cond], 1), weight)
        opt_d.zero_grad(set_to_none=True)
        losses.sum().backward()
        opt_d.step()
        critic.requires_grad_(False)
        loss_g = -critic(torch.cat([fake, cond], 1)).mean()
        critic.requires_grad_(True)
        cond_loss = torch.zeros((), device=x.device)
        if m.cond_.dim:
            target = torch.zeros_like(logits)
            positions = torch.cat([torch.arange(s.start, s.stop) for s in m.cond_.spans]).to(x.device)
            target[:, positions] = cond
            cond_loss = m.layout_.cross_entropy(logits, target).mean()
        opt_g.zero_grad(set_to_none=True)
        (loss_g + cond_loss).backward()
        opt_g.step()
        return {"loss_g": float(loss_g.detach()), "loss_d": float(losses[0].detach()), "cond": float(cond_loss.detach())}

    def val_loss(self, module: nn.Module, x: torch.Tensor) -> float:
        raise ConfigError("gan has no validation loss")
