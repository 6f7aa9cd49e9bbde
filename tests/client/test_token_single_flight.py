"""TokenDeaths on its own: however many threads report one token dead, it is refreshed once; a
token already replaced is never refreshed again; a failed refresh is tried again by the next."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from sergas_nb._token_deaths import TokenDeaths
from sergas_nb.errors import ZohoRateLimitError


class Accounts:
    """Stands in for the token endpoint behind a keyed refresh (the stores' own rule)."""

    def __init__(self) -> None:
        self.current, self.calls, self.lock = "t0", 0, threading.Lock()

    def refresh(self, dead: str) -> str:
        with self.lock:
            if dead != self.current:
                return self.current  # already replaced: no token request
            self.calls += 1
        time.sleep(0.05)  # a refresh takes a while: the other threads arrive meanwhile
        with self.lock:
            self.current = f"t{self.calls}"
            return self.current


def test_twenty_threads_that_saw_one_token_die_cause_one_refresh() -> None:
    accounts = Accounts()
    deaths = TokenDeaths(accounts.refresh)
    start = threading.Barrier(20)

    def report() -> tuple[str, bool]:
        start.wait()
        return deaths.replace("t0")

    with ThreadPoolExecutor(20) as pool:
        got = list(pool.map(lambda _: report(), range(20)))
    assert accounts.calls == 1
    assert {token for token, _ in got} == {"t1"}
    assert sum(led for _, led in got) == 1
    # a late report of the same death: no refresh, the current token
    assert deaths.replace("t0") == ("t1", False) and accounts.calls == 1
    # the next death is its own refresh
    assert deaths.replace("t1")[0] == "t2" and accounts.calls == 2


def test_fresh_means_refreshed_after_the_moment_and_not_yet_worked() -> None:
    accounts = Accounts()
    deaths = TokenDeaths(accounts.refresh)
    began = deaths.generation
    deaths.replace("t0")
    assert deaths.fresh_since("t1", began)
    assert not deaths.fresh_since("t1", deaths.generation)  # made before that moment
    assert not deaths.fresh_since("t0", began)  # not made here
    deaths.worked("t1")
    assert not deaths.fresh_since("t1", began)  # it worked, then died: out of band


def test_a_failed_refresh_is_tried_again_by_the_next_report() -> None:
    failures = [ZohoRateLimitError("Access Denied", code="OAUTH_THROTTLED", status=None)]

    def refresh(dead: str) -> str:
        if failures:
            raise failures.pop()
        return "t1"

    deaths = TokenDeaths(refresh)
    with pytest.raises(ZohoRateLimitError):
        deaths.replace("t0")
    assert deaths.replace("t0") == ("t1", True)
