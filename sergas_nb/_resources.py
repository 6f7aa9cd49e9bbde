"""Where the files that ship beside the code live (migrations, notebooks), and the user's cache.

A wheel carries them inside the package (``sergas_nb/_data/``, added at build time from the
repository's top-level folders); a source checkout or editable install reads the top-level folders
themselves. ``SERGAS_NB_MIGRATIONS`` names another migrations folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from sergas_nb.errors import ZohoError

_PACKAGE = Path(__file__).resolve().parent


class ResourceNotFound(ZohoError):
    """A folder that ships with sergas-nb (migrations, notebooks) is missing from this install."""


def resource_dir(name: str, *, env: str | None = None) -> Path:
    """The folder ``name`` (``"migrations"`` or ``"notebooks"``): from ``env`` if set, else the
    installed package data, else the source checkout's top level."""
    candidates: list[Path] = []
    if env and os.environ.get(env):
        candidates.append(Path(os.environ[env]))
    candidates += [_PACKAGE / "_data" / name, _PACKAGE.parent / name]
    for c in candidates:
        if c.is_dir() and any(c.iterdir()):
            return c
    raise ResourceNotFound(
        f"No {name} folder found (looked in: {', '.join(map(str, candidates))}); "
        "reinstall sergas-nb from a wheel or a source checkout"
    )


def migrations_dir() -> Path:
    return resource_dir("migrations", env="SERGAS_NB_MIGRATIONS")


def notebooks_dir() -> Path:
    return resource_dir("notebooks")


def cache_dir() -> Path:
    """Downloads kept between runs (the reports' widget renderer): ``SERGAS_NB_CACHE``, else
    ``$XDG_CACHE_HOME/sergas-nb``, else ``~/.cache/sergas-nb``."""
    if os.environ.get("SERGAS_NB_CACHE"):
        return Path(os.environ["SERGAS_NB_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sergas-nb"
