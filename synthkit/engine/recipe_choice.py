"""Which distributed-training recipe trains a model: the one place that knows every recipe."""

from __future__ import annotations

from synthkit.engine.train_gan_vae import GanRecipe, VaeRecipe
from synthkit.engine.train_recipes import ArmRecipe, FlowRecipe, Recipe
from synthkit.errors import ConfigError
from synthkit.models.base import Synthesizer

__all__ = ["recipe_for"]


def recipe_for(model: Synthesizer) -> Recipe:
    """The recipe of ``model`` (arm, flow, vae, gan); a clear error for models without one."""
    for cls in (ArmRecipe, FlowRecipe, VaeRecipe, GanRecipe):
        if model.name in cls.kinds:
            return cls(model)
    raise ConfigError(f"model {model.name!r} cannot be trained on Ray (distributed training covers arm, gan, vae, flow); "
                      "use engine: local")
