"""One governor per client: how many calls may be in flight at once, shared by all its threads.

Zoho limits an org (per app) to ``concurrency`` calls at once (Enterprise: 20) and a
sub-concurrency pool of 10 for COQL, search, writes of more than 10 records and sorted or
custom-view lists; past either it answers 429 TOO_MANY_REQUESTS. The governor keeps this client
inside those limits instead of finding them by 429s:

    with governor.slot(sub=True):      # blocks until a slot is free (and any back-off is over)
        resp = session.post(...)
        governor.observe(resp)         # 429: back off and halve the window; credits low: narrow it

After a 429 the window halves and every new call waits out a short back-off; each success
afterwards widens the window again by one call per ``window`` successes, up to the limit.
``X-API-CREDITS-REMAINING`` (sent once half the daily budget is spent) below ``low_credits``
narrows the window to ``low_credit_window``: a long pull then finishes slowly rather than
exhausting the org's budget for everyone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

DEFAULT_CONCURRENCY = 20
DEFAULT_SUB_CONCURRENCY = 10


@dataclass
class GovernorStats:
    """Counters since the client was built (``ZohoClient.metrics().attrs["governor"]``)."""

    calls: int = 0
    sub_calls: int = 0
    peak_in_flight: int = 0
    peak_sub_in_flight: int = 0
    waits: int = 0  # calls that had to wait for a slot
    wait_seconds: float = 0.0
    throttled: int = 0  # 429 answers seen
    credits_low: int = 0  # answers whose X-API-CREDITS-REMAINING was below the threshold
    credits_remaining: int | None = None
    window: float = 0.0
    sub_window: float = 0.0


class Governor:
    """Thread-safe slots within the org's concurrency and sub-concurrency (see module docstring)."""

    def __init__(
        self,
        concurrency: int = DEFAULT_CONCURRENCY,
        sub_concurrency: int = DEFAULT_SUB_CONCURRENCY,
        *,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        low_credits: int = 1000,
        low_credit_window: int = 2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if concurrency < 1 or sub_concurrency < 1:
            raise ValueError("concurrency and sub_concurrency must be at least 1")
        self.concurrency, self.sub_concurrency = int(concurrency), int(sub_concurrency)
        self.backoff, self.max_backoff = backoff, max_backoff
        self.low_credits, self.low_credit_window = low_credits, low_credit_window
        self._clock, self._sleep = clock, sleep
        self._cond = threading.Condition()
        self._in_flight = self._sub_in_flight = 0
        self._window = float(self.concurrency)
        self._sub_window = float(self.sub_concurrency)
        self._paused_until = 0.0
        self._strikes = 0  # 429s in a row, for the back-off length
        self._stats = GovernorStats(window=self._window, sub_window=self._sub_window)

    # -- slots -----------------------------------------------------------------------------------
    @contextmanager
    def slot(self, sub: bool = False) -> Iterator[None]:
        """Hold one call slot (and a sub-concurrency slot when ``sub``) for the ``with`` block."""
        start = self._clock()
        waited = False
        with self._cond:
            while True:
                pause = self._paused_until - self._clock()
                if pause <= 0 and self._free(sub):
                    break
                waited = True
                self._cond.wait(timeout=pause if pause > 0 else 0.5)
            self._in_flight += 1
            s = self._stats
            s.calls += 1
            s.peak_in_flight = max(s.peak_in_flight, self._in_flight)
            if sub:
                self._sub_in_flight += 1
                s.sub_calls += 1
                s.peak_sub_in_flight = max(s.peak_sub_in_flight, self._sub_in_flight)
            if waited:
                s.waits += 1
                s.wait_seconds += self._clock() - start
        try:
            yield
        finally:
            with self._cond:
                self._in_flight -= 1
                if sub:
                    self._sub_in_flight -= 1
                self._cond.notify_all()

    def _free(self, sub: bool) -> bool:
        if self._in_flight >= max(1, int(self._window)):
            return False
        return not sub or self._sub_in_flight < max(1, int(self._sub_window))

    # -- what the answers say --------------------------------------------------------------------
    def observe(self, response: Any) -> None:
        """Learn from one answer (anything with ``status_code`` and ``headers``)."""
        status = getattr(response, "status_code", None)
        headers = getattr(response, "headers", None) or {}
        raw = headers.get("X-API-CREDITS-REMAINING") if hasattr(headers, "get") else None
        if status == 429:
            self.throttled()
        elif status is not None and status < 500:
            self.succeeded()
        if raw is not None:
            try:
                self.credits(int(float(raw)))
            except ValueError:
                pass

    def throttled(self) -> None:
        """A 429: halve both windows and make new calls wait out a growing back-off."""
        with self._cond:
            self._strikes += 1
            self._window = max(1.0, self._window / 2)
            self._sub_window = max(1.0, self._sub_window / 2)
            wait = min(self.max_backoff, self.backoff * 2 ** (self._strikes - 1))
            self._paused_until = max(self._paused_until, self._clock() + wait)
            self._stats.throttled += 1
            self._note_windows()

    def succeeded(self) -> None:
        """A call went through: widen the windows again (additive increase)."""
        with self._cond:
            self._strikes = 0
            cap, sub_cap = self._caps()
            if self._window < cap:
                self._window = min(cap, self._window + 1.0 / max(1.0, self._window))
            if self._sub_window < sub_cap:
                self._sub_window = min(sub_cap, self._sub_window + 1.0 / max(1.0, self._sub_window))
            if self._window > cap or self._sub_window > sub_cap:
                self._window, self._sub_window = min(self._window, cap), min(self._sub_window, sub_cap)
            self._note_windows()
            self._cond.notify_all()

    def credits(self, remaining: int) -> None:
        """Credits left in the org's rolling day, as Zoho reported them."""
        with self._cond:
            self._stats.credits_remaining = remaining
            if remaining < self.low_credits:
                self._stats.credits_low += 1
                cap, sub_cap = self._caps()
                self._window, self._sub_window = min(self._window, cap), min(self._sub_window, sub_cap)
                self._note_windows()

    def _caps(self) -> tuple[float, float]:
        remaining = self._stats.credits_remaining
        if remaining is not None and remaining < self.low_credits:
            low = float(self.low_credit_window)
            return min(low, self.concurrency), min(low, self.sub_concurrency)
        return float(self.concurrency), float(self.sub_concurrency)

    def _note_windows(self) -> None:
        self._stats.window, self._stats.sub_window = self._window, self._sub_window

    # -- reporting -------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        with self._cond:
            s = self._stats
            return {
                "concurrency": self.concurrency,
                "sub_concurrency": self.sub_concurrency,
                "calls": s.calls,
                "sub_calls": s.sub_calls,
                "peak_in_flight": s.peak_in_flight,
                "peak_sub_in_flight": s.peak_sub_in_flight,
                "waits": s.waits,
                "wait_seconds": round(s.wait_seconds, 3),
                "throttled": s.throttled,
                "credits_low": s.credits_low,
                "credits_remaining": s.credits_remaining,
                "window": round(s.window, 2),
                "sub_window": round(s.sub_window, 2),
            }

    def in_flight(self) -> tuple[int, int]:
        with self._cond:
            return self._in_flight, self._sub_in_flight


def is_sub_call(method: str, path: str, params: Any = None) -> bool:
    """Whether Zoho counts this call against the sub-concurrency pool (reads; writes say so themselves)."""
    if path.endswith("/coql") or path.endswith("/search"):
        return True
    return bool(params) and any(k in params for k in ("sort_by", "cvid"))
