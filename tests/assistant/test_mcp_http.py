"""``sergas-nb mcp --http PORT --emulator``: streamable HTTP on loopback, with an emulator of its own,
behind a bearer token (made at start, in a 0600 file whose path is printed) and Host/Origin checks."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.assistant._session import McpServer, free_port, server_env
from tests.leaks import find_leaks


def _listening_addresses(port: int) -> set[str]:
    """Local addresses listening on ``port`` (from /proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def _wait_for_port(port: int, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listened on {port} within {timeout}s")


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "probe", "version": "0"}},
}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def _post(port: int, headers: dict[str, str]) -> requests.Response:
    return requests.post(f"http://127.0.0.1:{port}/mcp", json=INITIALIZE, headers=ACCEPT | headers, timeout=30)


def test_streamable_http_on_loopback_with_its_own_emulator(tmp_path):
    port = free_port()
    env = {**server_env(None), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    log_path = tmp_path / "stderr"
    with open(log_path, "w") as log:
        token_file = _run_against(port, env, tmp_path, log, log_path)
    text = log_path.read_text()
    assert not find_leaks(text)
    assert "Traceback" not in text
    assert not token_file.exists()  # a token made for one run goes with it


def test_a_token_file_is_reused_and_must_be_private(tmp_path):
    port = free_port()
    env = {**server_env(None), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    token_file = tmp_path / "mcp.token"
    token_file.write_text("t" * 43 + "\n")
    token_file.chmod(0o644)
    refused = subprocess.run(
        [sys.executable, "-m", "sergas_nb.cli", "mcp", "--http", str(port), "--token-file", str(token_file)],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1 and "chmod 600" in refused.stderr and "Traceback" not in refused.stderr
    assert "t" * 43 not in refused.stderr

    token_file.chmod(0o600)
    log_path = tmp_path / "stderr"
    with open(log_path, "w") as log:
        proc = _start(port, env, tmp_path, log, ["--token-file", str(token_file)])
        try:
            assert _post(port, {}).status_code == 401
            client = McpServer(env={}, args=[], cwd=tmp_path, http_url=f"http://127.0.0.1:{port}/mcp", token="t" * 43)
            try:
                assert client.ok("count_records", {"module": "Accounts"})["count"] == 300
            finally:
                client.close()
        finally:
            proc.terminate()
            proc.wait(60)
    assert token_file.read_text() == "t" * 43 + "\n"  # reused as it was, and kept
    assert "t" * 43 not in log_path.read_text()


def _start(port: int, env: dict[str, str], cwd: Path, log: Any, extra: list[str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sergas_nb.cli", "mcp", "--http", str(port), "--emulator", "--accounts", "300", *extra],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
    )
    _wait_for_port(port, proc)
    return proc


def _run_against(port: int, env: dict[str, str], tmp_path: Path, log: Any, log_path: Path) -> Path:
    proc = _start(port, env, tmp_path, log, [])
    try:
        assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only
        # the token's file is printed, the token is not; the file is the owner's alone
        found = re.search(r"the token is in (\S+)", log_path.read_text())
        assert found, log_path.read_text()
        token_file = Path(found.group(1))
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600 and token_file.stat().st_uid == os.getuid()
        token = token_file.read_text().strip()
        assert len(token) >= 32 and token not in log_path.read_text()

        # no token, a wrong one, another scheme: 401 before the MCP app sees anything
        for headers in ({}, {"Authorization": "Bearer " + "x" * len(token)}, {"Authorization": f"Basic {token}"}):
            answer = _post(port, headers)
            assert answer.status_code == 401, headers
            assert answer.headers["WWW-Authenticate"].startswith("Bearer") and token not in answer.text
        assert _post(port, {"Authorization": f"Bearer {token}"}).status_code == 200
        # with the token, Host and Origin are still checked (DNS rebinding, browser pages)
        bearer = {"Authorization": f"Bearer {token}"}
        assert _post(port, bearer | {"Host": f"evil.example:{port}"}).status_code in (400, 421)
        assert _post(port, bearer | {"Origin": "http://evil.example"}).status_code == 403
        assert _post(port, bearer | {"Origin": f"http://localhost:{port}"}).status_code == 200
        with pytest.raises(RuntimeError, match="401 unauthorized"):  # the official client says why
            McpServer(env={}, args=[], cwd=tmp_path, http_url=f"http://127.0.0.1:{port}/mcp", timeout=30)

        client = McpServer(env={}, args=[], cwd=tmp_path, http_url=f"http://127.0.0.1:{port}/mcp", token=token)
        try:
            assert "search_records" in {t.name for t in client.tools()}
            assert client.ok("count_records", {"module": "Accounts"})["count"] == 300
            page = client.ok("search_records", {"module": "Accounts", "fields": ["Account_Name"], "limit": 7})
            assert page["returned"] == 7 and page["next_cursor"]
            record = client.ok("get_record", {"module": "Accounts", "id": page["rows"][0]["id"]})["record"]
            assert record["Account_Name"] == page["rows"][0]["Account_Name"]
            assert "unknown module" in client.error("describe_module", {"module": "Nope"})
            health = client.ok("health")
            assert health["api"].startswith("http://127.0.0.1:") and health["writes"] is False
            for text in client.outputs:
                assert not find_leaks(text)
        finally:
            client.close()
    finally:
        proc.terminate()
        proc.wait(60)
    return token_file
