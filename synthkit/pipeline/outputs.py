"""The run folder: staged, committed in one swap, and replaced only if synthkit made it.

Every output of a run is written into a staging folder beside the run folder. Only when all of
them are complete is it swapped in: the old folder is renamed aside, the staging folder renamed
into place, the old one deleted. Each rename is atomic; if a run dies between the two, the next run
(or :func:`recover`) puts the previous folder back. A folder counts as synthkit's only if it holds
the marker file :data:`MARKER` (JSON: run id, status, safe-name mapping): an existing folder without
it is refused, or with ``force`` moved to a timestamped sibling; synthkit never deletes it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from synthkit.errors import ConfigError
from synthkit.utils.atomic import write_json

__all__ = ["MARKER", "RunFolder", "recover"]

log = logging.getLogger(__name__)
MARKER = ".synthkit-run"


def _read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _ours(folder: Path) -> bool:
    """A folder synthkit made: it holds the marker (even half-written), or nothing at all."""
    return folder.is_dir() and ((folder / MARKER).exists() or not any(folder.iterdir()))


def _drop(folder: Path) -> None:
    """Delete a folder synthkit made, its marker last: a kill midway leaves it marked, so it is found again."""
    for child in folder.iterdir():
        if child.name != MARKER:
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    shutil.rmtree(folder, ignore_errors=True)


def _aside(out: Path) -> Path:
    return out.parent / f".{out.name}.previous"


def recover(out: Path) -> None:
    """Restore the previous run folder if a swap was interrupted; drop dead runs' staging folders."""
    aside = _aside(out)
    if _ours(aside):
        if out.exists():
            _drop(aside)
        else:
            os.replace(aside, out)
            log.warning("restored the previous outputs of %s after an interrupted run", out)
    for stale in out.parent.glob(f".{out.name}.staging-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if _ours(stale) and (not pid.isdigit() or not _alive(int(pid))):
            _drop(stale)


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

    def __init__(self, out: Path, force: bool = False) -> None:
        self.out = Path(out).absolute()
        self.run_id = uuid.uuid4().hex
        self.move_aside = False
        if self.out.exists() and not self.out.is_dir():
            raise ConfigError(f"output_dir {self.out} is a file, not a folder")
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the parent of output_dir {self.out}: {exc.strerror}") from None
        if not os.access(self.out.parent, os.W_OK | os.X_OK):
            raise ConfigError(f"cannot write to {self.out.parent} (the parent of output_dir)")
        recover(self.out)
        if self.out.is_dir() and not _ours(self.out):
            if not force:
                raise ConfigError(f"output_dir {self.out} exists and was not made by synthkit (no {MARKER}); "
                                  "choose another folder or pass --force to move its contents aside")
            self.move_aside = True
        self.staging = self.out.parent / f".{self.out.name}.staging-{os.getpid()}"
        if self.staging.exists():
            shutil.rmtree(self.staging)
        self.staging.mkdir()
        (self.staging / MARKER).write_text("{}")  # at once, not atomically: the folder is never unmarked
        self.mark("staging")

    def path(self, name: str) -> Path:
        """Where to write output ``name`` during the run."""
        return self.staging / name

    def previous(self, name: str) -> Path:
        """Output ``name`` of the previous committed run (may not exist)."""
        return self.out / name

    def mark(self, status: str, **extra: Any) -> None:
        """Write the marker (run id, status) into the staging folder, or the run folder once committed."""
        where = self.out if not self.staging.exists() else self.staging
        doc = {**(_read_marker(where) or {}), "run_id": self.run_id, "status": status, **extra}
        write_json(where / MARKER, doc)

    def commit(self) -> Path:
        """Swap the staging folder in; a user's (unmarked) folder is moved aside, never deleted."""
        aside = _aside(self.out)
        if self.move_aside:
            aside = self.out.parent / f"{self.out.name}.moved-{time.strftime('%Y%m%d-%H%M%S')}-{self.run_id[:6]}"
            log.warning("moved the existing contents of %s to %s", self.out, aside)
        if self.out.exists():
            os.replace(self.out, aside)
        os.replace(self.staging, self.out)
        if not self.move_aside and _ours(aside):
            _drop(aside)
        return self.out

    def abandon(self) -> None:
        """Drop the staging folder; the previous run folder stays as it was."""
        if self.staging.is_dir():
            _drop(self.staging)
