"""Atomic file output: write to a temporary sibling, fsync, then rename over the target.

A run killed at any moment therefore leaves either the previous file or the new one, never a
partial file. ``os.replace`` is atomic on POSIX and Windows when source and target share a folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from synthkit.errors import ConfigError

__all__ = ["atomic_path", "json_default", "write_bytes", "write_json", "write_text"]


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    The temporary name keeps the target's suffix so that writers which sniff the extension
    (``to_parquet``, ``to_csv(compression="infer")``) behave as for the final name.
    """
    target = Path(target)
    if target.is_dir():
        raise ConfigError(f"cannot write output {target}: it is a folder; give a file name")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ConfigError(f"cannot write output {target}: a parent of it is a file, not a folder") from None
    end = suffix if suffix is not None else "".join(target.suffixes)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + end, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; outputs get the usual permissions
    try:
        yield tmp
        if tmp.exists():
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_bytes(target: str | os.PathLike[str], data: bytes) -> Path:
    """Atomically write ``data`` to ``target``."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text(target: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Atomically write ``text`` to ``target``."""
    return write_bytes(target, text.encode(encoding))


def write_json(target: str | os.PathLike[str], obj: Any, indent: int = 2) -> Path:
    """Atomically write ``obj`` as JSON (NaN and inf rejected: JSON has no such numbers)."""
    return write_text(target, json.dumps(obj, indent=indent, allow_nan=False, default=json_default) + "\n")


def json_default(value: Any) -> Any:
    """Make numpy scalars and arrays JSON-serializable."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
