"""Differentially private training on Ray (``epsilon=``): DP domains from merged counts, DP-SGD across workers.

The in-process DP path (:mod:`synthkit.models.dp_neural`) is the reference; on a cluster:

1. **Domains.** The :class:`~synthkit.privacy.preprocess.DPDiscretizer` reads data only through
   counts (:mod:`synthkit.privacy.tally`): one pass sums every batch's category counts and ±2^k
   bucket counts, the bounds are released, a second pass sums the fine-grid counts. The release is
   the one a single process would make of the same rows with the same seed (same counts, same
   noise), charged ``preprocessing_share`` of the budget as there.
2. **Plan.** Sampling rate q = batch_size / N and T = ⌈epochs / q⌉ steps as in-process; the noise
   multiplier σ is calibrated with the same accountant (opacus' RDP analysis plus the zCDP
   preprocessing), or, given, the steps are cut to what the budget allows. Steps run in windows of
   W steps: one pass over each worker's shard per window gathers the window's Poisson batches
   (about ``DP_WINDOW_ROWS`` rows per worker held at a time), so memory does not grow with the data.
3. **Steps** (:mod:`synthkit.engine.train_dp_loop`): each row is in each step's batch independently
   with probability q; each worker clips its rows' gradients to ``max_grad_norm``, the sums are
   all-reduced, Gaussian noise N(0, σ²C²) is added once (every worker draws the same noise from the
   step's seed) and the result divided by the expected batch q·N.
4. **Accounting.** The steps taken live in each checkpoint beside the weights they produced; a
   restarted run resumes from the last checkpoint and replays the interrupted window with the same
   batches and noise, so every step is charged exactly once: the ε of a resumed run is the ε of
   an uninterrupted one. The guarantee goes into ``privacy_guarantee_`` as in-process.

Models: ``vae`` and ``gan`` with ``epsilon=`` (or ``dp=True``), and ``dp-vae``. Exact training losses on real
rows are not DP: they are not checkpointed or reported.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from synthkit.engine.train_recipes import Recipe
from synthkit.errors import ConfigError
from synthkit.models.condvec import CondSampler
from synthkit.models.dp_neural import code_spans
from synthkit.models.gan import Critic
from synthkit.models.nn_base import SpanLayout
from synthkit.models.vae import Encoder, _DPNet
from synthkit.privacy.accounting import PrivacyLedger
from synthkit.privacy.tally import domain_tally, grid_tally, merge_tallies

__all__ = ["DP_WINDOW_ROWS", "DpGanRecipe", "DpVaeRecipe", "dp_finish", "dp_prepare"]

log = logging.getLogger(__name__)
DP_WINDOW_ROWS = 500_000  # sampled rows one worker holds for a window of steps (encoded codes: ~8 B per column)


class DpVaeRecipe(Recipe):
    """``vae`` / ``dp-vae`` with DP: one softmax group per released column; encoder + decoder clipped per row."""

    kinds = ("vae", "dp-vae")
    dtype = torch.int64
    dp = True
    randomness = "error"  # torch.func.vmap: the per-row loss draws no random numbers of its own

    def prepare_dp(self) -> None:
        """The networks over the released domains (after :func:`dp_prepare`), seeded as in-process."""
        m = self.model
        m._build_modules({})
        m.decoder_.sigma.requires_grad_(False)  # no scalar outputs with DP: σ is unused (and not a DP output)
        self.encoder_net = Encoder(m.layout_.dim, m.encoder_dims, m.latent_dim)
        self.net = _DPNet(self.encoder_net, m.decoder_)

    def weights(self) -> dict[str, nn.Module]:
        return {"decoder": self.model.decoder_}

    def trained(self) -> dict[str, nn.Module]:
        return {"decoder": self.model.decoder_, "encoder": self.encoder_net}

    def to(self, device: torch.device) -> None:
        m = self.model
        m.device_ = device
        m.layout_ = SpanLayout(code_spans(m.discretizer_), device)
        for module in self.trained().values():
            module.to(device)

    @property
    def validation_fraction(self) -> float:
        return 0.0  # a validation loss would be a read of real rows outside the budget

    def row_bytes(self, stats: Any) -> int:
        return 8 * len(self.model.discretizer_.names)

    def encode(self, frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        return self.model.discretizer_.encode(frame[self.model.discretizer_.names], rng)

    def dp_module(self) -> nn.Module:
        """Every network whose gradients see real rows (clipped per row together)."""
        return self.net

    def dp_optimizer(self, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=self.model.lr, weight_decay=self.model.weight_decay)

    def extra_optimizers(self) -> list[torch.optim.Optimizer]:
        """Optimizers of networks updated after each DP step (post-processing); checkpointed too."""
        return []

    def step_inputs(self, codes: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(rows clipped one by one, per-row extra input): one-hot rows and their latent noise."""
        x = self.model._dp_one_hot(codes)
        return x, torch.randn((len(x), int(self.model.latent_dim)), generator=generator).to(x.device)

    def after_step(self, generator: torch.Generator) -> None:
        """Work after each DP step that reads no real row (nothing for the VAE)."""

    def row_loss(self, call: Callable[..., Any], x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """(rows,) the in-process DP loss: loss_factor · cross-entropy of the codes + KL."""
        logits, mu, logvar = call(x, noise)
        kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)
        return self.model.loss_factor * self.model.layout_.cross_entropy(logits, x) + kl

    def finish(self, history: dict[str, Any]) -> None:
        self.model.decoder_.eval()


