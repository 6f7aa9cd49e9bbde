"""In-memory record of what a client did: calls, token refreshes, rate-limit events."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import pandas as pd

_SCOPE: contextvars.ContextVar[str | None] = contextvars.ContextVar("sergas_metrics_scope", default=None)
_T = TypeVar("_T")


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
