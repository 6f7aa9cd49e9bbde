"""In-memory record of what a client did: calls, token refreshes, rate-limit events."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import pandas as pd

_SCOPE: contextvars.ContextVar[str | None] = contextvars.ContextVar("sergas_metrics_scope", default=None)
_T = TypeVar("_T")


class ServerClock:
    """The earliest ``Date`` the CRM's answers carried while it was open: Zoho's own clock, the one
    its ``Modified_Time`` values come from (RFC 9110 section 6.6.1: an origin server with a clock
    sends ``Date``). A read spread over several calls knows from it how early its first part was
    read without guessing how far this machine's clock is from Zoho's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.earliest: datetime | None = None

    def saw(self, header: str | None) -> None:
        if not header:
            return
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return  # a malformed Date says nothing: the caller falls back to its own clock
        if when.tzinfo is None:
            return
        with self._lock:
            if self.earliest is None or when < self.earliest:
                self.earliest = when


_CLOCK: contextvars.ContextVar[ServerClock | None] = contextvars.ContextVar("sergas_server_clock", default=None)


@contextmanager
def server_clock() -> Iterator[ServerClock]:
    """Answers received inside (in this thread and in the client's pools' tasks it submits) are
    noted on the clock this yields."""
    clock = ServerClock()
    token = _CLOCK.set(clock)
    try:
        yield clock
    finally:
        _CLOCK.reset(token)


def saw_answer(date_header: str | None) -> None:
    """Called for every CRM answer: notes its ``Date`` on the open ``server_clock``, if any."""
    clock = _CLOCK.get()
    if clock is not None:
        clock.saw(date_header)


@contextmanager
def scope(tag: str) -> Iterator[None]:
    """Events made inside (in this thread, and in the client's pools' tasks it submits) carry
    ``tag`` as their ``scope``: how one of several reads running at once counts its own calls."""
    token = _SCOPE.set(tag)
    try:
        yield
    finally:
        _SCOPE.reset(token)


class ContextExecutor(ThreadPoolExecutor):
    """A thread pool whose tasks run in the submitter's context (its metrics ``scope``);
    ThreadPoolExecutor runs them in the worker thread's own."""

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


COLUMNS = ["at", "kind", "operation", "module", "status", "duration", "records", "retries", "detail"]


@dataclass
class Event:
    """One row of ``ZohoClient.metrics()``.

    kind: ``call`` (one public operation, retries included), ``token_refresh`` or ``rate_limit``.
    status: ``ok`` or the error code (``TOO_MANY_REQUESTS``, ``INVALID_TOKEN``, ``TIMEOUT``, ...).
    """

    kind: str
    operation: str
    status: str
    duration: float = 0.0
    records: int = 0
    retries: int = 0
    module: str | None = None
    detail: str | None = None
    at: pd.Timestamp = field(default_factory=lambda: pd.Timestamp(time.time(), unit="s", tz="UTC"))
    scope: str | None = field(default_factory=_SCOPE.get)


class Metrics:
    """Thread-safe append-only event list, kept to the last ``limit`` events."""

    def __init__(self, limit: int = 10_000) -> None:
        self._events: list[Event] = []
        self._lock = threading.Lock()
        self._limit = limit

    def add(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)
            if len(self._events) > self._limit:
                del self._events[: len(self._events) - self._limit]

    def count(self, kind: str) -> int:
        with self._lock:
            return sum(1 for e in self._events if e.kind == kind)

    def since(self, at: pd.Timestamp) -> list[Event]:
        """The events at or after ``at``, newest last: no frame built (a frame of 10,000 events
        costs a tenth of a second, and a sync asks after every module)."""
        with self._lock:
            out = []
            for e in reversed(self._events):
                if e.at < at:
                    break
                out.append(e)
        out.reverse()
        return out

    def frame(self) -> pd.DataFrame:
        with self._lock:
            rows = [asdict(e) for e in self._events]
        df = pd.DataFrame(rows, columns=COLUMNS)
        return df.astype(
            {
                "at": "datetime64[us, UTC]",
                "kind": "string",
                "operation": "string",
                "module": "string",
                "status": "string",
                "duration": "Float64",
                "records": "Int64",
                "retries": "Int64",
                "detail": "string",
            }
        )
