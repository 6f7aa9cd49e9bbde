"""Journal connections kept open between journal calls and runs, for this process.

A parallel apply or undo holds twelve connections (the caller's, ten workers', the finisher's);
opened afresh each run they cost it twelve PostgreSQL backend starts, 0.08 s of client CPU and
more of the server's, on the same cores as the run's own work. A connection handed back after
use without an error waits here (at most ``IDLE_MAX`` of them in all, each for ``IDLE_SECONDS``)
and is handed out again for the same DSN.

Only connections that are idle, outside a transaction and not closed by the server come back
out: a connection whose use raised anything is closed, not kept (so an advisory lock it may still
hold ends with it), and one the server has closed or written to since (a restart, an
administrator's ``pg_terminate_backend``) shows that as a readable socket and is replaced by a
new connection, without a round trip.

Not psycopg_pool: its connections are opened by background workers that retry a failing server
for minutes, so a wrong or unreachable journal DSN would surface as a ``PoolTimeout`` after
``timeout`` seconds instead of at once as the ``ZohoDatabaseError`` naming host, port and
database that every journal call raises; and a pool's ``max_size`` would make a second run wait
behind the first one's twelve connections. Here a connection is opened in the caller's thread, and
only idle ones are kept.
"""

from __future__ import annotations

import atexit
import os
import select
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

IDLE_MAX = 12
IDLE_SECONDS = 60.0

_idle: list[tuple[str, float, psycopg.Connection[Any]]] = []  # (dsn, handed back at, connection)
_lock = threading.Lock()


def checkout(dsn: str, connect: Callable[[str], psycopg.Connection[Any]]) -> psycopg.Connection[Any]:
    """A kept connection to ``dsn`` that is still good, else ``connect(dsn)``."""
    now = time.monotonic()
    found: psycopg.Connection[Any] | None = None
    with _lock:
        stale = [e for e in _idle if now - e[1] > IDLE_SECONDS]
        _idle[:] = [e for e in _idle if now - e[1] <= IDLE_SECONDS]
        for i in range(len(_idle) - 1, -1, -1):  # the most recently used first
            if _idle[i][0] == dsn:
                found = _idle.pop(i)[2]
                break
    for _, _, conn in stale:
        _close(conn)
    if found is not None:
        if _usable(found):
            return found
        _close(found)
    return connect(dsn)


def checkin(dsn: str, conn: psycopg.Connection[Any]) -> None:
    """Keep ``conn`` for the next checkout of ``dsn`` (closed instead when it is not reusable)."""
    if not _usable(conn):
        _close(conn)
        return
    with _lock:
        _idle.append((dsn, time.monotonic(), conn))
        overflow = _idle[:-IDLE_MAX] if len(_idle) > IDLE_MAX else []
        del _idle[: len(overflow)]
    for _, _, old in overflow:
        _close(old)


def close_all() -> None:
    """Close every kept connection (tests; a process about to fork)."""
    with _lock:
        kept = list(_idle)
        _idle.clear()
    for _, _, conn in kept:
        _close(conn)


def _forget_in_child() -> None:
    # A forked child must not speak on its parent's sockets (nor close them: that would end the
    # parent's sessions); it opens its own.
    _idle.clear()


os.register_at_fork(after_in_child=_forget_in_child)
atexit.register(close_all)


def _usable(conn: psycopg.Connection[Any]) -> bool:
    if conn.closed or not conn.autocommit or conn.info.transaction_status != TransactionStatus.IDLE:
        return False
    try:
        # An idle connection the server has nothing to say to has nothing to read: a readable
        # socket is a termination notice or the end of the stream.
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return False
    return not readable


def _close(conn: psycopg.Connection[Any]) -> None:
    try:
        conn.close()
    except Exception:  # closing a dead connection: nothing left to release
        pass
