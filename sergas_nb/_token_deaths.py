"""Access tokens that die mid-run: one refresh per dead token, however many threads saw it die.

Zoho access tokens die out of band: each refresh token keeps a bounded number of live access
tokens and the oldest is deleted when another is made (another process's refreshes retire ours),
and admins revoke them. A 401 INVALID_TOKEN names nothing but "this token": the pipeline knows
which token each request carried (``AuthFailure.rejected``) and asks :class:`TokenDeaths` for
its replacement:

- the first thread to report a token dead refreshes it (the store's keyed refresh: a token another
  process already replaced is not refreshed again); every other thread that saw *the same* token
  die waits for that refresh and shares it (single flight, keyed by the dead token);
- a token already replaced is never refreshed again: a request sent with an older token is simply
  sent again with the current one.

``fresh_since`` says whether a token was made by a refresh here after a given moment (a generation
count) and has not worked yet (no answer but 401 came to a request carrying it): a rejection of
such a token is what the pipeline may take as final (see ``_pipeline.Pipeline.call``); a token
that worked and then died died out of band.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

KEEP = 256  # dead tokens (and minted ones) remembered; an older one is refreshed by key (a no-op)


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    token: str | None = None
    error: BaseException | None = None


class TokenDeaths:
    """Single-flight refreshes keyed by the token that died. ``refresh(dead)`` returns the token
    that replaces ``dead`` (refreshing only when ``dead`` is still the current one)."""

    def __init__(self, refresh: Callable[[str], str]) -> None:
        self._refresh = refresh
        self._lock = threading.Lock()
        self._flights: OrderedDict[str, _Flight] = OrderedDict()
        self._minted: OrderedDict[str, int] = OrderedDict()  # token -> the generation it began
        self._worked: set[str] = set()  # minted tokens some request carried with an answer but 401
        self.generation = 0  # refreshes that produced a new token here
        self.refreshes = 0  # refreshes this process led (one per dead token)

    def replace(self, dead: str) -> tuple[str, bool]:
        """The token that replaces ``dead``, and whether this thread did the refresh."""
        with self._lock:
            flight = self._flights.get(dead)
            lead = flight is None
            if flight is None:
                flight = self._flights[dead] = _Flight()
                while len(self._flights) > KEEP:
                    self._flights.popitem(last=False)
        if not lead:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error  # the leader's refresh failed: so does ours (retried by the caller)
            assert flight.token is not None
            return flight.token, False
        try:
            new = self._refresh(dead)
        except BaseException as exc:
            flight.error = exc
            with self._lock:  # the next report of this death tries again
                if self._flights.get(dead) is flight:
                    del self._flights[dead]
            flight.done.set()
            raise
        with self._lock:
            self.refreshes += 1
            if new != dead and new not in self._minted:
                self.generation += 1
                self._minted[new] = self.generation
                while len(self._minted) > KEEP:
                    self._worked.discard(self._minted.popitem(last=False)[0])
        flight.token = new
        flight.done.set()
        return new, True

    def worked(self, token: str) -> None:
        """A request carrying ``token`` was answered with anything but 401 (called per request)."""
        if token in self._worked or token not in self._minted:  # lock-free fast path: one look-up
            return
        with self._lock:
            if token in self._minted:
                self._worked.add(token)

    def fresh_since(self, token: str | None, generation: int) -> bool:
        """Whether ``token`` came from a refresh here that finished after ``generation`` was read,
        and has not worked since."""
        if token is None:
            return False
        with self._lock:
            return self._minted.get(token, 0) > generation and token not in self._worked


__all__ = ["TokenDeaths"]
