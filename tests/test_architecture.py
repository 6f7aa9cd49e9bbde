"""The import graph keeps the layers the README's Architecture section draws.

import-linter (``make lint``) enforces the layers contract; this test adds what a layers contract
cannot say: no cycle anywhere, parent packages included, counting every import (top-level, inside
functions, under TYPE_CHECKING: grimp reads them all from the source).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
UPPER = ("sergas_nb.client", "sergas_nb.edits", "sergas_nb.lab", "sergas_nb.assistant", "sergas_nb.benchmarking")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("sergas_nb", include_external_packages=False)


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_anywhere(graph: grimp.ImportGraph) -> None:
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle() -> None:
    # The check above must be able to fail: a two-module cycle built by hand is found.
    g = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        g.add_module(name)
    g.add_import(importer="pkg.a", imported="pkg.b")
    g.add_import(importer="pkg.b", imported="pkg.a")
    g.add_import(importer="pkg.c", imported="pkg.a")
    assert _cycles(g) == [["pkg.a", "pkg.b"]]


def test_core_modules_import_nothing_from_above(graph: grimp.ImportGraph) -> None:
    core = [
        m
        for m in graph.modules
        if m.count(".") == 1 and m not in ("sergas_nb.client", "sergas_nb.cli") and not graph.find_children(m)
    ]
    assert len(core) > 10, core
    upward = {
        (m, imported)
        for m in core
        for imported in graph.find_modules_directly_imported_by(m)
        if imported.startswith(UPPER)
    }
    assert not upward, sorted(upward)


def test_the_emulator_stands_apart(graph: grimp.ImportGraph) -> None:
    outside = {
        (m, imported)
        for m in graph.find_descendants("sergas_nb.emulator") | {"sergas_nb.emulator"}
        for imported in graph.find_modules_directly_imported_by(m)
        if not imported.startswith("sergas_nb.emulator")
    }
    assert not outside, sorted(outside)


def test_import_linter_contract_is_kept() -> None:
    # The same contract `make lint` checks, so a plain `pytest` run catches a broken layer too.
    done = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout, done.stdout[-2000:]
