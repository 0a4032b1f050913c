"""Differential privacy mechanisms: accounting, DP preprocessing and the guarantee in words.

Layering: these are mechanisms, not models. They import nothing of synthkit above ``errors``, so they
sit below ``models``; the model code that uses them (``DPModelMixin`` in :mod:`synthkit.models.dp`,
``DPNeuralMixin`` in :mod:`synthkit.models.dp_neural`: the DP path of ``vae``/``gan`` with
``epsilon=...``) lives in ``models``.

- :mod:`~synthkit.privacy.accounting`: zCDP ↔ (ε, δ) conversions, the RDP sum with opacus'
  DP-SGD analysis, and :class:`PrivacyLedger` (what one model spent).
- :mod:`~synthkit.privacy.mechanisms`: Gaussian counts, thresholded category sets, DP bounds,
  the exponential mechanism.
- :mod:`~synthkit.privacy.preprocess`: :class:`DPDiscretizer`, columns → codes over DP domains.
- :mod:`~synthkit.privacy.dpsgd`: the DP-SGD loop (needs ``opacus``: ``pip install synthkit[dp]``).
- :func:`describe_guarantee`: the sentence a report prints next to the empirical attacks;
  :func:`dp_metrics` packs guarantee + sentence for ``metrics["privacy"]["dp"]``.

DP models (``dp-marginals``, ``dp-vae``, ``vae`` with ``epsilon``) expose ``privacy_guarantee_`` = {"epsilon", "delta",
"mechanism", "accountant", "epsilon_spent", ...}; it is saved in the model file.
"""

from synthkit.privacy.accounting import (
    PrivacyLedger,
    cdp_eps,
    cdp_rho,
    default_delta,
    rdp_epsilon,
)
from synthkit.privacy.guarantee import describe_guarantee, dp_metrics, mia_auc_bound
from synthkit.privacy.preprocess import DPDiscretizer

__all__ = ["DPDiscretizer", "PrivacyLedger", "cdp_eps", "cdp_rho", "default_delta", "describe_guarantee", "dp_metrics",
           "mia_auc_bound", "rdp_epsilon"]
