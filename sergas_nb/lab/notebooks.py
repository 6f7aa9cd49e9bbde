"""Run the project's notebooks unattended (papermill) and read back what they measured.

Each notebook ends with a code cell tagged ``summary`` that prints one JSON line of its key
numbers; :func:`read_summary` returns it so the demo and the tests can check values, not just
"no exception". :func:`copy_notebooks` (``sergas-nb notebooks DIR``) gives an analyst a copy to
open in JupyterLab.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import nbformat

from sergas_nb._resources import notebooks_dir
from sergas_nb.errors import ZohoError

NOTEBOOKS = (
    "01_oauth_onboarding.ipynb",
    "02_explore_accounts.ipynb",
    "03_bulk_edits.ipynb",
    "04_performance_benchmarks.ipynb",
    "05_local_mirror.ipynb",
)


def __getattr__(name: str) -> Path:
    # Looked up on use, so importing this module never fails on an install without notebooks.
    if name == "NOTEBOOKS_DIR":
        return notebooks_dir()
    raise AttributeError(name)


class NotebookError(ZohoError):
    """A notebook failed to run, or ran without printing its summary line."""


# Connection settings a kernel could inherit from this process; kernel_env unsets those not given.
CONNECTION_VARS = (
    "ZOHO_SDK_REGION",
    "ZOHO_SDK_ENVIRONMENT",
    "ZOHO_SDK_LOCAL_URL",
    "ZOHO_SDK_LOCAL_CONTENT_URL",
    "ZOHO_SDK_LOCAL_DOWNLOAD_URL",
    "ZOHO_SDK_CLIENT_ID",
    "ZOHO_SDK_CLIENT_SECRET",
    "ZOHO_SDK_REFRESH_TOKEN",
    "ZOHO_SDK_REDIRECT_URL",
    "DATABASE_URL",
    "DATABASE_HOST",
)


def kernel_env(zoho: Any = None, database_url: str | None = None, **extra: str | None) -> dict[str, str | None]:
    """The environment for :func:`run_notebook`: the emulator ``zoho`` (a LocalZoho) and the database.

    Every connection variable not given is unset (None), so a kernel never picks up settings of
    this process by accident; plots render headless (``MPLBACKEND=Agg``). ``extra`` adds or
    overrides variables (None unsets one).
    """
    env: dict[str, str | None] = dict.fromkeys(CONNECTION_VARS)
    if zoho is not None:
        env.update(
            {
                "ZOHO_SDK_REGION": "local",
                "ZOHO_SDK_ENVIRONMENT": "production",
                "ZOHO_SDK_LOCAL_URL": zoho.url,
                "ZOHO_SDK_LOCAL_CONTENT_URL": getattr(zoho, "content_url", None),
                "ZOHO_SDK_LOCAL_DOWNLOAD_URL": getattr(zoho, "download_url", None),
                "ZOHO_SDK_CLIENT_ID": zoho.client_id,
                "ZOHO_SDK_CLIENT_SECRET": zoho.client_secret,
                "ZOHO_SDK_REFRESH_TOKEN": zoho.refresh_token,
                "ZOHO_SDK_REDIRECT_URL": zoho.redirect_url,
            }
        )
    env.update(DATABASE_URL=database_url, MPLBACKEND="Agg", **extra)
    return env


def _set_environ(env: Mapping[str, str | None]) -> None:
    for k, v in env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@contextlib.contextmanager
def environment(env: Mapping[str, str | None]) -> Iterator[None]:
    """Temporarily set (or, with None, unset) environment variables: the kernel inherits them.

    Secrets travel this way rather than as papermill parameters, which are written into the
    executed notebook.
    """
    saved = {k: os.environ.get(k) for k in env}
    try:
        _set_environ(env)
        yield
    finally:
        _set_environ(saved)


def read_summary(notebook: str | Path | nbformat.NotebookNode) -> dict[str, Any]:
    """The JSON printed by the cell tagged ``summary`` of an executed notebook."""
    nb = notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or "summary" not in cell.get("metadata", {}).get("tags", []):
            continue
        for output in reversed(cell.get("outputs", [])):
            if output.get("output_type") != "stream" or output.get("name") != "stdout":
                continue
            for line in reversed(output.get("text", "").splitlines()):
                if line.startswith("{"):
                    return json.loads(line)
    raise NotebookError("the notebook has no cell tagged 'summary' that printed a JSON line")


def run_notebook(
    path: str | Path,
    output: str | Path,
    parameters: Mapping[str, Any] | None = None,
    env: Mapping[str, str | None] | None = None,
    cwd: str | Path | None = None,
    timeout: int = 900,
) -> dict[str, Any]:
    """Execute ``path`` into ``output`` with papermill and return its summary JSON."""
    import papermill  # here: importing it costs a second, and copy_notebooks needs none of it

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with environment(dict(env or {})):
        try:
            nb = papermill.execute_notebook(
                str(path),
                str(output),
                parameters=dict(parameters or {}),
                cwd=str(cwd or Path(path).resolve().parent),
                kernel_name="python3",
                progress_bar=False,
                execution_timeout=timeout,
            )
        except papermill.PapermillExecutionError as exc:
            raise NotebookError(
                f"{Path(path).name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}", {"output": str(output)}
            ) from None
    return read_summary(nb)


def copy_notebooks(dest: str | os.PathLike[str], *, force: bool = False) -> dict[str, str]:
    """Copy the shipped notebooks into ``dest``; ``{name: "copied" | "unchanged" | "replaced"}``.

    A notebook already in ``dest`` that differs from the shipped one (the analyst's work) is never
    overwritten unless ``force``: then nothing is copied and :class:`NotebookError` names them all.
    """
    import shutil

    source = notebooks_dir()
    target = Path(dest)
    if target.exists() and not target.is_dir():
        raise NotebookError(f"{target} exists and is not a folder")
    status: dict[str, str] = {}
    for name in NOTEBOOKS:
        existing = target / name
        if not existing.exists():
            status[name] = "copied"
        elif existing.read_bytes() == (source / name).read_bytes():
            status[name] = "unchanged"
        else:
            status[name] = "replaced"
    modified = [n for n, s in status.items() if s == "replaced"]
    if modified and not force:
        raise NotebookError(
            f"{', '.join(modified)} in {target} differ from the shipped notebooks (your changes?); "
            "nothing was copied. Copy into another folder, or pass --force to overwrite them"
        )
    target.mkdir(parents=True, exist_ok=True)
    for name, state in status.items():
        if state != "unchanged":
            shutil.copyfile(source / name, target / name)
    return status
