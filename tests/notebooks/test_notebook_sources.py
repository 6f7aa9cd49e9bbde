"""The notebooks' code, read as source: only names from ``sergas_nb``'s root, and no name used that
no cell defines (a cell that would fail with NameError when the notebook runs top to bottom)."""

from __future__ import annotations

import ast
import builtins
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
IPYTHON_NAMES = {"display", "get_ipython"}  # what a kernel defines besides the builtins


def _code(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    lines = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        for line in "".join(cell["source"]).splitlines():
            lines.append("" if line.lstrip().startswith(("%", "!")) else line)  # magics are not Python
        lines.append("")
    return "\n".join(lines)


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 5, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_imports_only_the_package_root(path: Path) -> None:
    code = _code(path)
    deep = re.findall(r"^\s*(?:from|import)\s+(sergas_nb\.[\w.]+)", code, re.M)
    # `from sergas_nb import benchmarking` names a root-level package; a private module never.
    private = re.findall(r"^\s*from\s+sergas_nb\s+import\s+.*\b(_\w+)", code, re.M)
    assert not deep and not private, (deep, private)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_uses_no_undefined_name(path: Path) -> None:
    tree = ast.parse(_code(path))
    defined = set(dir(builtins)) | IPYTHON_NAMES
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            defined.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            defined.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            defined.add(node.name)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    assert not used - defined, sorted(used - defined)


def test_the_undefined_name_check_can_fail(tmp_path: Path) -> None:
    nb = {"cells": [{"cell_type": "code", "source": ["import sergas_nb as sn\n", "plan = EditPlan.build()\n"]}]}
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(nb))
    with pytest.raises(AssertionError, match="EditPlan"):
        test_notebook_uses_no_undefined_name(path)
