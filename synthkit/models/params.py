"""Parameter objects shared by the neural models: training/encoding settings and differential privacy.

``gan`` and ``vae`` take ~35 arguments; most are the same everywhere. They are grouped here so a
caller can pass ``neural=NeuralParams(epochs=50, device="cpu")`` and
``privacy=DPParams(epsilon=3.0)`` instead of repeating them. The flat keys stay the public form:
YAML ``model.params``, ``get_params()``, ``set_params()`` and saved model files all use
``epochs=...``, ``epsilon=...`` as before (the models store each field as an attribute), so
``create("gan", **model.get_params())`` rebuilds the same model either way. Give a setting either
flat or inside its object, not both. A model's own defaults (``gan``: 100 epochs, ``vae``: 150)
apply to flat keys that are not given; a passed object is taken as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DPParams", "NeuralParams"]


@dataclass
class NeuralParams:
    """Training and encoding settings of every :class:`~synthkit.models.nn_base.NeuralSynthesizer`.

    ``epochs`` (None: until ``max_minutes``), ``batch_size``, ``max_minutes`` (time budget),
    ``learning_rate`` (None: the model's default), ``patience`` / ``validation_fraction`` (early
    stopping on held-back rows), ``grad_clip``, ``device`` ("auto", "cpu", "cuda"),
    ``numeric_encoding`` ("gmm" modes or "quantile"), ``max_modes``, ``rare_min_count`` /
    ``rare_strategy`` / ``clip_quantile`` (privacy protection of rare categories and extreme
    values; None: stricter automatically when the table has PII).
    """

    epochs: int | None = 300
    batch_size: int = 500
    max_minutes: float | None = None
    learning_rate: float | None = None
    patience: int | None = None
    validation_fraction: float = 0.0
    grad_clip: float | None = None
    device: str = "auto"
    numeric_encoding: str = "gmm"
    max_modes: int = 10
    rare_min_count: int | None = None
    rare_strategy: str = "drop"
    clip_quantile: float | None = None


@dataclass
class DPParams:
    """Differential privacy of the neural models (DP-SGD; see :mod:`synthkit.models.dp_neural`).

    ``epsilon`` (None: no DP), ``delta`` (None: 1/n²-style default), ``max_grad_norm`` (per-row
    clipping), ``noise_multiplier`` (None: calibrated to the budget), ``n_bins`` (DP numeric
    bins), ``bounds`` / ``categories`` (public knowledge, not charged), ``preprocessing_share``
    (budget share of the DP domain release), ``dp`` (None: on iff ``epsilon`` is given; True
    with ``epsilon=None``: the same pipeline without noise, the ε = ∞ reference).
    """

    epsilon: float | None = None
    delta: float | None = None
    max_grad_norm: float = 1.0
    noise_multiplier: float | None = None
    n_bins: int = 20
    bounds: dict[str, list[float]] | None = None
    categories: dict[str, list[str]] | None = None
    preprocessing_share: float = 0.1
    dp: bool | None = None
