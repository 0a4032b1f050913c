"""The guarantee in plain words, for reports and privacy officers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["describe_guarantee", "dp_metrics", "mia_auc_bound"]

_MECHANISMS = {
    "dp-sgd": "the neural network was trained with DP-SGD (per-row gradient clipping plus Gaussian noise, opacus)",
    "mst": "the synthesizer was built only from noisy 1- and 2-way marginals (MST: Gaussian noise, zCDP)",
}


def _fmt(value: float) -> str:
    if value >= 0.01:
        return f"{value:.3g}"
    return f"{value:.0e}".replace("e-0", "e-")


def mia_auc_bound(epsilon: float, delta: float) -> float:
    """Highest ROC AUC any membership-inference attack can reach against an (ε, δ)-DP release.

    (ε, δ)-DP caps an attack's true-positive rate at every false-positive rate x by
    min(1, e^ε x + δ, 1 − e^−ε (1 − δ − x)) (Kairouz et al., 2015); the AUC bound is the area
    under that curve (numerically, on a fine grid). It puts the guarantee on the same scale as the
    empirical attack: 0.5 means no attack can do better than guessing.
    """
    x = np.linspace(0.0, 1.0, 200_001)
    e = math.exp(min(float(epsilon), 700.0))
    tpr = np.minimum.reduce([np.ones_like(x), e * x + delta, 1.0 - (1.0 - delta - x) / e])
    return float(np.clip(np.trapezoid(np.clip(tpr, 0.0, 1.0), x), 0.5, 1.0))


def describe_guarantee(g: dict[str, Any] | None) -> str:
    """One or two sentences stating what the (ε, δ) guarantee of a fitted model means.

    ``g`` is a model's ``privacy_guarantee_`` (``None`` for a model trained without DP).
    """
    if not g or g.get("epsilon") is None or not math.isfinite(float(g["epsilon"])):
        return ("No formal differential-privacy guarantee: this model was trained without DP; "
                "only the empirical attack results below speak to its privacy.")
    eps, delta = float(g["epsilon"]), float(g["delta"])
    spent = float(g.get("epsilon_spent", eps))
    mech = g.get("mechanism", "")
    how = _MECHANISMS.get(mech, f"mechanism {mech}" if mech else "a differentially private mechanism")
    accountant = g.get("accountant")
    text = (f"({_fmt(eps)}, {_fmt(delta)})-differential privacy: adding or removing any one person's row changes "
            f"the probability of any synthetic output by at most a factor of e^{_fmt(eps)} ≈ {math.exp(min(eps, 50)):.3g}, "
            f"except with probability {_fmt(delta)}. {how[0].upper()}{how[1:]}; "
            f"the privacy budget actually spent is ε = {spent:.3g}")
    if accountant:
        text += f" ({accountant} accountant)"
    text += f". Hence no membership-inference attack can reach an AUC above {mia_auc_bound(eps, delta):.3f}"
    text += (". Category sets, numeric ranges and bins were taken from public metadata or released with a share "
             "of the same budget; the number of rows and the column schema are treated as public.")
    return text


def dp_metrics(model: Any) -> dict[str, Any] | None:
    """``metrics["privacy"]["dp"]`` for a fitted model: its guarantee plus the sentence, or None.

    None when the model has no ``privacy_guarantee_`` (not a DP model, or fitted with ``epsilon=None``).
    """
    g = getattr(model, "privacy_guarantee_", None)
    if not g:
        return None
    keys = ("epsilon", "delta", "mechanism", "accountant", "epsilon_spent")
    return {**{k: g[k] for k in keys if k in g}, "mia_auc_bound": mia_auc_bound(float(g["epsilon"]), float(g["delta"])),
            "statement": describe_guarantee(g)}
