"""The mirror's file: one DuckDB database in the mirror's folder, its bookkeeping tables, the sync lock.

- ``DIR/mirror.duckdb`` holds a table per module (``"Accounts"``), its tombstones
  (``"Accounts__deleted"``) and the bookkeeping tables ``_mirror_meta`` (what the file is: a magic
  value, the format, the API host it mirrors), ``_mirror_modules`` (per module: watermarks, field
  metadata, counters), ``_mirror_changes`` (the last sync's changes) and ``_mirror_syncs`` (reports).
- A new file is built under a temporary name and renamed into place, so a half-made file never
  carries the mirror's name. A file that is not DuckDB, or a DuckDB file without the magic value,
  is refused and never written to.
- Connections are short: a read or a sync's one transaction (at its end, after its calls to the
  CRM) uses the process's connection, which is let go ``LINGER`` seconds after its last use. DuckDB
  lets one process at a time hold the file; another process waits (up to ``busy_timeout``) instead
  of failing, and readers in the syncing process keep reading the last committed copy.
- ``DIR/sync.lock`` (an flock, released by the OS if the process dies) lets one sync run at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

MAGIC = "sergas-nb mirror"
FORMAT = 1
FILE = "mirror.duckdb"
LOCK = "sync.lock"
LINGER = 2.0  # seconds the file stays open after its last use
# DuckDB's buffers while a transaction writes. Unlimited, landing 100,000 accounts (80 MB as a frame)
# kept about 150 MB of them besides the frame, and a sync peaked at 3.7x its frames; with this the
# rows go to the file as they are written and the peak is 2.2x, in the same time.
WRITE_MEMORY = "64MB"

_SCHEMA = [
    "CREATE TABLE _mirror_meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE _mirror_modules (
        module VARCHAR PRIMARY KEY, watermark VARCHAR, deleted_watermark VARCHAR, read_started VARCHAR,
        syncs INTEGER, last_reconcile INTEGER, fields_json VARCHAR, removed_json VARCHAR, strategy VARCHAR)""",
    """CREATE TABLE _mirror_changes (
        module VARCHAR, id VARCHAR, change VARCHAR, field VARCHAR, old VARCHAR, new VARCHAR)""",
    """CREATE TABLE _mirror_syncs (
        sync INTEGER, synced_at TIMESTAMPTZ, module VARCHAR, added BIGINT, changed BIGINT, deleted BIGINT,
        calls BIGINT, credits BIGINT, seconds DOUBLE, strategy VARCHAR, watermark VARCHAR)""",
]


class MirrorError(Exception):
    """A mirror cannot be opened or synced; the message says why and what to do."""


class MirrorBusyError(MirrorError):
    """Another sync of the same mirror is running."""


class MirrorFileError(MirrorError):
    """The path holds something that is not a sergas-nb mirror (or not one of this org)."""


