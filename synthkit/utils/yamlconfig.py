"""A YAML settings file into a pydantic model: ``--set`` overrides, ``${ENV}`` values, errors that name key and line.

Any file whose schema is a pydantic model loads the same way (``load_yaml_model``): read, parse
(safe loader: no tags run code), apply ``key.sub=value`` overrides, expand environment variables,
validate; every failure is one :class:`~synthkit.errors.ConfigError` naming the file, the dotted
key and its line, never a traceback.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from synthkit.errors import ConfigError

__all__ = ["load_yaml_model", "apply_overrides", "expand_env"]

M = TypeVar("M", bound=BaseModel)
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def load_yaml_model(path: str | Path, model: type[M], overrides: list[str] | None = None, what: str = "settings file") -> M:
    """Read, override (``key.sub=value``) and validate the YAML mapping in ``path``; ``what`` names
    the file in errors (``"pipeline file"``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a {what} must be a mapping (key: value lines), not {type(data).__name__}")
    data = expand_env(apply_overrides(data, overrides or []), what)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, text, path)) from None


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``--set a.b=value`` overrides; values are parsed as YAML scalars."""
    data = dict(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        key, raw = item.split("=", 1)
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise ConfigError(f"--set has an empty key in {item!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        node = data
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
            node[part] = dict(child)
            node = node[part]
        node[parts[-1]] = value
    return data


def expand_env(data: Any, what: str = "settings file", _seen: dict[int, Any] | None = None) -> Any:
    """Replace ``${NAME}`` (or ``${NAME:-default}``) in string values by the environment variable,
    so secrets such as database URLs stay out of the YAML file; an unset variable without a default
    is an error naming it. Each YAML node is visited once (``_seen``): aliases share their node, so
    a "billion laughs" file stays as small as it is written instead of expanding exponentially."""
    seen = {} if _seen is None else _seen
    if isinstance(data, (dict, list)) and id(data) in seen:
        return seen[id(data)]
    if isinstance(data, dict):
        out: Any = seen.setdefault(id(data), {})
        out.update({k: expand_env(v, what, seen) for k, v in data.items()})
        return out
    if isinstance(data, list):
        out = seen.setdefault(id(data), [])
        out.extend(expand_env(v, what, seen) for v in data)
        return out
    if isinstance(data, str):
        missing = [m.group(1) for m in _ENV.finditer(data) if m.group(1) not in os.environ and m.group(2) is None]
        if missing:
            raise ConfigError(f"environment variable {missing[0]} is not set (used as ${{{missing[0]}}} in the {what})")
        return _ENV.sub(lambda m: os.environ.get(m.group(1), m.group(2) or ""), data)
    return data


def _describe(exc: ValidationError, text: str, path: Path) -> str:
    """One line per problem: the dotted key, its line in the file, and what is wrong."""
    lines = []
    for err in exc.errors()[:5]:
        loc = [str(p) for p in err.get("loc", ())]
        key = ".".join(loc) or "(top level)"
        line = _line_of(text, loc)
        where = f" (line {line})" if line else ""
        msg = err.get("msg", "invalid")
        if err.get("type") == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"{path}: {key}{where}: {msg}")
    return "; ".join(lines)


def _line_of(text: str, loc: list[str]) -> int | None:
    """Line number of the YAML node at ``loc`` (or its closest existing parent)."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == part:
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            return line
    return line
