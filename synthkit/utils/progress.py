"""Progress bars that are visible to people and quiet in CI and logs."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

__all__ = ["progress", "progress_enabled"]

T = TypeVar("T")


def progress_enabled() -> bool:
    """Bars show only on an interactive terminal, never under CI or with SYNTHKIT_QUIET set."""
    if os.environ.get("CI") or os.environ.get("SYNTHKIT_QUIET"):
        return False
    return sys.stderr.isatty()


def progress(iterable: Iterable[T] | None = None, **kwargs: Any) -> tqdm:
    """A tqdm bar, disabled where :func:`progress_enabled` says so."""
    kwargs.setdefault("disable", not progress_enabled())
    kwargs.setdefault("leave", False)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, **kwargs)
