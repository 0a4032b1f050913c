"""The one exception family synthkit raises.

Every failure a user can cause (bad file, bad config, bad model file, bad arguments) surfaces as a
subclass of :class:`SynthkitError` whose message names the problem, so the CLI can print one line
and pick the right exit code instead of showing a traceback from pandas, numpy or torch.
"""

from __future__ import annotations

__all__ = [
    "SynthkitError",
    "DataError",
    "ConfigError",
    "ModelError",
    "ModelFileError",
    "NotFittedError",
    "EvaluationError",
    "GateFailure",
    "LeakageError",
]


class SynthkitError(Exception):
    """Base class: a problem the user can fix, with a message that says what it is."""

    exit_code = 2


class DataError(SynthkitError, ValueError):
    """Input data cannot be used: empty table, unreadable file, unknown column, bad type."""


class ConfigError(SynthkitError, ValueError):
    """A pipeline file, CLI option or parameter is invalid."""


class ModelError(SynthkitError):
    """A synthesizer cannot be created, fitted or sampled as asked."""


class ModelFileError(ModelError):
    """A saved model is missing, tampered with, foreign or of an unsupported version."""


class NotFittedError(ModelError):
    """A synthesizer was asked to sample or save before it was fitted."""


class EvaluationError(SynthkitError):
    """Real and synthetic data cannot be compared as asked (column mismatch, bad target)."""


class GateFailure(SynthkitError):
    """A pipeline quality gate did not hold; outputs are kept and marked as failed."""

    exit_code = 3


class LeakageError(SynthkitError):
    """The leakage audit found real PII values or whole real rows in outputs (never the values)."""

    exit_code = 4
