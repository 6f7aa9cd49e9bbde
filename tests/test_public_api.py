"""The public API at the package root: every name listed, every name resolves, the import stays light."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import sergas_nb as sn


def test_all_lists_exactly_the_exported_names():
    assert sorted(sn.__all__) == sorted(sn._EXPORTS)
    assert len(set(sn.__all__)) == len(sn.__all__)


@pytest.mark.parametrize("name", sorted(sn._EXPORTS))
def test_every_exported_name_resolves_to_its_module_object(name):
    import importlib

    value = getattr(sn, name)
    assert value is getattr(importlib.import_module(sn._EXPORTS[name]), name)
    assert name in dir(sn)


def test_the_documented_entry_points_are_there():
    assert callable(sn.connect) and callable(sn.connect_target) and callable(sn.apply) and callable(sn.undo)
    assert issubclass(sn.ZohoValidationError, sn.ZohoError) and issubclass(sn.ZohoRateLimitError, sn.ZohoAPIError)
    assert sn.LocalZoho.__module__.startswith("sergas_nb.emulator")


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'conect'"):
        sn.conect  # noqa: B018
    from_import = subprocess.run(
        [sys.executable, "-c", "from sergas_nb import conect"], capture_output=True, text=True, timeout=60
    )
    assert from_import.returncode == 1 and "ImportError" in from_import.stderr


def test_import_sergas_nb_loads_no_heavy_dependency():
    code = (
        "import sys, json, sergas_nb; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'pandas', 'zohocrmsdk', 'starlette', 'uvicorn', 'psycopg', 'papermill', 'numpy', 'requests'} "
        "or m.startswith('sergas_nb.'))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
