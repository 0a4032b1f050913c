"""DP-SGD through opacus: Poisson batches, per-row clipping + Gaussian noise, a hard budget stop.

Why not the shared :class:`~synthkit.models.trainer.Trainer`: its fixed-size shuffled batches and
validation-based early stopping do not match the Poisson-sampling RDP analysis (and validation
loss would be a non-private read), so DP models drive this small loop instead. opacus provides
per-sample clipping by ghost clipping (``GradSampleModuleFastGradientClipping``: per-row gradient
norms without materializing per-row gradients, then a second backward pass on the re-weighted
loss — several times faster than per-sample gradients for wide one-hot layers) and the noise step
(``DPOptimizerFastGradientClipping``, seeded through its ``generator``); the steps are charged to a :class:`PrivacyLedger`, whose ε is
opacus' ``RDPAccountant`` ε for the same history (plus ρα for the zCDP preprocessing).

The number of steps is fixed before training from the budget: :func:`max_steps_within` gives the
largest T whose ε fits, and :meth:`DPSGD.step` refuses to take a step that would overspend.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from opacus.grad_sample import GradSampleModuleFastGradientClipping
from opacus.optimizers import DPOptimizerFastGradientClipping
from opacus.utils.fast_gradient_clipping_utils import DPTensorFastGradientClipping
from torch import nn

from synthkit.errors import ConfigError, ModelError
from synthkit.privacy.accounting import RDP_INTEGER_ORDERS, PrivacyLedger, rdp_epsilon

__all__ = ["DPSGD", "DPTrainingRun", "calibrate_noise", "max_steps_within", "planned_steps", "poisson_batch", "train_dp_sgd"]

log = logging.getLogger(__name__)


def calibrate_noise(epsilon: float, delta: float, sample_rate: float, steps: int, rho: float = 0.0) -> float:
    """Smallest noise multiplier σ (to 0.1 %) with ε(σ, q, T) + preprocessing ρ ≤ ``epsilon``.

    Searched on integer RDP orders (fast); the full order grid can only give a smaller ε, so the
    σ found is safe for the accountant that records the spend.
    """
    def eps(sigma: float) -> float:
        return rdp_epsilon([(sigma, sample_rate, steps)], delta, rho, RDP_INTEGER_ORDERS)[0]

    if rdp_epsilon([], delta, rho, RDP_INTEGER_ORDERS)[0] >= epsilon:
        raise ConfigError(f"epsilon={epsilon} is already spent by DP preprocessing; raise epsilon or give public bounds/categories")
    lo, hi = 0.05, 1.0
    while eps(hi) > epsilon:
        lo, hi = hi, hi * 2
        if hi > 1e4:
            raise ConfigError(f"no noise level meets epsilon={epsilon} for {steps} steps at sampling rate {sample_rate:.3g}")
    while (hi - lo) / hi > 1e-3:
        mid = (lo + hi) / 2
        if eps(mid) > epsilon:
            lo = mid
        else:
            hi = mid
    return hi


def max_steps_within(ledger: PrivacyLedger, noise_multiplier: float, sample_rate: float, limit: int) -> int:
    """Largest T ≤ ``limit`` such that T more steps keep the ledger within its ε."""
    def fits(t: int) -> bool:
        return t == 0 or ledger.epsilon_spent([(noise_multiplier, sample_rate, t)]) <= ledger.epsilon

    if fits(limit):
        return limit
    lo, hi = 0, limit  # fits(lo) and not fits(hi); ε grows with T
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo


def poisson_batch(n_rows: int, sample_rate: float, rng: np.random.Generator) -> np.ndarray:
    """Row indices of one Poisson-sampled batch (each row in with probability ``sample_rate``)."""
    return np.flatnonzero(rng.random(n_rows) < sample_rate)


class DPSGD:
    """Wrap ``module`` and ``optimizer`` for DP-SGD (clipping without noise when ``ledger`` is None)."""

    def __init__(self, module: nn.Module, optimizer: torch.optim.Optimizer, ledger: PrivacyLedger | None,
                 noise_multiplier: float, max_grad_norm: float, sample_rate: float, expected_batch_size: int,
                 seed: int, allowed_steps: int | None = None) -> None:
        self.ledger = ledger
        self.noise_multiplier = float(noise_multiplier)
        self.sample_rate = float(sample_rate)
        self.allowed_steps = allowed_steps  # None: found from the ledger at the first step
        self.max_grad_norm = float(max_grad_norm)
        if ledger is None:  # the ε = ∞ reference keeps the per-row clipping, without noise
            self.noise_multiplier = 0.0
        self.module: nn.Module = GradSampleModuleFastGradientClipping(
            module, max_grad_norm=self.max_grad_norm, use_ghost_clipping=True, loss_reduction="mean")
        generator = torch.Generator()
        generator.manual_seed(int(seed))
        self.optimizer: torch.optim.Optimizer = DPOptimizerFastGradientClipping(
            optimizer, noise_multiplier=self.noise_multiplier, max_grad_norm=self.max_grad_norm,
            expected_batch_size=int(expected_batch_size), loss_reduction="mean", generator=generator)

    def charge_empty_step(self) -> None:
        """An empty Poisson batch: nothing to learn, but the step is accounted (conservatively)."""
        if self.ledger is not None:
            self.ledger.sgd_step(self.noise_multiplier, self.sample_rate)
            if self.allowed_steps is not None:
                self.allowed_steps -= 1

    def step(self, loss_per_row: torch.Tensor) -> None:
        """(clip per row + noise) gradient step on ``loss_per_row`` (batch,), then charge the ledger.

        Refuses (ModelError) a step that would overspend the budget.
        """
        if self.ledger is not None:
            if self.allowed_steps is None:  # ε grows with the steps: find once how many the budget allows
                self.allowed_steps = max_steps_within(self.ledger, self.noise_multiplier, self.sample_rate, 10**7)
            if self.allowed_steps <= 0:
                spent = self.ledger.epsilon_spent([(self.noise_multiplier, self.sample_rate, 1)])
                raise ModelError(f"DP-SGD step refused: it would spend ε={spent:.4g} > budget ε={self.ledger.epsilon}")
            self.allowed_steps -= 1
        self.optimizer.zero_grad(set_to_none=True)
        with warnings.catch_warnings():  # opacus' hooks warn when the inputs need no gradient (ours never do)
            warnings.filterwarnings("ignore", message="Full backward hook is firing")
            DPTensorFastGradientClipping(self.module, self.optimizer, loss_per_row, "mean").backward()
        self.optimizer.step()
        if self.ledger is not None:
            self.ledger.sgd_step(self.noise_multiplier, self.sample_rate)

    def close(self) -> None:
        """Remove opacus' hooks so the bare module can be saved and used for sampling."""
        if isinstance(self.module, GradSampleModuleFastGradientClipping):
            self.module._close()


