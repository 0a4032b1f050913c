"""Synthesizers behind one contract and one registry."""

from synthkit.models.base import Synthesizer
from synthkit.models.registry import available, create, get, register


def load(path: str) -> Synthesizer:
    """Load any saved synthkit model (the file says which)."""
    return Synthesizer.load(path)


__all__ = ["Synthesizer", "available", "create", "get", "load", "register"]