class MirrorStore:
    """The mirror folder: validated (or created) on construction."""

    def __init__(self, path: str | os.PathLike[str], api_url: str, *, busy_timeout: float = 60.0) -> None:
        self.dir = Path(path).expanduser()
        self.file = self.dir / FILE
        self.api_url = api_url
        self.busy_timeout = busy_timeout
        self._guard = threading.Lock()
        self._shared: duckdb.DuckDBPyConnection | None = None
        self._users = 0
        self._timer: threading.Timer | None = None
        if self.dir.exists() and not self.dir.is_dir():
            raise MirrorFileError(f"{self.dir} is a file, not a mirror folder; refusing to touch it")
        if self.file.exists():
            self._check()
        else:
            self._create()

    # -- the file ----------------------------------------------------------------------------------
    def _check(self) -> None:
        try:
            con = self._open(read_only=True)
        except duckdb.Error as exc:
            if isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower():
                return  # held by a sync in another process: a mirror; checked on the next read
            raise MirrorFileError(
                f"{self.file} is not a sergas-nb mirror (not a DuckDB file: {exc}); it is left as it is. "
                "Move it away or choose another --path."
            ) from None
        try:
            try:
                meta = dict(con.execute("SELECT key, value FROM _mirror_meta").fetchall())
            except duckdb.Error:
                meta = {}
        finally:
            con.close()
        if meta.get("magic") != MAGIC:
            raise MirrorFileError(
                f"{self.file} is a DuckDB file but not a sergas-nb mirror; it is left as it is. Choose another --path."
            )
        if int(meta.get("format", 0)) > FORMAT:
            raise MirrorFileError(f"{self.file} was written by a newer sergas-nb (format {meta['format']}); upgrade")
        if meta.get("api_url") != self.api_url:
            raise MirrorFileError(
                f"{self.file} mirrors {meta.get('api_url')}, not {self.api_url}; use another --path for this org"
            )

    def _create(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f".{FILE}.{os.getpid()}.tmp"
        for leftover in (tmp, Path(str(tmp) + ".wal")):
            leftover.unlink(missing_ok=True)
        con = duckdb.connect(str(tmp))
        try:
            for stmt in _SCHEMA:
                con.execute(stmt)
            con.executemany(
                "INSERT INTO _mirror_meta VALUES (?, ?)",
                [("magic", MAGIC), ("format", str(FORMAT)), ("api_url", self.api_url)],
            )
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, self.file)  # the mirror's name only ever names a complete file

    def _open(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        # Every connection in a process uses the same configuration (DuckDB shares one instance per
        # file and process), so in-process readers see the last committed copy during a write.
        del read_only
        con = duckdb.connect(str(self.file))
        con.execute("SET TimeZone = 'UTC'")
        # Arrow results with large (64-bit offset) strings: the frame's string columns, as they
        # are, with no cast; half the time of a frame() read at 20,000 records.
        con.execute("SET arrow_large_buffer_size = true")
        return con

    def _wait_open(self) -> duckdb.DuckDBPyConnection:
        """A connection, waiting while another process holds the file (a sync committing)."""
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.02
        while True:
            try:
                return self._open(read_only=False)
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise MirrorError(f"{self.file} cannot be opened: {exc}") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the process's connection to the file. Opening costs about 0.1 s, so the
        connection lingers ``LINGER`` seconds after its last use (other processes wait that long)."""
        with self._guard:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._shared is None:
                self._shared = self._wait_open()
            self._users += 1
            cur = self._shared.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        return cur

    def _release(self, cur: duckdb.DuckDBPyConnection) -> None:
        cur.close()
        with self._guard:
            self._users -= 1
            if self._users == 0 and self._shared is not None:
                self._timer = threading.Timer(LINGER, self.close)
                self._timer.daemon = True
                self._timer.start()

    def close(self) -> None:
        """Let go of the file now (other processes may open it)."""
        with self._guard:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._users == 0 and self._shared is not None:
                self._shared.close()
                self._shared = None

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Keep the file open for a whole sync (no linger timer, a thread, per transaction)."""
        con = self._connect()
        try:
            yield
        finally:
            self._release(con)

    @contextlib.contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = self._connect()
        try:
            yield con
        finally:
            self._release(con)

    @staticmethod
    @contextlib.contextmanager
    def snapshot(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
        """Reads on ``con`` from one snapshot of the file: what a sync commits meanwhile is not seen."""
        con.execute("BEGIN TRANSACTION")
        try:
            yield
        finally:
            con.execute("ROLLBACK")  # nothing was written; a read-only transaction ends either way

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction: everything in it lands, or (on error, or a kill) none of it."""
        con = self._connect()
        try:
            with _memory_limit(con, WRITE_MEMORY):
                con.execute("BEGIN TRANSACTION")
                try:
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
        finally:
            self._release(con)

    @contextlib.contextmanager
    def sync_lock(self) -> Iterator[None]:
        """Held for a whole sync; a second one (any process) gets MirrorBusyError at once."""
        fd = os.open(self.dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                raise MirrorBusyError(
                    f"another sync of {self.dir} is running (pid {holder}); wait for it to finish, "
                    "reads keep working meanwhile"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            try:
                yield
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    # -- bookkeeping -------------------------------------------------------------------------------
    def modules(self, con: duckdb.DuckDBPyConnection | None = None) -> dict[str, dict[str, Any]]:
        if con is None:
            with self.read() as own:
                return self.modules(own)
        cur = con.execute("SELECT * FROM _mirror_modules")
        cols = [d[0] for d in cur.description]
        return {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}

    def tables(self) -> set[str]:
        with self.read() as con:
            return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


@contextlib.contextmanager
def _memory_limit(con: duckdb.DuckDBPyConnection, limit: str) -> Iterator[None]:
    """DuckDB's memory limit lowered for a while, then back to DuckDB's default (the mirror's
    connections never set another; the setting is shown rounded, so it is reset, not re-set).
    It is the process's: readers in other threads share it meanwhile, and spill to the mirror's
    temp folder rather than fail."""
    try:
        con.execute(f"SET memory_limit = '{limit}'")
    except duckdb.Error:  # more than that is pinned now (a large read running): write without it
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute("RESET memory_limit")
