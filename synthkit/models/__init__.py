"""Synthesizers behind three small protocols and one registry (see :mod:`synthkit.models.base`)."""

from synthkit.models.base import MultiTableSynthesizer, SequenceSynthesizer, Synthesizer, clone
from synthkit.models.registry import available, create, get, register


def load(path: str) -> Synthesizer:
    """Load any saved synthkit model (the file says which)."""
    return Synthesizer.load(path)


__all__ = ["MultiTableSynthesizer", "SequenceSynthesizer", "Synthesizer", "available", "clone", "create", "get", "load",
           "register"]
