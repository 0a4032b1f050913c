"""Path safety: names that become path components, and folders a tool must never replace."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from synthkit.errors import ConfigError

__all__ = ["safe_name", "check_output_dir"]

_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def safe_name(name: str) -> str:
    """``name`` itself if it is a safe file-name component, else a sanitized name with a short hash.

    Safe: letters, digits, ``_.-``, not starting with a dot, not a Windows device name, so it can
    never be ``..``, absolute, hidden, or carry a separator or NUL.
    """
    text = str(name)
    if _SAFE.fullmatch(text) and text.split(".")[0].lower() not in _RESERVED and not text.endswith("."):
        return text
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[:40] or "table"
    return f"{stem}-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def check_output_dir(out: Path, protected: list[Path]) -> None:
    """Refuse an output folder equal to or above a folder the user keeps (cwd, home, inputs, ``/``)."""
    out = out.resolve()
    for keep in [Path("/"), *protected]:
        keep = keep.resolve()
        if out == keep or out in keep.parents:
            raise ConfigError(f"output_dir {out} is or contains {keep}; give the run a folder of its own")
