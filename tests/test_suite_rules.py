"""Rules for the test suite itself: a broken synthkit import fails, it never skips.

``pytest.importorskip`` (or ``try: import ... except ImportError: pytest.skip``) is for optional
third-party dependencies only, and must say why; for synthkit's own modules it would turn a
regression into a green run.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _skip_calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr in ("skip", "importorskip")]


def _imports_synthkit(nodes: list[ast.stmt]) -> bool:
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Import) and any(a.name.split(".")[0] == "synthkit" for a in sub.names):
                return True
            if isinstance(sub, ast.ImportFrom) and (sub.module or "").split(".")[0] == "synthkit":
                return True
    return False


def _violations(source: str, name: str) -> list[str]:
    tree = ast.parse(source)
    found = []
    for call in _skip_calls(tree):
        if call.func.attr != "importorskip":  # type: ignore[attr-defined]
            continue
        module = call.args[0].value if call.args and isinstance(call.args[0], ast.Constant) else None
        if not isinstance(module, str) or module.split(".")[0] == "synthkit":
            found.append(f"{name}:{call.lineno}: importorskip of synthkit's own module {module!r}")
        elif not any(k.arg == "reason" for k in call.keywords):
            found.append(f"{name}:{call.lineno}: importorskip({module!r}) without a reason")
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and _imports_synthkit(node.body):
            if any(_skip_calls(h) for h in node.handlers):
                found.append(f"{name}:{node.lineno}: a failed synthkit import is turned into a skip")
    return found


def test_no_test_skips_on_a_broken_synthkit_import() -> None:
    problems = [v for path in sorted(TESTS.rglob("*.py")) for v in _violations(path.read_text(encoding="utf-8"), str(path.relative_to(TESTS)))]
    assert problems == []


def test_the_rule_catches_each_pattern() -> None:
    bad = (
        'import pytest\nev = pytest.importorskip("synthkit.evaluate")\n'
        'opacus = pytest.importorskip("opacus")\n'
        'try:\n    from synthkit.models import gan\nexcept ImportError:\n    pytest.skip("no gan")\n'
    )
    assert [v.split(": ", 1)[1] for v in _violations(bad, "x.py")] == [
        "importorskip of synthkit's own module 'synthkit.evaluate'",
        "importorskip('opacus') without a reason",
        "a failed synthkit import is turned into a skip",
    ]
    assert _violations('import pytest\nsdv = pytest.importorskip("sdv", reason="optional sdv extra")\n', "ok.py") == []
