"""synthkit: privacy-preserving synthetic data that proves how good and how safe it is."""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]
