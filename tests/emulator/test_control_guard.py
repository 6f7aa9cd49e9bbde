"""The /__emulator__ controls refuse what a web page could send: a cross-origin simple POST, a
rebound Host name, a body that is not JSON. This machine's own programs keep working."""

from __future__ import annotations

import requests


def _faults(z) -> list:
    return z.control.stats()["pending_faults"]


def test_a_cross_origin_text_plain_post_is_refused_and_changes_nothing(fresh_emulator):
    z = fresh_emulator
    # What a page on another site can send without a CORS preflight.
    r = requests.post(
        z.url + "/__emulator__/faults",
        data='{"kind": "status", "status": 500, "count": 100}',
        headers={"Content-Type": "text/plain", "Origin": "https://evil.example"},
        timeout=10,
    )
    assert r.status_code == 403
    assert _faults(z) == []
    ttl = requests.post(
        z.url + "/__emulator__/oauth/access-ttl",
        data="seconds=1",
        headers={"Content-Type": "text/plain", "Origin": "https://evil.example"},
        timeout=10,
    )
    assert ttl.status_code == 403
    assert requests.get(z.url + "/__emulator__/oauth/access-ttl", timeout=10).json()["access_ttl"] == 3600


def test_a_same_origin_post_that_is_not_json_is_415(fresh_emulator):
    z = fresh_emulator
    for headers in ({"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"}, {}):
        r = requests.post(z.url + "/__emulator__/reset", data=b"", headers=headers, timeout=10)
        assert r.status_code == 415, headers
    r = requests.post(z.url + "/__emulator__/oauth/access-ttl", data={"seconds": 5}, timeout=10)
    assert r.status_code == 415
    assert requests.get(z.url + "/__emulator__/oauth/access-ttl", timeout=10).json()["access_ttl"] == 3600


def test_a_rebound_host_name_is_refused(fresh_emulator):
    z = fresh_emulator
    for host in (f"rebound.example:{z.port}", "127.0.0.1:1", f"127.0.0.1:{z.port}@evil.example"):
        r = requests.get(z.url + "/__emulator__/stats", headers={"Host": host}, timeout=10)
        assert r.status_code == 403, host


def test_the_emulators_own_programs_and_origin_still_work(fresh_emulator):
    z = fresh_emulator
    own = {"Origin": f"http://localhost:{z.port}", "Host": f"localhost:{z.port}"}
    r = requests.post(z.url + "/__emulator__/latency", json={"fixed": 0.0}, headers=own, timeout=10)
    assert r.status_code == 200
    z.control.add_fault("status", path="^/never$")
    assert len(_faults(z)) == 1
    z.control.reset()
    assert _faults(z) == []
