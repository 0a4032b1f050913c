"""The model registry: names → Synthesizer classes, with an explicit ``@register`` decorator.

Built-in models are listed by module so that ``available()`` can import them lazily and leave out
those whose optional dependencies are missing (the ``sdv-*`` adapters need ``synthkit[sdv]``).
Models living above this package (``auto``, which measures candidates with ``synthkit.evaluate``)
or in other distributions register through the ``synthkit.models`` entry-point group: this module
never names them, so the layering (models below evaluate) holds.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, TypeVar

from synthkit.errors import ConfigError

if TYPE_CHECKING:
    from synthkit.meta import Metadata
    from synthkit.models.base import Synthesizer

__all__ = ["register", "create", "get", "available", "is_available", "BUILTIN_MODULES"]

log = logging.getLogger(__name__)

# name -> module that registers it. Add a line here when you add a model module.
BUILTIN_MODULES: dict[str, str] = {
    "copula": "synthkit.models.copula",
    "dp-marginals": "synthkit.models.dp_marginals",
    "dp-vae": "synthkit.models.dp_vae",
    "sequence": "synthkit.models.sequence",
    "relational": "synthkit.models.relational",
    "sdv-par": "synthkit.models.sdv_par",
    "gan": "synthkit.models.gan",
    "vae": "synthkit.models.vae",
    "arm": "synthkit.models.arm",
    "flow": "synthkit.models.flow",
    "sdv-copula": "synthkit.models.sdv_adapters",
    "sdv-ctgan": "synthkit.models.sdv_adapters",
    "sdv-tvae": "synthkit.models.sdv_adapters",
    "diffusion": "synthkit.models.diffusion",
    "bayesnet": "synthkit.models.bayesnet",
}
ENTRY_POINT_GROUP = "synthkit.models"

# The model used where nothing is measured (`model: auto` itself measures: synthkit/evaluate/selection.py)
DEFAULT_MODEL = "arm"

_REGISTRY: dict[str, type[Synthesizer]] = {}
_FAILED: dict[str, str] = {}
S = TypeVar("S", bound="type[Synthesizer]")


def register(name: str):  # type: ignore[no-untyped-def]
    """Class decorator: make a Synthesizer available as ``name``."""

    def decorate(cls: S) -> S:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"model name {name!r} is already registered to {_REGISTRY[name].__name__}")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def _plugins() -> dict[str, str]:
    """name -> module of models registered through the ``synthkit.models`` entry-point group."""
    return {ep.name: ep.value.split(":")[0] for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _load(name: str) -> None:
    module = BUILTIN_MODULES.get(name) or _plugins().get(name)
    if module is None or name in _REGISTRY or name in _FAILED:
        return
    try:
        importlib.import_module(module)
    except ImportError as exc:  # optional dependency missing: the model is simply unavailable
        _FAILED[name] = str(exc)
        log.debug("model %s unavailable: %s", name, exc)


def available(protocol: type | None = None) -> list[str]:
    """Names of every model that can be created in this installation.

    ``protocol`` (``Synthesizer``, ``SequenceSynthesizer`` or ``MultiTableSynthesizer`` of
    :mod:`synthkit.models.base`) keeps the models that declare it."""
    for name in [*BUILTIN_MODULES, *_plugins()]:
        _load(name)
    return sorted(name for name, cls in _REGISTRY.items() if protocol is None or cls.protocol is protocol)


def is_available(name: str) -> bool:
    """Whether ``name`` can be created here; imports only that model's module (``available()`` imports
    every one, the optional sdv adapters with SDV among them: seconds a run that uses none need not spend)."""
    _load(name)
    return name in _REGISTRY


def get(name: str) -> type[Synthesizer]:
    """The class registered as ``name``; a clear error names the alternatives."""
    _load(name)
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name in _FAILED:
        raise ConfigError(f"model {name!r} needs an optional dependency that is not installed ({_FAILED[name]}); "
                          "install synthkit[sdv] for the sdv-* models, synthkit[dp] for dp-vae")
    raise ConfigError(f"unknown model {name!r}; available: {', '.join(available())}")


def create(name: str, metadata: Metadata | None = None, **params: Any) -> Synthesizer:
    """A new, unfitted synthesizer ``name`` with ``params``."""
    return get(name)(metadata=metadata, **params)
