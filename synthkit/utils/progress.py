"""What a person at a terminal sees while synthkit works: stage lines with elapsed time and
progress bars (epochs, evaluation families). All of it goes to stderr and only to an interactive
terminal: quiet under CI (``$CI``), with ``SYNTHKIT_QUIET`` set, after :func:`set_quiet` (the CLI's
``--quiet`` and ``--json``), or when stderr is a file or pipe. Results (stdout) never depend on it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

__all__ = ["progress", "progress_enabled", "set_quiet", "stage_finished", "stage_started", "start_clock"]

T = TypeVar("T")

_state: dict[str, Any] = {"quiet": False, "clock": None}


def set_quiet(quiet: bool = True) -> None:
    """Silence (or allow again) stage lines and bars for this process."""
    _state["quiet"] = bool(quiet)


def progress_enabled() -> bool:
    """Shown only on an interactive terminal, never under CI, SYNTHKIT_QUIET or :func:`set_quiet`."""
    if _state["quiet"] or os.environ.get("CI") or os.environ.get("SYNTHKIT_QUIET"):
        return False
    return sys.stderr.isatty()


def progress(iterable: Iterable[T] | None = None, **kwargs: Any) -> tqdm:
    """A tqdm bar, disabled where :func:`progress_enabled` says so."""
    kwargs.setdefault("disable", not progress_enabled())
    kwargs.setdefault("leave", False)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, **kwargs)


def start_clock() -> None:
    """Elapsed times in stage lines count from now (the start of a run)."""
    _state["clock"] = time.perf_counter()


def _elapsed() -> str:
    if _state["clock"] is None:
        start_clock()
    seconds = int(time.perf_counter() - _state["clock"])
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def _say(text: str) -> None:
    if progress_enabled():
        tqdm.write(text, file=sys.stderr)  # above any live bar, which then redraws


def stage_started(stage: str) -> None:
    """``[00:03] fit ...`` on the terminal."""
    _say(f"[{_elapsed()}] {stage} ...")


def stage_finished(stage: str, seconds: float) -> None:
    """``[00:15] fit done in 12.1 s`` on the terminal."""
    _say(f"[{_elapsed()}] {stage} done in {seconds:.1f} s")
