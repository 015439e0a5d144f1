"""The layout stays true: no import cycle, and no layer imports one above it.

Imports are read from the source with ``ast`` (nothing is executed). Module-level imports
form the import-time graph, which must be acyclic. Every import, at module level or inside
a function, must respect the layers; the only lazy upward import allowed is a result
rendering itself (``results`` -> ``report``), as ``Explanation.to_html`` does.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "blackbox_xai"

#: What each top-level part of the package may import (besides itself). Lower layers
#: first; ``cli`` and the package's ``__init__`` sit on top and may import anything.
ALLOWED: dict[str, set[str]] = {
    "utils": set(),
    "sampling": {"utils"},
    "datasets": {"utils"},
    "models": {"utils"},
    "autodiff": {"utils", "models"},
    "maskers": {"utils", "models", "sampling"},
    "results": {"utils"},
    "explainers": {"utils", "models", "autodiff", "maskers", "sampling", "results", "datasets"},
    "report": {"utils", "results"},
    "metrics": {"utils", "models", "autodiff", "maskers", "sampling", "results", "explainers"},
    "distributed": {
        "utils",
        "models",
        "autodiff",
        "maskers",
        "sampling",
        "results",
        "explainers",
        "datasets",
    },
}
#: Imports inside a function that cross the layers on purpose.
LAZY_ALLOWED = {("results", "report")}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, bool]]:
    """``(imported module, at module level)`` for every import of ``blackbox_xai`` code."""
    is_package = path.name == "__init__.py"
    found: list[tuple[str, bool]] = []

    def target(base: str, member: str | None) -> str:
        full = f"{base}.{member}" if member else base
        return full if full in modules else base

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue  # annotations only: never imported at run time
            inner = top and not isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
            )
            if isinstance(child, ast.Import):
                found.extend(
                    (a.name, inner) for a in child.names if a.name.startswith("blackbox_xai")
                )
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    package = name if is_package else name.rpartition(".")[0]
                    for _ in range(child.level - 1):
                        package = package.rpartition(".")[0]
                    base = f"{package}.{child.module}" if child.module else package
                else:
                    base = child.module or ""
                if base.startswith("blackbox_xai"):
                    found.extend((target(base, a.name), inner) for a in child.names)
            visit(child, inner)

    visit(ast.parse(path.read_text(), str(path)), True)
    return found


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _graph() -> tuple[dict[str, Path], dict[str, list[tuple[str, bool]]]]:
    modules = _modules()
    return modules, {m: _imports(m, p, modules) for m, p in modules.items()}


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or with a self-loop (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges.get(v, ()):
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return found


def test_no_import_cycle_at_import_time() -> None:
    modules, imports = _graph()
    edges = {m: {t for t, top in found if top and t in modules} for m, found in imports.items()}
    assert _cycles(edges) == []


def test_no_layer_imports_a_higher_one() -> None:
    _, imports = _graph()
    violations = []
    for module, found in imports.items():
        layer = _layer(module)
        if layer not in ALLOWED:
            continue  # the package root and cli.py sit above every layer
        for imported, top in found:
            other = _layer(imported)
            if other == layer or other in ALLOWED[layer]:
                continue
            if not top and (layer, other) in LAZY_ALLOWED:
                continue
            violations.append(f"{module} imports {imported}")
    assert violations == []


def test_every_layer_is_listed() -> None:
    layers = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert layers <= set(ALLOWED), f"add {sorted(layers - set(ALLOWED))} to ALLOWED"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # The checks themselves can fail: a planted cycle and a planted upward import.
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"a"}}, [["a"]]),
        ({"a": {"b"}, "b": set()}, []),
    ],
)
def test_the_cycle_finder_finds_planted_cycles(
    source: dict[str, set[str]], expected: list[list[str]]
) -> None:
    assert _cycles(source) == expected


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    fake = tmp_path / "blackbox_xai" / "models"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "bad.py").write_text("def f():\n    from ..explainers import Lime\n")
    modules = {
        "blackbox_xai.models": fake / "__init__.py",
        "blackbox_xai.models.bad": fake / "bad.py",
    }
    found = _imports("blackbox_xai.models.bad", fake / "bad.py", modules)
    assert found == [("blackbox_xai.explainers", False)]
    assert _layer(found[0][0]) not in ALLOWED["models"]
