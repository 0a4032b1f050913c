"""The run folder, swapped in whole: a killed run never leaves partial or mixed outputs.

Every output of a run is written into a staging folder beside the run folder. Only when all of
them are complete is the staging folder swapped in: the old folder is renamed aside, the staging
folder renamed into place, the old one deleted. Each rename is atomic; if a run dies between the two
renames, the next run (or :func:`recover`) puts the previous folder back. Files inside the staging
folder are written with the atomic helpers too, so even the staging folder holds no partial file.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

__all__ = ["RunFolder", "recover"]

log = logging.getLogger(__name__)


def _aside(out: Path) -> Path:
    return out.parent / f".{out.name}.previous"


def recover(out: Path) -> None:
    """Restore the previous run folder if a swap was interrupted; drop stale staging folders."""
    aside = _aside(out)
    if aside.exists():
        if out.exists():
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.replace(aside, out)
            log.warning("restored the previous outputs of %s after an interrupted run", out)
    for stale in out.parent.glob(f".{out.name}.staging-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunFolder:
    """A staging folder for one run's outputs, committed into ``out`` in one swap."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        recover(self.out)
        self.staging = self.out.parent / f".{self.out.name}.staging-{os.getpid()}"
        if self.staging.exists():
            shutil.rmtree(self.staging)
        self.staging.mkdir()

    def path(self, name: str) -> Path:
        """Where to write output ``name`` during the run."""
        return self.staging / name

    def previous(self, name: str) -> Path:
        """Output ``name`` of the previous committed run (may not exist)."""
        return self.out / name

    def commit(self) -> Path:
        """Swap the staging folder in as the run folder."""
        aside = _aside(self.out)
        if self.out.exists():
            os.replace(self.out, aside)
        os.replace(self.staging, self.out)
        if aside.exists():
            shutil.rmtree(aside, ignore_errors=True)
        return self.out

    def abandon(self) -> None:
        """Drop the staging folder; the previous run folder stays as it was."""
        shutil.rmtree(self.staging, ignore_errors=True)
