"""The package layering as checked facts (docs: /ARCHITECTURE, contract: /.importlinter).

- the import-linter contract holds (``make test`` runs it too; here so a bare ``pytest`` keeps it);
- no import cycle between synthkit modules, found by walking every module's imports with ``ast``;
- importing a low layer loads nothing above it (checked in a fresh interpreter);
- imports inside functions exist only for optional (or deliberately deferred) dependencies.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "synthkit"

#: what an in-function import may load, with the reason (like scikit-learn's listed known failures)
DEFERRED_IMPORTS = {
    "opacus": "optional extra [dp]: DP-SGD and its accountant load only when a DP model trains",
    "synthkit.privacy.dpsgd": "imports opacus at module level (optional extra [dp])",
    "sdv": "optional extra [sdv]: the BSL-licensed adapters",
    "ctgan": "optional extra [sdv]",
    "rdt": "optional extra [sdv]",
    "sdmetrics": "optional extra [sdv]",
    "ray": "optional: the Ray engine",
    "mlflow": "optional: experiment tracking sink",
    "duckdb": "optional: DuckDB engine",
    "duckdb_engine": "optional: DuckDB engine",
    "psycopg": "optional: PostgreSQL driver",
    "great_expectations": "GX_ANALYTICS_ENABLED must be set before its first import, and it takes seconds to load",
    "synthkit.cli.actions": "the library behind the commands loads torch and scikit-learn (seconds); a command loads "
                            "it when it runs, so `synthkit --help`, `--version` and a mistyped option answer at once",
}
#: modules whose in-function imports are still being removed elsewhere, with the reason
PENDING: dict[str, str] = {}
#: packages above io and meta, in layer order (``.importlinter``)
ABOVE_IO = ["profile", "datasets", "transform", "privacy", "models", "evaluate", "engine", "report", "audit",
            "track", "pipeline", "cli"]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(path: Path, module: str) -> list[tuple[str, bool]]:
    """(imported module, inside a function?) for every import statement, TYPE_CHECKING ones excepted."""
    found: list[tuple[str, bool]] = []
    is_package = path.name == "__init__.py"

    def resolve(node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = resolve(child)
                found.append((base, in_function))
                found.extend((f"{base}.{alias.name}", in_function) for alias in child.names)
            else:
                visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def _graph(include_functions: bool) -> dict[str, set[str]]:
    """synthkit module -> synthkit modules it imports (``from pkg import name`` counts ``pkg.name``
    when that is a module, else ``pkg``)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = {t for t, in_fn in _imports(path, name) if t in modules and (include_functions or not in_fn)}
        # `from pkg import sub` lists both pkg and pkg.sub: keep the module, not the package, as the edge
        graph[name] = {t for t in targets if t != name and not any(o.startswith(t + ".") for o in targets)}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_import_linter_contract_holds() -> None:
    proc = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "BROKEN" not in proc.stdout and "Contracts: 2 kept, 0 broken." in proc.stdout


def test_no_module_level_import_cycle() -> None:
    graph = _graph(include_functions=False)
    assert len(graph) > 80 and graph["synthkit.profile.profiler"] >= {"synthkit.io.dataset", "synthkit.meta"}
    assert _cycles(graph) == []


def test_no_import_cycle_even_through_function_imports() -> None:
    graph = _graph(include_functions=True)
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle() -> None:
    """The checker itself: a planted cycle is reported (so an empty result means something)."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("module", ["synthkit.io", "synthkit.meta"])
def test_low_layer_import_loads_nothing_above_it(module: str) -> None:
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    loaded = set(json.loads(proc.stdout))
    assert module in loaded
    higher = sorted(m for m in loaded if any(m == f"synthkit.{p}" or m.startswith(f"synthkit.{p}.") for p in ABOVE_IO))
    assert higher == [], f"import {module} loaded {higher}"
    assert "torch" not in loaded, f"import {module} loaded torch"
    if module == "synthkit.meta":
        assert not any(m.startswith("synthkit.io") for m in loaded)


def test_in_function_imports_only_for_deferred_dependencies() -> None:
    offenders = []
    for name, path in _modules().items():
        if name in PENDING:
            continue
        for target, in_function in _imports(path, name):
            if in_function and not any(target == d or target.startswith(d + ".") for d in DEFERRED_IMPORTS):
                offenders.append(f"{name}: {target}")
    assert offenders == [], "move these imports to module level (or list the dependency with a reason):\n" + "\n".join(offenders)
