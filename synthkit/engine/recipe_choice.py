"""Which distributed-training recipe trains a model: the one place that knows every recipe."""

from __future__ import annotations

from synthkit.engine.train_dp import DpGanRecipe, DpVaeRecipe
from synthkit.engine.train_gan_vae import GanRecipe, VaeRecipe
from synthkit.engine.train_recipes import ArmRecipe, FlowRecipe, Recipe
from synthkit.errors import ConfigError
from synthkit.models.base import Synthesizer

__all__ = ["recipe_for", "trains_on_ray"]


def recipe_for(model: Synthesizer) -> Recipe:
    """The recipe of ``model`` (arm, flow, vae, gan; vae, dp-vae and gan with DP); a clear error for the others."""
    if getattr(model, "dp_enabled", False):
        for dp_cls in (DpVaeRecipe, DpGanRecipe):
            if model.name in dp_cls.kinds:
                return dp_cls(model)
        raise ConfigError(f"{model.name} with differential privacy (epsilon=) cannot be trained on Ray: DP-SGD on Ray "
                          "covers vae, dp-vae and gan; use one of them, or engine: local")
    for cls in (ArmRecipe, FlowRecipe, VaeRecipe, GanRecipe):
        if model.name in cls.kinds:
            return cls(model)
    raise ConfigError(f"model {model.name!r} cannot be trained on Ray (distributed training covers arm, gan, vae, flow, "
                      "and vae / dp-vae / gan with differential privacy); use engine: local")


def trains_on_ray(model: Synthesizer) -> bool:
    """Whether :func:`recipe_for` has a recipe for ``model`` (as configured: DP or not)."""
    try:
        recipe_for(model)
    except ConfigError:
        return False
    return True
