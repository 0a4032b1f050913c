"""Seeds: one integer makes a fit or a sample reproducible on the same machine."""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["seed_everything", "rng"]


def seed_everything(seed: int) -> None:
    """Seed Python, numpy's legacy global RNG and torch with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def rng(seed: int | None) -> np.random.Generator:
    """A numpy Generator; ``None`` draws fresh entropy."""
    return np.random.default_rng(seed)
