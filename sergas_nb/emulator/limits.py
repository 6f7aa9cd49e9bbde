"""Zoho's API limits: org concurrency, sub-concurrency and the rolling 24-hour credit budget.

Numbers from Zoho's API limits documentation: Enterprise concurrency 20 per org per app,
sub-concurrency 10 (COQL, search, writes of more than 10 records, Get Records with cvid/sort_by);
most calls cost 1 credit, writes about 1 per 10 records; past half the budget answers carry
``X-API-CREDITS-REMAINING``; past either limit Zoho answers 429 ``TOO_MANY_REQUESTS``.
Counters are touched from one event loop, but a lock keeps them right if handlers ever run in threads.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from sergas_nb.emulator.errors import EmulatorError

DAY = 86400.0


def too_many_requests() -> EmulatorError:
    # Zoho documents no Retry-After header; the code and status are what clients can rely on.
    return EmulatorError("TOO_MANY_REQUESTS", "You have made too many requests. Please try again later.", status=429)


class _Pool:
    """One concurrency pool: its size, the calls inside it now, and the most there have been at once."""

    def __init__(self, size: int) -> None:
        self.size, self.in_flight, self.peak = size, 0, 0


class Limits:
    def __init__(
        self,
        concurrency: int = 20,
        sub_concurrency: int = 10,
        credits_per_day: int = 1_000_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._initial = (concurrency, sub_concurrency, credits_per_day)
        self.reset()

    def reset(self) -> None:
        """Counters cleared and the configured limits back to the constructor's values."""
        with self._lock:
            concurrency, sub_concurrency, self.credits_per_day = self._initial
            self._org, self._sub = _Pool(concurrency), _Pool(sub_concurrency)
            self.rejected = 0
            self._spent: deque[tuple[float, int]] = deque()
            self._spent_total = 0

    def configure(
        self, concurrency: int | None = None, sub_concurrency: int | None = None, credits_per_day: int | None = None
    ) -> None:
        with self._lock:
            if concurrency is not None:
                self._org.size = int(concurrency)
            if sub_concurrency is not None:
                self._sub.size = int(sub_concurrency)
            if credits_per_day is not None:
                self.credits_per_day = int(credits_per_day)

    def org_slot(self) -> AbstractContextManager[None]:
        """The org-wide concurrency pool (every CRM call)."""
        return self._slot(self._org)

    def sub_slot(self) -> AbstractContextManager[None]:
        """The sub-concurrency pool (COQL, search, writes of more than 10 records)."""
        return self._slot(self._sub)

    @contextmanager
    def _slot(self, pool: _Pool) -> Iterator[None]:
        with self._lock:
            if pool.in_flight >= pool.size:
                self.rejected += 1
                raise too_many_requests()
            pool.in_flight += 1
            pool.peak = max(pool.peak, pool.in_flight)
        try:
            yield
        finally:
            with self._lock:
                pool.in_flight -= 1

    def _expire(self, now: float) -> None:
        spent = self._spent
        while spent and now - spent[0][0] >= DAY:
            self._spent_total -= spent.popleft()[1]

    def charge(self, cost: int) -> None:
        """Spend ``cost`` credits or raise 429 when the rolling 24 h budget cannot cover them."""
        with self._lock:
            now = self.clock()
            self._expire(now)
            if self._spent_total + cost > self.credits_per_day:
                self.rejected += 1
                raise too_many_requests()
            self._spent.append((now, cost))
            self._spent_total += cost

    def remaining(self) -> int:
        with self._lock:
            self._expire(self.clock())
            return self.credits_per_day - self._spent_total

    def remaining_header(self) -> str | None:
        """The X-API-CREDITS-REMAINING value once past half the budget, else None."""
        left = self.remaining()
        return str(left) if left < self.credits_per_day / 2 else None

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "in_flight": self._org.in_flight,
                "sub_in_flight": self._sub.in_flight,
                "rejected": self.rejected,
                "peak_in_flight": self._org.peak,
                "credits_spent": self._spent_total,
                "credits_per_day": self.credits_per_day,
                "concurrency": self._org.size,
                "sub_concurrency": self._sub.size,
            }


def write_cost(n_records: int) -> int:
    """Inserts, updates, upserts and deletes cost about one credit per ten records."""
    return max(1, math.ceil(n_records / 10))


def coql_cost(limit: int) -> int:
    """COQL credits grow with the LIMIT asked for (Zoho: 1-200: 1, 201-1000: 2, 1001-2000: 3)."""
    return 1 if limit <= 200 else 2 if limit <= 1000 else 3
