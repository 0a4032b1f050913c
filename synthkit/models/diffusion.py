"""Diffusion model (``diffusion``), TabDDPM-class: Gaussian diffusion for numbers, masked diffusion for categories.

Every column is encoded by the shared :class:`~synthkit.transform.table.TableEncoder` with
``numeric_encoding="quantile"``: a number becomes its empirical-CDF position, which we map to a
standard normal score (``z = Φ⁻¹``); a category (and a numeric column's missing flag) becomes a
code. One MLP, given the time ``t ∈ (0, 1]``, the noised numbers and the partly masked codes,
predicts the noise added to the numbers and the original codes:

- numbers: ``z_t = √ᾱ(t) z + √(1 - ᾱ(t)) ε`` with the cosine schedule; loss = mean squared error on ε;
- categories: absorbing ("masked") diffusion, each code replaced by a mask token with probability
  ``t``; loss = cross-entropy on the masked codes (the simplified objective of masked diffusion
  language models, in place of TabDDPM's multinomial diffusion).

Sampling runs ``sample_steps`` reverse steps over all rows at once (no Python loop over rows):
the numbers take DDPM's ancestral step from the predicted clean value, and each still-masked code
is revealed with probability ``(t - s) / t``, drawn from the predicted distribution. Conditions go
through the base class's rejection sampling. Weights are saved as plain tensors (no pickle).
"""

from __future__ import annotations

import logging
import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from synthkit.errors import ConfigError
from synthkit.models.arm import small_table_schedule
from synthkit.models.chunked import map_chunks
from synthkit.models.nn_base import NeuralSynthesizer
from synthkit.models.registry import register
from synthkit.models.trainer import Trainer

__all__ = ["DenoiserNet", "DiffusionSynthesizer"]

log = logging.getLogger(__name__)
_SAMPLE_CHUNK = 16_384
DEFAULT_EPOCHS = 300  # with epochs=None: this many, or as many as min_steps need
_Z_LIMIT = 5.0  # normal scores are clipped here (a CDF position of 0 or 1 would be infinite)


def alpha_bar(t: torch.Tensor) -> torch.Tensor:
    """Cosine schedule ᾱ(t) (Nichol & Dhariwal), t in [0, 1]: 1 at t = 0, ~0 at t = 1."""
    s = 0.008
    return (torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2 / math.cos(s / (1 + s) * math.pi / 2) ** 2).clamp(1e-5, 1.0)


