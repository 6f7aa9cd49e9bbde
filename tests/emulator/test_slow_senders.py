"""Concurrency counts from the moment a call reaches its handler: clients stalling mid-body hold no slot.

Raw sockets send the headers of a large POST and part of its body, then stall, as a slow uplink or
a hostile client would. Before the fix, 25 of them took every one of the org's 20 slots and every
other client got 429 until they went away.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

STALLERS = 25  # more than the org's 20 concurrent calls
DECLARED_BODY = 1_000_000


@contextmanager
def stalled_posts(url: str, token: str, n: int) -> Iterator[list[socket.socket]]:
    """``n`` connections, each mid-way through a POST /crm/v8/Accounts body, held open for the block."""
    parts = urlsplit(url)
    head = (
        "POST /crm/v8/Accounts HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\n"
        f"Authorization: Zoho-oauthtoken {token}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {DECLARED_BODY}\r\n\r\n"
    ).encode()
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            s = socket.create_connection((parts.hostname, parts.port), timeout=10)
            s.sendall(head + b'{"data": [{"Account_Name": "slow')  # and then nothing more
            socks.append(s)
        yield socks
    finally:
        for s in socks:
            s.close()


def _wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the emulator never saw the stalled requests"
        time.sleep(0.02)


def test_stalled_bodies_do_not_lock_other_clients_out(api, fresh_emulator, access_token):
    control = fresh_emulator.control
    assert control.stats()["limits"]["concurrency"] == 20
    with stalled_posts(fresh_emulator.url, access_token, STALLERS):
        _wait_until(lambda: control.requests_to("/crm/v8/Accounts", "POST") >= STALLERS)
        for _ in range(3):
            r = api.get("/Accounts", params={"fields": "Account_Name", "per_page": 1})
            assert r.status_code == 200, r.text
        r = api.post("/Accounts", json={"data": [{"Account_Name": "Brisk Sender Ltd"}]})
        assert r.status_code == 201, r.text
        limits = control.stats()["limits"]
        assert limits["in_flight"] == 0 and limits["rejected"] == 0  # none of the 25 holds a slot
    # The stallers gave up: nothing they sent was written, and the emulator is still answering.
    _wait_until(lambda: control.stats()["limits"]["in_flight"] == 0)
    search = api.get("/Accounts/search", params={"criteria": "(Account_Name:starts_with:slow)"})
    assert search.status_code == 204
