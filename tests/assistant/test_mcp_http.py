"""``sergas-nb mcp --http PORT --emulator``: streamable HTTP on loopback, with an emulator of its own."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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


def test_streamable_http_on_loopback_with_its_own_emulator(tmp_path):
    port = free_port()
    env = {**server_env(None), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    log_path = tmp_path / "stderr"
    with open(log_path, "w") as log:
        _run_against(port, env, tmp_path, log)
    text = log_path.read_text()
    assert not find_leaks(text)
    assert "Traceback" not in text


def _run_against(port: int, env: dict[str, str], tmp_path: Path, log: Any) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sergas_nb.cli", "mcp", "--http", str(port), "--emulator", "--accounts", "300"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
    )
    try:
        _wait_for_port(port, proc)
        assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only
        client = McpServer(env={}, args=[], cwd=tmp_path, http_url=f"http://127.0.0.1:{port}/mcp")
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
