"""Generated views of the metrics schema: ``docs/metrics.schema.json`` and the key reference in ``docs/metrics.md``.

Both are derived from :mod:`synthkit.evaluate.schema`, never edited by hand; tests compare the
committed files with these functions' output. Regenerate with::

    python -m synthkit.evaluate.schema_docs [REPO_DIR]
"""

from __future__ import annotations

import json
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from synthkit.evaluate.schema import MetricsFile, json_schema

__all__ = ["BEGIN", "END", "key_reference", "schema_text", "update_docs"]

BEGIN = "<!-- BEGIN GENERATED KEY REFERENCE (python -m synthkit.evaluate.schema_docs) -->"
END = "<!-- END GENERATED KEY REFERENCE -->"
_SCALARS = {float: "number", int: "integer", str: "string", bool: "boolean", type(None): "null"}


def schema_text() -> str:
    """``docs/metrics.schema.json`` as it must be committed."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def _args(tp: Any) -> tuple[Any, ...]:
    return get_args(tp) if get_origin(tp) in (typing.Union, types.UnionType) else (tp,)


def _type_text(tp: Any) -> str:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_text(a) for a in get_args(tp))
    if origin is Literal:
        return " / ".join(json.dumps(v) for v in get_args(tp))
    if origin is tuple:
        return "[low, high]"
    if origin in (list, dict):
        inner = _type_text(get_args(tp)[-1])
        inner = f"({inner})" if " or " in inner else inner
        return f"list of {inner}" if origin is list else f"{{name: {inner}}}"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "object"
    return _SCALARS.get(tp, "any JSON")


def _nested(tp: Any) -> tuple[str, type[BaseModel]] | None:
    """(path suffix, model) when ``tp`` holds a model directly, in a dict's values or a list."""
    for arg in _args(tp):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return "", arg
        origin = get_origin(arg)
        if origin is dict and isinstance(get_args(arg)[1], type) and issubclass(get_args(arg)[1], BaseModel):
            return ".{name}", get_args(arg)[1]
        if origin is list and isinstance(get_args(arg)[0], type) and issubclass(get_args(arg)[0], BaseModel):
            return "[]", get_args(arg)[0]
    return None


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        need = "required" if field.is_required() else "optional"
        desc = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{path}` | {_type_text(field.annotation).replace('|', '/')} | {need} | {desc} |")
        inner = _nested(field.annotation)
        if inner is not None:
            rows += _rows(inner[1], f"{path}{inner[0]}.")
    return rows


def key_reference() -> str:
    """The generated section of ``docs/metrics.md``: every key, its JSON type, required or not, meaning."""
    head = [BEGIN, "", "## Key reference (generated from `synthkit/evaluate/schema.py`)", "",
            "Every key `metrics.json` may hold; `required` keys are always present (possibly `null`) in",
            "the object that declares them, no other key is allowed. Machine-readable: `docs/metrics.schema.json`.", "",
            "| key | type | | meaning |", "|---|---|---|---|"]
    return "\n".join([*head, *_rows(MetricsFile, ""), "", END])


def update_docs(text: str) -> str:
    """``docs/metrics.md`` text with its generated section replaced (appended when absent)."""
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        after = rest.split(END, 1)[1]
        return before + key_reference() + after
    return text.rstrip("\n") + "\n\n" + key_reference() + "\n"


def main(argv: list[str] | None = None) -> None:
    repo = Path((argv or sys.argv[1:] or ["."])[0])
    (repo / "docs" / "metrics.schema.json").write_text(schema_text(), encoding="utf-8")
    md = repo / "docs" / "metrics.md"
    md.write_text(update_docs(md.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()
