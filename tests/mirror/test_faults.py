"""A sync killed mid-run, a second sync at the same time, files that are not mirrors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import duckdb
import pytest

from sergas_nb.mirror import Mirror, MirrorBusyError, MirrorFileError
from sergas_nb.mirror.store import FILE
from tests.mirror.conftest import MODULES, assert_mirrors, by_id

_CHILD = textwrap.dedent(
    """
    import sys, types
    from sergas_nb import connect
    from sergas_nb.mirror import Mirror
    url, cid, secret, refresh, path = sys.argv[1:6]
    z = types.SimpleNamespace(url=url, client_id=cid, client_secret=secret, refresh_token=refresh, redirect_url=None)
    crm = connect(emulator=z, env_file=None)
    with Mirror(crm, path) as m:
        print("syncing", flush=True)
        m.sync(["Accounts", "Deals"], full=True, progress=False)
    print("done", flush=True)
    """
)


def test_a_sync_killed_mid_run_leaves_the_copy_intact_and_the_next_sync_converges(small_org, crm, tmp_path):
    path = tmp_path / "m"
    with Mirror(crm, path) as m:
        m.sync(MODULES, progress=False)
        before = {mod: by_id(m.frame(mod)) for mod in MODULES}
    ids = list(before["Accounts"]["id"][:5])
    crm.update("Accounts", [{"id": i, "Phone": "555-0000"} for i in ids])
    crm.delete("Accounts", ids[3:])
    small_org.control.set_latency(fixed=0.3)  # slow enough to be killed in the middle
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _CHILD,
            small_org.url,
            small_org.client_id,
            small_org.client_secret,
            small_org.refresh_token,
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "syncing"
        time.sleep(1.0)  # inside the full reads (metadata, then pages: several calls of 0.3 s one after another)
        assert child.poll() is None, "the sync finished before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    small_org.control.set_latency()
    with Mirror(crm, path) as m:
        # Killed at any point: what is on disk is a whole copy, the one before or the one after a
        # module's transaction, never half of one.
        for mod in MODULES:
            now = by_id(m.frame(mod))
            assert len(now) in (len(before[mod]), len(before[mod]) - (2 if mod == "Accounts" else 0))
        m.sync(MODULES, progress=False)
        assert_mirrors(m, crm)


def test_a_second_sync_is_refused_while_readers_keep_reading(small_org, crm, tmp_path):
    path = tmp_path / "m"
    m = Mirror(crm, path)
    m.sync(MODULES, progress=False)
    small_org.control.set_latency(fixed=0.1)
    errors: list[BaseException] = []

    def first() -> None:
        try:
            m.sync(MODULES, full=True, progress=False)
        except BaseException as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    t = threading.Thread(target=first)
    t.start()
    try:
        time.sleep(0.5)
        other = Mirror(crm, path)
        with pytest.raises(MirrorBusyError, match="another sync of .* is running"):
            other.sync(MODULES, progress=False)
        assert len(m.frame("Accounts")) > 0  # readers read the last copy meanwhile
        assert len(other.sql("select count(*) n from Accounts")) == 1
    finally:
        t.join(60)
        small_org.control.set_latency()
    assert not errors
    m.close()


def test_a_file_that_is_not_a_mirror_is_refused_and_left_alone(crm, tmp_path):
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / FILE).write_bytes(b"not a database at all" * 100)
    with pytest.raises(MirrorFileError, match="not a sergas-nb mirror"):
        Mirror(crm, junk)
    assert (junk / FILE).read_bytes() == b"not a database at all" * 100

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    con = duckdb.connect(str(foreign / FILE))
    con.execute("create table sales (x int)")
    con.close()
    size = (foreign / FILE).stat().st_size
    with pytest.raises(MirrorFileError, match="DuckDB file but not a sergas-nb mirror"):
        Mirror(crm, foreign)
    assert (foreign / FILE).stat().st_size == size

    a_file = tmp_path / "plain.txt"
    a_file.write_text("hello")
    with pytest.raises(MirrorFileError, match="is a file, not a mirror folder"):
        Mirror(crm, a_file)
    assert a_file.read_text() == "hello"


def test_a_mirror_of_another_org_is_refused(crm, tmp_path):
    path = tmp_path / "m"
    Mirror(crm, path).close()
    con = duckdb.connect(str(path / FILE))
    con.execute("update _mirror_meta set value = 'https://www.zohoapis.eu' where key = 'api_url'")
    con.close()
    with pytest.raises(MirrorFileError, match="mirrors https://www.zohoapis.eu"):
        Mirror(crm, path)
