"""The wheel is complete: built, installed into a new virtualenv and run from an empty folder.

The new virtualenv gets the wheel alone (``--no-deps``); its dependencies come from the suite's
own virtualenv through a ``.pth`` line, so nothing is downloaded. No PYTHONPATH reaches it, and it
runs outside the checkout, so every import and every shipped file comes from the installed wheel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import psycopg
import pytest

from sergas_nb.lab.notebooks import NOTEBOOKS

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(REPO), "-w", str(out)],
        out,
    )
    (built,) = out.glob("sergas_nb-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> dict[str, str]:
    """A new virtualenv with the wheel; returns the environment to run its commands with."""
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], venv)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)], venv)
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], venv).stdout
    # The dependencies: the suite's site-packages, after the new venv's own (so its sergas_nb wins).
    Path(purelib.strip(), "suite_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "DATABASE_URL", "VIRTUAL_ENV"}}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VENV"] = str(venv)
    return env


def test_wheel_holds_every_module_notebook_and_migration(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {p.relative_to(REPO).as_posix() for p in (REPO / "sergas_nb").rglob("*.py")}
    packages = {p.parent.relative_to(REPO).as_posix() for p in (REPO / "sergas_nb").rglob("__init__.py")}
    assert {"sergas_nb/lab", "sergas_nb/edits", "sergas_nb/emulator", "sergas_nb/benchmarking"} <= packages
    assert sources - names == set()
    assert "sergas_nb/py.typed" in names
    shipped_notebooks = {n.rsplit("/", 1)[1] for n in names if n.startswith("sergas_nb/_data/notebooks/")}
    assert shipped_notebooks == set(NOTEBOOKS)
    shipped_sql = {n.rsplit("/", 1)[1] for n in names if n.startswith("sergas_nb/_data/migrations/")}
    assert shipped_sql == {p.name for p in (REPO / "migrations").glob("*.sql")}
    entry_points = zipfile.ZipFile(wheel).read("sergas_nb-0.1.0.dist-info/entry_points.txt").decode()
    assert "sergas-nb = sergas_nb.cli:main" in entry_points


def test_installed_wheel_imports_from_its_own_folder(installed, tmp_path):
    code = "import sergas_nb, sergas_nb._resources as r; print(sergas_nb.__file__); print(r.migrations_dir())"
    out = _run(["python", "-c", code], tmp_path, installed).stdout.split()
    assert all(line.startswith(installed["VENV"]) for line in out), out
    assert out[1].endswith("sergas_nb/_data/migrations")


def test_migrate_from_an_empty_folder(installed, empty_database_url, tmp_path):
    out = _run(["sergas-nb", "migrate", "--database-url", empty_database_url], tmp_path, installed).stdout
    assert f"Applied {len(list((REPO / 'migrations').glob('*.sql')))} migration(s)" in out
    with psycopg.connect(empty_database_url) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == sorted(p.name for p in (REPO / "migrations").glob("*.sql"))
    again = _run(["sergas-nb", "migrate", "--database-url", empty_database_url], tmp_path, installed).stdout
    assert "up to date" in again
    assert list(tmp_path.iterdir()) == []  # nothing written into the working folder


def test_notebooks_command_copies_the_notebooks_and_keeps_the_analysts_changes(installed, tmp_path):
    out = _run(["sergas-nb", "notebooks", "work"], tmp_path, installed).stdout
    for name in NOTEBOOKS:
        assert (tmp_path / "work" / name).read_bytes() == (REPO / "notebooks" / name).read_bytes()
        assert f"copied  work/{name}" in out

    mine = tmp_path / "work" / "03_bulk_edits.ipynb"
    nb = json.loads(mine.read_text())
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ["My notes"]})
    mine.write_text(json.dumps(nb))
    edited = mine.read_bytes()
    (tmp_path / "work" / "01_oauth_onboarding.ipynb").unlink()
    refused = subprocess.run(
        ["sergas-nb", "notebooks", "work"], cwd=tmp_path, env=installed, capture_output=True, text=True
    )
    assert refused.returncode == 1
    assert "03_bulk_edits.ipynb" in refused.stderr and "--force" in refused.stderr
    assert mine.read_bytes() == edited
    assert not (tmp_path / "work" / "01_oauth_onboarding.ipynb").exists()  # all or nothing

    _run(["sergas-nb", "notebooks", "work", "--force"], tmp_path, installed)
    assert mine.read_bytes() == (REPO / "notebooks" / "03_bulk_edits.ipynb").read_bytes()
    assert (tmp_path / "work" / "01_oauth_onboarding.ipynb").exists()
