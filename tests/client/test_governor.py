"""The client's governor: one set of slots for all threads, slower after 429s and when credits run low."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from sergas_nb._governor import Governor, is_sub_call
from sergas_nb.client import connect


def _hammer(gov: Governor, calls: int, sub_every: int, hold: float = 0.01) -> None:
    seen = {"max": 0, "max_sub": 0}
    lock = threading.Lock()

    def one(i: int) -> None:
        sub = i % sub_every == 0
        with gov.slot(sub=sub):
            now, now_sub = gov.in_flight()
            with lock:
                seen["max"] = max(seen["max"], now)
                seen["max_sub"] = max(seen["max_sub"], now_sub)
            time.sleep(hold)

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(one, range(calls)))
    return seen  # type: ignore[return-value]


def test_threads_share_the_limits_and_never_exceed_them():
    gov = Governor(concurrency=5, sub_concurrency=2)
    seen = _hammer(gov, 120, sub_every=2)
    s = gov.stats()
    assert seen["max"] <= 5 and seen["max_sub"] <= 2
    assert s["peak_in_flight"] == seen["max"] and s["peak_sub_in_flight"] == seen["max_sub"]
    assert s["calls"] == 120 and s["sub_calls"] == 60
    assert s["waits"] > 0  # 32 threads for 5 slots: some had to wait
    assert gov.in_flight() == (0, 0)


def test_a_429_halves_the_window_pauses_new_calls_then_recovers():
    gov = Governor(concurrency=8, sub_concurrency=4, backoff=0.2)
    gov.observe(SimpleNamespace(status_code=429, headers={}))
    s = gov.stats()
    assert s["throttled"] == 1 and s["window"] == 4 and s["sub_window"] == 2
    start = time.monotonic()
    with gov.slot():
        waited = time.monotonic() - start
    assert waited >= 0.15  # the back-off is waited out before the next call goes
    for _ in range(200):
        gov.observe(SimpleNamespace(status_code=200, headers={}))
    assert gov.stats()["window"] == 8 and gov.stats()["sub_window"] == 4


def test_low_credits_narrow_the_window_until_they_recover():
    gov = Governor(concurrency=20, sub_concurrency=10, low_credits=1000, low_credit_window=2)
    gov.observe(SimpleNamespace(status_code=200, headers={"X-API-CREDITS-REMAINING": "500"}))
    s = gov.stats()
    assert s["credits_remaining"] == 500 and s["credits_low"] == 1 and s["window"] == 2 and s["sub_window"] == 2
    for _ in range(50):
        gov.observe(SimpleNamespace(status_code=200, headers={}))
    assert gov.stats()["window"] == 2  # still low: stays narrow
    gov.observe(SimpleNamespace(status_code=200, headers={"X-API-CREDITS-REMAINING": "400000"}))
    for _ in range(200):
        gov.observe(SimpleNamespace(status_code=200, headers={}))
    assert gov.stats()["window"] == 20


def test_which_calls_count_against_sub_concurrency():
    assert is_sub_call("POST", "/crm/v8/coql")
    assert is_sub_call("GET", "/crm/v8/Accounts/search", {"criteria": "x"})
    assert is_sub_call("GET", "/crm/v8/Accounts", {"sort_by": "Created_Time"})
    assert not is_sub_call("GET", "/crm/v8/Accounts", {"page": 1})


def test_bad_limits_are_refused():
    with pytest.raises(ValueError):
        Governor(concurrency=0)


def test_a_parallel_read_stays_inside_the_emulators_limits(fresh_emulator):
    """Emulator and client both limited to 4 calls / 2 COQL at once: a parallel read gets no 429."""
    z = fresh_emulator
    z.control.set_limits(concurrency=4, sub_concurrency=2)
    z.control.set_latency(0.02, 0.0)
    crm = connect(emulator=z, env_file=None, backoff=0.01)
    crm.governor = Governor(4, 2)
    try:
        df = crm.records("Accounts", fields=["Account_Name"], strategy="coql_partitions", progress=False)
        pages = crm.records("Accounts", fields=["Account_Name"], limit=2000, progress=False)
    finally:
        crm.close()
    limits = z.control.stats()["limits"]
    assert len(df) == 2500 and len(pages) == 2000
    assert limits["rejected"] == 0
    assert limits["peak_in_flight"] <= 4
    g = crm.metrics().attrs["governor"]
    assert g["peak_in_flight"] <= 4 and g["peak_sub_in_flight"] <= 2 and g["throttled"] == 0


def test_the_governor_backs_off_on_the_emulators_429(fresh_emulator):
    z = fresh_emulator
    z.control.add_fault("429", path="/crm/v8/Accounts$", method="GET", count=2)
    crm = connect(emulator=z, env_file=None, backoff=0.01)
    try:
        df = crm.records("Accounts", fields=["Account_Name"], limit=400, progress=False)
    finally:
        crm.close()
    assert len(df) == 400
    m = crm.metrics()
    assert m.attrs["governor"]["throttled"] == 2
    assert (m["kind"] == "rate_limit").sum() == 2
