"""``dp-vae``: the shared ``vae`` with differential privacy on and defaults tuned for DP-SGD.

The model is :class:`~synthkit.models.vae.TabularVAE` with ``dp=True`` (see its module docstring
and :mod:`synthkit.models.dp_neural`): DP-discretized columns (a ``preprocessing_share`` of the
budget, or public ``bounds`` / ``categories``), DP-SGD through opacus with a hard budget stop, the
ε spent recorded in ``privacy_guarantee_`` and the model file. ``epsilon=None`` trains the same
pipeline without noise (the ε = ∞ reference point).

Defaults differ from ``vae``'s (small network ``hidden=64``/``latent=8``, large batches, 30
epochs, learning rate 1e-2, ``max_grad_norm=10`` for a loss summed over columns, reconstruction
weight 1): picked on Adult, where with ``max_grad_norm=1`` or TVAE's sizes the clipped, noised
gradients only learned marginals. DP-SGD needs data: on a few thousand rows and ε ≤ 3 the noise
swamps the pairwise structure, and ``dp-marginals`` is the better choice there (see
``benchmarks/results/dp.md``).
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
from typing import Any, ClassVar

from synthkit.errors import ConfigError
from synthkit.models.registry import register
from synthkit.models.vae import TabularVAE

__all__ = ["DPVAE"]

# Without the optional dependency the registry marks dp-vae unavailable at once. Found, not imported:
# opacus (with torch.distributed) takes ~1.5 s to load, which every `synthkit models` would pay;
# it is imported when a DP model trains.
if importlib.util.find_spec("opacus") is None:
    raise ImportError("dp-vae needs opacus: pip install synthkit[dp]")

log = logging.getLogger(__name__)


@register("dp-vae")
class DPVAE(TabularVAE):
    """``vae`` + DP-SGD with DP defaults; ``hidden``/``latent`` size both networks."""

    test_params: ClassVar[dict[str, Any]] = {"epsilon": 10.0, "epochs": 3, "hidden": 32, "batch_size": 128, "n_bins": 10}

    def __init__(self, metadata: Any = None, seed: int | None = 0, tail_quantile: float = 0.0,
                 epsilon: float | None = 3.0, delta: float | None = None, max_grad_norm: float = 10.0,
                 noise_multiplier: float | None = None, epochs: int = 30, batch_size: int = 1000,
                 learning_rate: float = 1e-2, hidden: int = 64, latent: int = 8, n_bins: int = 20,
                 bounds: dict[str, list[float]] | None = None, categories: dict[str, list[str]] | None = None,
                 preprocessing_share: float = 0.1, max_minutes: float | None = None, device: str = "auto") -> None:
        super().__init__(metadata=metadata, seed=seed, tail_quantile=tail_quantile, epochs=epochs, batch_size=batch_size,
                         learning_rate=learning_rate, max_minutes=max_minutes, device=device,
                         latent_dim=latent, encoder_dims=(hidden, hidden), decoder_dims=(hidden, hidden),
                         loss_factor=1.0, weight_decay=0.0, epsilon=epsilon, delta=delta, max_grad_norm=max_grad_norm,
                         noise_multiplier=noise_multiplier, n_bins=n_bins, bounds=bounds, categories=categories,
                         preprocessing_share=preprocessing_share, dp=True)
        self.hidden = hidden
        self.latent = latent

    @classmethod
    def _param_names(cls) -> list[str]:
        """Only dp-vae's own arguments: the rest of ``vae``'s are fixed by them (and restore through them)."""
        return [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "metadata")]

    def _check_params(self) -> None:
        for name in ("hidden", "latent"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        super()._check_params()