class DenoiserNet(nn.Module):
    """MLP: (noised numbers, one-hot codes with a mask slot, time features) -> (noise, code logits)."""

    def __init__(self, n_num: int, sizes: list[int], hidden: int, depth: int, dropout: float) -> None:
        super().__init__()
        self.n_num, self.sizes = n_num, list(sizes)
        self.register_buffer("offsets", torch.tensor(np.concatenate([[0], np.cumsum([k + 1 for k in sizes])[:-1]])
                                                     if sizes else [], dtype=torch.long))
        self.register_buffer("mask_ids", torch.tensor(sizes, dtype=torch.long))  # the mask token is code k
        self.embed = nn.Embedding(max(int(sum(k + 1 for k in sizes)), 1), hidden)
        self.num_in = nn.Linear(n_num, hidden) if n_num else None
        self.time = nn.Sequential(nn.Linear(16, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers += [nn.Linear(hidden, hidden), nn.SiLU(), nn.Dropout(dropout)]
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(hidden, n_num + int(sum(sizes)))
        self.register_buffer("freqs", torch.exp(torch.linspace(0.0, math.log(1000.0), 8)))

    def forward(self, z: torch.Tensor, codes: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """(rows, numbers + sum of vocabulary sizes): predicted noise, then each column's code logits."""
        angle = t[:, None] * self.freqs
        h = self.time(torch.cat([torch.sin(angle), torch.cos(angle)], dim=1))
        if self.n_num:
            h = h + self.num_in(z)
        if self.sizes:
            h = h + self.embed(codes + self.offsets).sum(dim=1)
        return self.out(self.body(F.silu(h)))


@register("diffusion")
class DiffusionSynthesizer(NeuralSynthesizer):
    """Gaussian + masked diffusion over the encoded table; see the module docstring.

    ``hidden``/``depth`` size the denoiser, ``sample_steps`` reverse steps at sampling (more is
    slower and usually a little better), training parameters as for the other neural models
    (``epochs``, ``batch_size``, ``max_minutes``, ``patience`` with ``validation_fraction``), and
    as for ``arm``, at least ``min_steps`` optimizer steps on any table (the batch shrinks on small
    tables, the learning rate decays over those steps on a cosine).
    """

    test_params: ClassVar[dict[str, Any]] = {"epochs": 2, "batch_size": 128, "hidden": 32, "depth": 1, "sample_steps": 5,
                                             "min_steps": 0}
    default_learning_rate = 2e-3

    def __init__(self, metadata: Any = None, seed: int | None = 0, tail_quantile: float = 0.0,
                 epochs: int | None = None, batch_size: int = 512, max_minutes: float | None = None,
                 learning_rate: float | None = None, patience: int | None = 30, validation_fraction: float = 0.1,
                 hidden: int = 256, depth: int = 3, dropout: float = 0.0, sample_steps: int = 50,
                 min_steps: int = 3000, rare_min_count: int | None = None,
                 rare_strategy: str = "drop", clip_quantile: float | None = None) -> None:
        super().__init__(metadata=metadata, seed=seed, tail_quantile=tail_quantile, epochs=epochs,
                         batch_size=batch_size, max_minutes=max_minutes, learning_rate=learning_rate,
                         patience=patience, validation_fraction=validation_fraction, device="cpu",
                         numeric_encoding="quantile", rare_min_count=rare_min_count, rare_strategy=rare_strategy,
                         clip_quantile=clip_quantile)
        self.hidden, self.depth, self.dropout = hidden, depth, dropout
        self.sample_steps, self.min_steps = sample_steps, min_steps

    @classmethod
    def _param_names(cls) -> list[str]:  # encoding, grad_clip and device (CPU) are fixed, not parameters
        return [p for p in super()._param_names() if p not in ("numeric_encoding", "max_modes", "grad_clip", "device")]

    def _trainer(self, desc: str | None = None) -> Trainer:
        """Validates the shared training settings (``epochs=None`` is resolved per table at fit)."""
        return Trainer(epochs=self.epochs or DEFAULT_EPOCHS, batch_size=self.batch_size, max_minutes=self.max_minutes,
                       patience=self.patience, device=self.device, seed=self.seed, desc=desc or self.name)

    def _check_params(self) -> None:
        super()._check_params()
        for name in ("hidden", "sample_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        for name in ("depth", "min_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{name} must be an integer >= 0, got {value!r}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout!r}")

    # -- layout helpers ----------------------------------------------------------------------
    def _sizes(self) -> list[int]:
        return [b - a for a, b in self.layout_.softmax_spans]

    def _split_matrix(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(normal scores (n, numbers), codes (n, groups)) of an encoded matrix."""
        v = x[:, self.layout_.value_index].double()
        z = (math.sqrt(2.0) * torch.erfinv(v.clamp(-1 + 1e-7, 1 - 1e-7))).clamp(-_Z_LIMIT, _Z_LIMIT).float()
        codes = [x[:, a:b].argmax(dim=1) for a, b in self.layout_.softmax_spans]
        return z, (torch.stack(codes, dim=1) if codes else torch.zeros(len(x), 0, dtype=torch.long))

    def _build_modules(self, extra: dict[str, Any]) -> None:
        self.net_ = DenoiserNet(len(self.layout_.value_index), self._sizes(), self.hidden, self.depth,
                                self.dropout).to(self.device_)

    def _sampling_modules(self) -> dict[str, nn.Module]:
        return {"net": self.net_}

    def _loss(self, z0: torch.Tensor, c0: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        n = len(z0)
        t = torch.rand(n, generator=generator).clamp_min(1e-3)
        ab = alpha_bar(t)[:, None]
        eps = torch.randn(z0.shape, generator=generator)
        zt = ab.sqrt() * z0 + (1 - ab).sqrt() * eps
        masked = torch.rand(c0.shape, generator=generator) < t[:, None]
        ct = torch.where(masked, self.net_.mask_ids.expand_as(c0), c0)
        out = self.net_(zt, ct, t)
        n_num = self.net_.n_num
        loss = F.mse_loss(out[:, :n_num], eps, reduction="sum") / n if n_num else out.sum() * 0.0
        start = n_num
        for g, k in enumerate(self.net_.sizes):  # one cross-entropy per column (a handful of columns)
            rows = masked[:, g]
            if rows.any():
                loss = loss + F.cross_entropy(out[rows, start:start + k], c0[rows, g], reduction="sum") / n
            start += k
        return loss

    # -- fit ------------------------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame) -> None:
        x = self._prepare(frame).cpu()
        z, codes = self._split_matrix(x)
        self._build_modules({})
        with torch.no_grad():  # code logits start at the log marginal shares: the answer when all is masked
            start = self.net_.n_num
            for g, k in enumerate(self.net_.sizes):
                counts = torch.bincount(codes[:, g], minlength=k).float() + 0.5
                self.net_.out.bias[start:start + k] = torch.log(counts / counts.sum())
                start += k
        train_idx, val_idx = self._split(len(x))
        n_train = len(train_idx)
        batch, lr, epochs = small_table_schedule(n_train, self.batch_size, self.lr, self.epochs, self.min_steps,
                                                 default_epochs=DEFAULT_EPOCHS)
        opt = torch.optim.AdamW(self.net_.parameters(), lr=lr, weight_decay=1e-5)
        trainer = Trainer(epochs=epochs, batch_size=batch, max_minutes=self.max_minutes, patience=self.patience,
                          device="cpu", seed=self.seed, desc=self.name, min_steps=self.min_steps)
        zt, ct = z[torch.from_numpy(train_idx)], codes[torch.from_numpy(train_idx)]
        zv, cv = z[torch.from_numpy(val_idx)], codes[torch.from_numpy(val_idx)]
        val_gen = torch.Generator().manual_seed(int(self.seed or 0) + 7)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(self.min_steps, 1), eta_min=lr / 10)

        def step(idx: torch.Tensor) -> dict[str, float]:
            self.net_.train()
            loss = self._loss(zt[idx], ct[idx])
            trainer.optimize(opt, loss)
            if sched.last_epoch < self.min_steps:
                sched.step()
            return {"loss": float(loss.detach())}

        def validate() -> float:
            self.net_.eval()
            val_gen.manual_seed(int(self.seed or 0) + 7)  # the same noise every epoch: comparable losses
            with torch.no_grad():
                return float(self._loss(zv, cv, val_gen))

        history = trainer.run(n_train, step, validate=validate if len(val_idx) else None, modules=[self.net_])
        self.net_.eval()
        self._record(history)

    # -- sample ------------------------------------------------------------------------------
    @torch.no_grad()
    def _denoise(self, rows: int, gen: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
        net, n_num, sizes = self.net_, self.net_.n_num, self.net_.sizes
        z = torch.randn(rows, n_num, generator=gen)
        codes = net.mask_ids.expand(rows, len(sizes)).clone()
        steps = self.sample_steps
        for i in range(steps, 0, -1):  # a fixed number of whole-batch steps, not a loop over rows
            t, s = i / steps, (i - 1) / steps
            out = net(z, codes, torch.full((rows,), t))
            if n_num:
                ab_t, ab_s = float(alpha_bar(torch.tensor(t))), float(alpha_bar(torch.tensor(s)))
                x0 = ((z - math.sqrt(1 - ab_t) * out[:, :n_num]) / math.sqrt(ab_t)).clamp(-_Z_LIMIT, _Z_LIMIT)
                if i == 1:
                    z = x0
                else:
                    a_t = ab_t / ab_s
                    mean = (math.sqrt(ab_s) * (1 - a_t) * x0 + math.sqrt(a_t) * (1 - ab_s) * z) / (1 - ab_t)
                    z = mean + math.sqrt((1 - a_t) * (1 - ab_s) / (1 - ab_t)) * torch.randn(z.shape, generator=gen)
            start = n_num
            for g, k in enumerate(sizes):  # per column, vectorized over rows
                still = codes[:, g] == k
                reveal = still & (torch.rand(rows, generator=gen) < (t - s) / t)
                if reveal.any():
                    probs = torch.softmax(out[reveal, start:start + k], dim=1)
                    codes[reveal, g] = torch.multinomial(probs, 1, generator=gen)[:, 0]
                start += k
        values = (2.0 * torch.special.ndtr(z.double()) - 1.0).float().numpy()
        return values, codes.numpy()

    def _sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        self.net_.eval()

        def chunk(rows: int, chunk_seed: int) -> tuple[np.ndarray, np.ndarray]:
            return self._denoise(rows, torch.Generator().manual_seed(chunk_seed))

        parts = map_chunks(n, _SAMPLE_CHUNK, int(rng.integers(0, 2**62)), chunk)
        return self.encoder_.reverse_codes(np.concatenate([v for v, _ in parts]), np.concatenate([c for _, c in parts]), rng)
