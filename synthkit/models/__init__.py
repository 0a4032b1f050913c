"""Synthesizers behind three small protocols and one registry (see :mod:`synthkit.models.base`)."""

from synthkit.models.base import MultiTableSynthesizer, SequenceSynthesizer, Synthesizer, clone
from synthkit.models.registry import available, create, get, register


def load(path: str, key: bytes | str | None = None) -> Synthesizer:
    """Load any saved synthkit model (the file says which); ``key`` checks its signature."""
    return Synthesizer.load(path, key=key)


__all__ = ["MultiTableSynthesizer", "SequenceSynthesizer", "Synthesizer", "available", "clone", "create", "get", "load",
           "register"]