def dp_prepare(model: Any, recipe: DpVaeRecipe, eng: Any, source: Any, frame_of: Callable[[Any], pd.DataFrame],
               names: list[str], world: int) -> tuple[PrivacyLedger | None, dict[str, Any]]:
    """Release the domains from merged counts, open the ledger and plan the steps (see the module docstring)."""
    from synthkit.privacy.dpsgd import calibrate_noise, max_steps_within, planned_steps  # opacus: extra [dp]

    schema = model.schema_
    cats = [c for c in names if c in set(schema.categorical_names)]
    nums = [c for c in names if c not in cats]

    def tally(batch: Any) -> dict[str, Any]:
        return domain_tally(frame_of(batch), nums, cats)

    counts = merge_tallies(eng.map_batches(source, tally))
    n_rows = int(counts["rows"])
    if n_rows == 0:
        raise ConfigError(f"{model.name}: no training rows to fit on")

    def count_grids(grids: dict[str, Any]) -> dict[str, Any]:
        return merge_tallies(eng.map_batches(source, lambda batch: grid_tally(frame_of(batch), grids)))

    ledger, _ = model._dp_open(n_rows, lambda d, *args: d.fit_tallies(names, cats, counts, count_grids, *args))
    model.n_training_rows_ = n_rows
    q, planned = planned_steps(n_rows, int(model.batch_size), int(model.epochs))
    sigma, steps = 0.0, planned
    if ledger is not None:
        sigma = float(model.noise_multiplier) if model.noise_multiplier is not None else \
            calibrate_noise(ledger.epsilon, ledger.conversion_delta, q, planned, ledger.rho)
        steps = max_steps_within(ledger, sigma, q, planned)
        if steps == 0:
            raise ConfigError(f"noise_multiplier={sigma} is too small: one DP-SGD step would exceed epsilon={ledger.epsilon}")
    per_step = q * n_rows / world  # expected sampled rows per worker and step
    window = max(1, min(math.ceil(1 / q), int(DP_WINDOW_ROWS // max(per_step, 1.0))))
    plan = {"sigma": sigma, "q": q, "steps": steps, "planned": planned, "window": window, "n_rows": n_rows,
            "max_grad_norm": float(model.max_grad_norm), "expected_batch": q * n_rows}
    log.info("%s on Ray with DP: N=%d, q=%.4g, σ=%.4g, %d steps (%d planned) in windows of %d", model.name, n_rows, q,
             sigma, steps, planned, window)
    return ledger, plan


def dp_finish(model: Any, ledger: PrivacyLedger | None, plan: dict[str, Any], loop: dict[str, Any]) -> None:
    """Charge the steps the final checkpoint took (each once) and record the guarantee."""
    taken = int(loop["steps"])
    if ledger is not None:
        ledger.sgd_step(plan["sigma"], plan["q"], taken)
    reason = "time" if loop["stop_reason"] == "time" else ("epochs" if plan["steps"] == plan["planned"] else "budget")
    model._dp_record(ledger, plan["sigma"], taken, reason, [])


class DpGanRecipe(DpVaeRecipe):
    """``gan`` with DP: the critic is trained by DP-SGD on real rows and as many generated rows (each
    clipped on its own), the generator follows each step against the DP critic (post-processing), as
    in-process (:meth:`synthkit.models.gan.TabularGAN._fit_dp`)."""

    kinds = ("gan",)
    randomness = "different"  # the critic's dropout: a mask per row (from the step's seeded global generator)

    def prepare_dp(self) -> None:
        m = self.model
        m.cond_ = CondSampler([], [])  # no conditional vector with DP
        m._build_modules({})
        self.critic = Critic(m.layout_.dim, m.critic_dims, pac=1)

    def weights(self) -> dict[str, nn.Module]:
        return {"generator": self.model.generator_}

    def trained(self) -> dict[str, nn.Module]:
        return {"generator": self.model.generator_, "critic": self.critic}

    def dp_module(self) -> nn.Module:
        return self.critic

    def dp_optimizer(self, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=self.model.lr, betas=(0.5, 0.9))

    def extra_optimizers(self) -> list[torch.optim.Optimizer]:
        m = self.model
        self.opt_g = m._adam(m.generator_.parameters(), betas=(0.5, 0.9), weight_decay=m.weight_decay)
        return [self.opt_g]

    def _fake(self, n: int, generator: torch.Generator) -> torch.Tensor:
        m = self.model
        dev = m.device_
        z = torch.randn((n, m.embedding_dim), generator=generator).to(dev)
        return m.layout_.activate(m.generator_(z), tau=m.tau, generator=generator if dev.type == "cpu" else None)

    def step_inputs(self, codes: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Real one-hot rows and as many generated rows; per row +1 (real) or -1 (generated)."""
        real = self.model._dp_one_hot(codes)
        with torch.no_grad():
            fake = self._fake(len(real), generator)
        sign = torch.cat([torch.ones(len(real)), -torch.ones(len(real))])[:, None].to(real.device)
        return torch.cat([real, fake]), sign

    def row_loss(self, call: Callable[..., Any], x: torch.Tensor, sign: torch.Tensor) -> torch.Tensor:
        """The critic's cross-entropy per row: softplus(-score) on real rows, softplus(score) on generated ones."""
        return F.softplus(-sign[:, 0] * call(x)[:, 0])

    def after_step(self, generator: torch.Generator) -> None:
        """Non-saturating generator step against the DP critic (reads no real row: no ε)."""
        m = self.model
        self.critic.requires_grad_(False)
        try:
            loss = F.softplus(-self.critic(self._fake(int(m.batch_size), generator))[:, 0]).mean()
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_g.step()
        finally:
            self.critic.requires_grad_(True)

    def finish(self, history: dict[str, Any]) -> None:
        self.model.generator_.eval()
