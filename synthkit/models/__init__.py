"""Synthesizers behind one contract and one registry."""

from synthkit.models.base import Synthesizer
from synthkit.models.registry import available, create, get, register


def load(path: str, key: bytes | str | None = None) -> Synthesizer:
    """Load any saved synthkit model (the file says which); ``key`` checks its signature."""
    return Synthesizer.load(path, key=key)


__all__ = ["Synthesizer", "available", "create", "get", "load", "register"]
