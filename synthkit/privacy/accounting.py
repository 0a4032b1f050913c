"""Privacy accounting: zCDP for histogram releases, RDP (opacus) for DP-SGD, one (ε, δ) at the end.

Why two languages: Gaussian histogram releases (DP preprocessing, MST marginals) compose most
simply in zero-concentrated DP (ρ adds up), while DP-SGD with Poisson sampling needs the Rényi-DP
curve of the subsampled Gaussian mechanism (opacus' ``compute_rdp``). Both meet in RDP: a
ρ-zCDP mechanism is (α, ρα)-RDP for every order α, so :class:`PrivacyLedger` adds ``ρ·α`` to the
DP-SGD curve and converts the sum with opacus' ``get_privacy_spent``. With no DP-SGD steps the
conversion is the tight zCDP → (ε, δ) bound of Canonne, Kamath & Steinke (2020), as in
smartnoise-synth / private-pgm (``cdp_eps``, ``cdp_rho``; hand-written because they are ten lines
and those libraries are not dependencies).

Adjacency is add/remove-one-row throughout (what opacus' Poisson-sampling analysis assumes). The
number of training rows is treated as public (it sets the sampling rate and the default δ).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from synthkit.errors import ConfigError

__all__ = [
    "RDP_ORDERS",
    "PrivacyLedger",
    "cdp_delta",
    "cdp_eps",
    "cdp_rho",
    "default_delta",
    "rdp_epsilon",
    "validate_budget",
]

#: the orders opacus' RDPAccountant uses by default (so our ε equals its ε for the same history)
RDP_ORDERS: list[float] = [1 + x / 10.0 for x in range(1, 100)] + [float(a) for a in range(12, 64)]
#: integer orders only: a fast, conservative (higher ε) curve for searching noise levels
RDP_INTEGER_ORDERS: list[float] = [float(a) for a in range(2, 64)]


def default_delta(n_rows: int) -> float:
    """δ = min(1e-5, 1 / n^1.1): below 1/n, so that "leak one row entirely" is not allowed."""
    if n_rows < 1:
        raise ConfigError("cannot choose a default delta for 0 rows")
    return float(min(1e-5, 1.0 / n_rows**1.1))


def validate_budget(epsilon: Any, delta: Any) -> None:
    """Raise ConfigError for a budget that is not a valid (ε, δ) (``epsilon=None`` = no DP)."""
    if epsilon is not None and (isinstance(epsilon, bool) or not isinstance(epsilon, (int, float))
                                or not math.isfinite(epsilon) or epsilon <= 0):
        raise ConfigError(f"epsilon must be a positive finite number (or None for no differential privacy), got {epsilon!r}")
    if delta is not None and (isinstance(delta, bool) or not isinstance(delta, (int, float)) or not 0 < delta < 1):
        raise ConfigError(f"delta must be a number in (0, 1) (or None for the default 1/n^1.1 capped at 1e-5), got {delta!r}")


def cdp_delta(rho: float, eps: float) -> float:
    """Smallest δ such that ρ-zCDP implies (ε, δ)-DP (Canonne-Kamath-Steinke, Prop. 7)."""
    if rho <= 0:
        return 0.0
    amin, amax = 1.01, (eps + 1) / (2 * rho) + 2
    alpha = amin
    for _ in range(100):  # bisection on the derivative of the bound in α (convex); 100 halvings reach double precision
        alpha = (amin + amax) / 2
        derivative = (2 * alpha - 1) * rho - eps + math.log1p(-1.0 / alpha)
        if derivative < 0:
            amin = alpha
        else:
            amax = alpha
    delta = math.exp((alpha - 1) * (alpha * rho - eps) + alpha * math.log1p(-1 / alpha)) / (alpha - 1.0)
    return min(delta, 1.0)


def cdp_eps(rho: float, delta: float) -> float:
    """Smallest ε such that ρ-zCDP implies (ε, δ)-DP."""
    if rho <= 0:
        return 0.0
    lo, hi = 0.0, rho + 2 * math.sqrt(rho * math.log(1 / delta))
    for _ in range(100):
        mid = (lo + hi) / 2
        if cdp_delta(rho, mid) <= delta:
            hi = mid
        else:
            lo = mid
    return hi


def cdp_rho(eps: float, delta: float) -> float:
    """Largest ρ such that ρ-zCDP implies (ε, δ)-DP (how much Gaussian noise a budget buys)."""
    lo, hi = 0.0, eps + 1
    for _ in range(100):
        mid = (lo + hi) / 2
        if cdp_delta(mid, eps) <= delta:
            lo = mid
        else:
            hi = mid
    return lo * (1 - 1e-12)  # a hair below, so a budget split into parts never sums past it by rounding


def rdp_epsilon(history: Sequence[tuple[float, float, int]], delta: float, rho: float = 0.0,
                orders: Sequence[float] = RDP_ORDERS) -> tuple[float, float]:
    """(ε, best order) of DP-SGD ``history`` [(noise multiplier, sample rate, steps)] plus ρ-zCDP.

    Uses opacus' analysis so that, with ``rho=0``, the result equals ``RDPAccountant`` exactly.
    """
    from opacus.accountants.analysis import rdp as rdp_analysis  # optional extra [dp]

    curve = np.zeros(len(orders))
    for sigma, q, steps in history:
        curve = curve + np.asarray(_rdp_per_step(float(sigma), float(q), tuple(orders))) * steps
    curve = curve + rho * np.asarray(orders, dtype=float)
    if not np.any(curve > 0):
        return 0.0, float(orders[0])
    with warnings.catch_warnings():  # "optimal order is the largest alpha": the bound is valid, just not tightest
        warnings.simplefilter("ignore", UserWarning)
        eps, alpha = rdp_analysis.get_privacy_spent(orders=list(orders), rdp=curve, delta=delta)
    return float(eps), float(alpha)


@lru_cache(maxsize=256)
def _rdp_per_step(sigma: float, q: float, orders: tuple[float, ...]) -> tuple[float, ...]:
    """RDP of one subsampled-Gaussian step; opacus' ``compute_rdp`` is this times ``steps``.

    Cached because the series for fractional orders is slow (~0.1 s) and budgets are searched.
    """
    from opacus.accountants.analysis import rdp as rdp_analysis

    return tuple(float(v) for v in rdp_analysis.compute_rdp(q=q, noise_multiplier=sigma, steps=1, orders=list(orders)))


@dataclass
class PrivacyLedger:
    """Everything charged to one model's budget, in order; converts the total to (ε, δ).

    ``delta_reserved`` is the part of δ spent outright by thresholded releases of an unknown
    category set (a singleton survives the threshold with at most that probability); the rest of δ
    is used for the RDP/zCDP → (ε, δ) conversion.
    """

    epsilon: float
    delta: float
    delta_reserved: float = 0.0
    rho: float = 0.0
    sgd_history: list[tuple[float, float, int]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def conversion_delta(self) -> float:
        return self.delta - self.delta_reserved

    def charge_rho(self, rho: float, what: str) -> None:
        """Record a ρ-zCDP release (a Gaussian histogram, an exponential-mechanism choice)."""
        if rho < 0:
            raise ValueError("rho must be non-negative")
        self.rho += rho
        self.entries.append({"what": what, "rho": rho})

    def reserve_delta(self, delta: float, what: str) -> None:
        self.delta_reserved += delta
        self.entries.append({"what": what, "delta": delta})

    def sgd_step(self, noise_multiplier: float, sample_rate: float, count: int = 1) -> None:
        """``count`` DP-SGD steps (merged with the previous entry when the settings are the same)."""
        if count <= 0:
            return
        if self.sgd_history and self.sgd_history[-1][:2] == (noise_multiplier, sample_rate):
            sigma, q, steps = self.sgd_history[-1]
            self.sgd_history[-1] = (sigma, q, steps + count)
        else:
            self.sgd_history.append((noise_multiplier, sample_rate, count))

    def epsilon_spent(self, extra_steps: Sequence[tuple[float, float, int]] = ()) -> float:
        """ε of everything charged so far (plus hypothetical ``extra_steps``) at the conversion δ."""
        history = list(self.sgd_history) + list(extra_steps)
        if history:
            return rdp_epsilon(history, self.conversion_delta, self.rho)[0]
        spent = cdp_eps(self.rho, self.conversion_delta)
        if spent > self.epsilon and cdp_delta(self.rho, self.epsilon) <= self.conversion_delta:
            return self.epsilon  # bisection rounding above an ε that provably holds
        return spent

    @property
    def sgd_steps(self) -> int:
        return int(sum(steps for _, _, steps in self.sgd_history))

    def guarantee(self, mechanism: str, accountant: str) -> dict[str, Any]:
        """The JSON ``privacy_guarantee_`` of a fitted model."""
        return {
            "epsilon": float(self.epsilon),
            "delta": float(self.delta),
            "mechanism": mechanism,
            "accountant": accountant,
            "epsilon_spent": float(self.epsilon_spent()),
            "rho_preprocessing_and_marginals": float(self.rho),
            "delta_reserved_for_thresholds": float(self.delta_reserved),
            "sgd_history": [[float(s), float(q), int(t)] for s, q, t in self.sgd_history],
            "adjacency": "add/remove one row",
        }
