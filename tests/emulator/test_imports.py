"""The emulator's import graph: no cycle, and nothing imported from sergas_nb outside the emulator.

Every import counts (top level, inside functions, under TYPE_CHECKING), read from the source with
``ast``: a lazy import is still a dependency, and a cycle hidden in a function is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sergas_nb.emulator

PACKAGE = "sergas_nb.emulator"
ROOT = Path(sergas_nb.emulator.__file__).parent


def _modules() -> dict[str, tuple[Path, bool]]:
    found: dict[str, tuple[Path, bool]] = {}
    for path in ROOT.rglob("*.py"):
        parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _imported(module: str, path: Path, is_package: bool) -> set[str]:
    """Every dotted name ``module`` imports, including ``from x import name`` read as ``x.name``."""
    package = module if is_package else module.rsplit(".", 1)[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)
    return names


def _graph() -> tuple[dict[str, set[str]], set[tuple[str, str]]]:
    modules = _modules()
    edges: dict[str, set[str]] = {}
    outside: set[tuple[str, str]] = set()
    for module, (path, is_package) in modules.items():
        names = _imported(module, path, is_package)
        edges[module] = {n for n in names if n in modules and n != module}
        outside |= {(module, n) for n in names if n.startswith("sergas_nb") and not n.startswith(PACKAGE)}
    return edges, outside


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
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
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_emulator_has_no_import_cycle() -> None:
    edges, _ = _graph()
    assert _cycles(edges) == []


def test_the_emulator_imports_nothing_from_the_toolkit() -> None:
    _, outside = _graph()
    assert outside == set()


def test_the_cycle_finder_finds_a_cycle() -> None:
    # The check above must be able to fail: the graph before the split (app -> routes.common -> app).
    assert _cycles({"app": {"common"}, "common": {"app"}, "core": set()}) == [["app", "common"]]
