"""Read a JSON file a user handed us, turning the usual failures into one synthkit error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synthkit.errors import SynthkitError

__all__ = ["read_json"]


def read_json(path: str | Path, what: str, error: type[SynthkitError]) -> Any:
    """Parsed JSON of ``path``; a missing or malformed file raises ``error`` naming ``what`` and the path."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise error(f"{what} {path} is not valid JSON: {exc}") from None
