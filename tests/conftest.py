"""Shared fixtures: each area keeps its own in tests/fixtures/."""

import os
import tempfile
from pathlib import Path

import pytest

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


def _xdist_worker(config: pytest.Config) -> str | None:
    return getattr(config, "workerinput", {}).get("workerid") or os.environ.get("PYTEST_XDIST_WORKER")


def _suite_log(config: pytest.Config) -> Path:
    return Path(config.rootpath) / config.getini("log_file")


def pytest_configure(config: pytest.Config) -> None:
    # The suite log is opened in append mode (pyproject: log_file_mode) so that pytest-xdist's workers
    # all write to the one file test_suite_log.py scans; the controller (or a serial run) empties it
    # first, before any worker starts, so it still holds this run only. Runs before pytest's logging
    # plugin opens the file (that hook is trylast).
    if _xdist_worker(config) is None:
        log = _suite_log(config)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("")


# The files holding the `last` tests. pytest-xdist's controller schedules by node id and never sees
# markers, so it is told here; collection checks the list is complete.
LAST_FILES = frozenset({"tests/test_suite_log.py"})
# The longest files (whole-suite --durations, serial), handed out first so none starts near the end;
# the rest follow in pytest-xdist's usual order. Only an order: a file missing here still runs.
FIRST_FILES = (
    "tests/test_demo.py",
    "tests/client/test_write_outcomes.py",
    "tests/client/test_tokens.py",
    "tests/notebooks/test_benchmark_notebook.py",
    "tests/notebooks/test_browser.py",
    "tests/assistant/test_mcp_approval.py",
    "tests/assistant/test_mcp_http.py",
    "tests/test_benchmarks_smoke.py",
    "tests/notebooks/test_explorer_widgets.py",
    "tests/notebooks/test_bulk_notebook.py",
    "tests/emulator/test_bulk.py",
    "tests/emulator/test_hostile_input.py",
    "tests/emulator/test_oas_contract.py",
    "tests/emulator/test_node_sdk.py",
    "tests/assistant/test_mcp_stdio.py",
    "tests/assistant/test_mcp_writes.py",
    "tests/edits/test_reconcile.py",
    "tests/notebooks/test_mirror_notebook.py",
)


def pytest_collection_modifyitems(config, items):
    # Tests marked `last` inspect what the rest of the suite produced (logs): run them at the end.
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)
    unlisted = {i.nodeid.split("::", 1)[0] for i in items if i.get_closest_marker("last")} - LAST_FILES
    if unlisted:
        raise pytest.UsageError(f"`last` tests outside tests/conftest.py's LAST_FILES: {sorted(unlisted)}")


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadfile``, the FIRST_FILES first and the LAST_FILES only once every other test has finished."""
    if config.getvalue("dist") != "loadfile":
        return None
    from tests.xdist_last import LastFilesLastScheduling

    return LastFilesLastScheduling(config, log, LAST_FILES, FIRST_FILES)


@pytest.fixture(scope="session", autouse=True)
def _suite_log_holds_no_secret_at_worker_end(request: pytest.FixtureRequest):
    """Under pytest-xdist, the `last` test cannot run after the other workers' tests, and only its own
    process knows the secrets it registered. So every worker, after its last test, scans the whole
    suite log for token-shaped values and for the secrets registered in that worker: a leak fails
    the run (an error at the teardown of the worker's last test). Serial runs leave it to the test.

    The log redaction (what ``connect`` installs on the handlers present, pytest's suite-log handler
    among them) is installed here, at the start: serially the first connecting test installed it for
    the rest of the run, while a worker whose files never connect (tests/emulator/test_oauth.py's raw
    OAuth calls, logged by urllib3 with codes in the URL) would otherwise write raw tokens."""
    from sergas_nb import _secrets

    _secrets.install_log_redaction()
    yield
    if _xdist_worker(request.config) is None:
        return
    from tests.leaks import find_leaks

    leaks = find_leaks(_suite_log(request.config).read_text(errors="replace"))
    assert not leaks, f"the suite log holds secrets (worker {_xdist_worker(request.config)}): {leaks[:10]}"
