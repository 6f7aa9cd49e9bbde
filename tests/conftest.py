"""Shared fixtures: each area keeps its own in tests/fixtures/."""

import os
import tempfile

# Jupyter, IPython and the SDK write under HOME: keep the real home untouched.
_home = tempfile.mkdtemp(prefix="sergas-nb-test-home-")
for var, sub in (
    ("HOME", ""),
    ("JUPYTER_CONFIG_DIR", "jupyter"),
    ("JUPYTER_DATA_DIR", "jupyter-data"),
    ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"),
    ("IPYTHONDIR", "ipython"),
    ("MPLCONFIGDIR", "mpl"),
):
    os.environ[var] = os.path.join(_home, sub) if sub else _home

pytest_plugins = [
    "tests.fixtures.emulator",
    "tests.fixtures.postgres",
    "tests.fixtures.browser",
]


def pytest_collection_modifyitems(config, items):
    # Tests marked `last` inspect what the rest of the suite produced (logs): run them at the end.
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)
