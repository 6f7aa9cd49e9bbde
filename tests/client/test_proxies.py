"""Proxies from the environment (HTTP_PROXY, NO_PROXY) still apply: the client reads them once per
host and session instead of per request. A real forwarding proxy on loopback sees the calls."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from sergas_nb.client import connect


class _Forward(BaseHTTPRequestHandler):
    seen: list[str]

    def _relay(self) -> None:
        target = urlsplit(self.path)  # a proxy is sent the absolute URL
        self.seen.append(f"{self.command} {target.path}")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
        path = target.path + (f"?{target.query}" if target.query else "")
        conn.request(self.command, path, body=body or None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _relay

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Forward", (_Forward,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def _clear_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_reads_and_writes_go_through_the_environments_proxy(fresh_emulator, proxy, monkeypatch) -> None:
    url, seen = proxy
    _clear_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", url)
    with connect(emulator=fresh_emulator, env_file=None) as crm:
        ids = list(crm.records("Accounts", fields=["Account_Name"], limit=3)["id"])
        crm.update("Accounts", [{"id": i, "Description": "via the proxy"} for i in ids], progress=False)
        got = crm.records_by_ids("Accounts", ids, ["Description"])
    assert set(got["Description"]) == {"via the proxy"}
    assert "PUT /crm/v8/Accounts" in seen and any(s.startswith("GET /crm/v8/Accounts") for s in seen), seen
    assert sum(s.startswith("GET /crm/v8/Accounts") for s in seen) >= 2  # every call, not only the first


def test_no_proxy_keeps_the_calls_off_the_proxy(fresh_emulator, proxy, monkeypatch) -> None:
    url, seen = proxy
    _clear_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with connect(emulator=fresh_emulator, env_file=None) as crm:
        assert len(crm.records("Accounts", fields=["Account_Name"], limit=3)) == 3
    assert seen == []