def planned_steps(n_rows: int, batch_size: int, epochs: int) -> tuple[float, int]:
    """(sampling rate, steps) for ``epochs`` passes with expected batch ``batch_size``."""
    q = min(1.0, batch_size / n_rows)
    return q, max(1, math.ceil(epochs / q))


@dataclass
class DPTrainingRun:
    """What :func:`train_dp_sgd` did: the noise, the steps taken and why it stopped.

    ``losses`` are exact mean losses on real rows (not DP): diagnostics kept in memory, never saved.
    """

    noise_multiplier: float
    sample_rate: float
    steps: int
    planned_steps: int
    stop_reason: str  # "epochs" | "budget" | "time"
    losses: list[float] = field(default_factory=list)


def train_dp_sgd(module: nn.Module, optimizer: torch.optim.Optimizer, ledger: PrivacyLedger | None,
                 per_row_loss: Callable[[nn.Module, torch.Tensor], torch.Tensor], n_rows: int, batch_size: int,
                 epochs: int, max_grad_norm: float, noise_multiplier: float | None, seed: int,
                 rng: np.random.Generator, max_seconds: float | None = None,
                 after_step: Callable[[], None] | None = None) -> DPTrainingRun:
    """Poisson batches → ``per_row_loss(wrapped module, row indices)`` → clipped, noised step.

    The shared loop of every DP-SGD model (the module holds every trainable network whose
    gradients see real rows: a VAE's encoder + decoder, a GAN's critic). With ``noise_multiplier``
    None, σ is calibrated so that ``epochs`` expected passes spend exactly the budget left after
    preprocessing; with an explicit σ the run stops as soon as the next step would overspend
    (``stop_reason == "budget"``). ``ledger`` None = clipping without noise (the ε = ∞ reference).
    The time limit only shortens the run (fewer steps, less ε); it never adds steps.
    ``after_step`` runs after every DP step: a GAN's generator update, which sees real rows only
    through the DP-trained critic (post-processing, no extra ε).
    """
    q, planned = planned_steps(n_rows, batch_size, epochs)
    sigma, steps = 0.0, planned
    if ledger is not None:
        sigma = float(noise_multiplier) if noise_multiplier is not None else \
            calibrate_noise(ledger.epsilon, ledger.conversion_delta, q, planned, ledger.rho)
        steps = max_steps_within(ledger, sigma, q, planned)
        if steps == 0:
            raise ConfigError(f"noise_multiplier={sigma} is too small: one DP-SGD step would exceed epsilon={ledger.epsilon}")
    sgd = DPSGD(module, optimizer, ledger, sigma, float(max_grad_norm), q, batch_size, seed, allowed_steps=steps)
    losses: list[float] = []
    start = time.perf_counter()
    taken, reason = 0, "epochs" if steps == planned else "budget"
    try:
        for _ in range(steps):
            if max_seconds is not None and time.perf_counter() - start > max_seconds:
                reason = "time"
                break
            idx = poisson_batch(n_rows, q, rng)
            taken += 1
            if len(idx) == 0:  # probability (1-q)^n
                sgd.charge_empty_step()
                continue
            per_row = per_row_loss(sgd.module, torch.from_numpy(idx))
            sgd.step(per_row)
            losses.append(float(per_row.detach().mean()))
            if after_step is not None:
                after_step()
    finally:
        sgd.close()
    if reason == "budget":
        log.info("DP-SGD: privacy budget spent after %d of %d planned steps; training stopped", taken, planned)
    return DPTrainingRun(noise_multiplier=sigma, sample_rate=q, steps=taken, planned_steps=planned,
                         stop_reason=reason, losses=losses)
