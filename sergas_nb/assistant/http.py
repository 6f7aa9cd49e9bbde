"""``sergas-nb mcp --http``: streamable HTTP on loopback, behind a bearer token and Host/Origin checks.

Why a token: loopback keeps other machines out, not other local users or processes, and any of
them could otherwise open a session and act with the owner's Zoho token. The token is made at
start (or read from ``--token-file``), kept in a file only its owner can read (0600), and only the
file's *path* is printed: the token itself never reaches a log. Every request, whatever its path,
needs ``Authorization: Bearer <token>``; without it (or with another) the answer is 401 and the
MCP app never sees the request.

Host and Origin are checked by the SDK's transport security, given explicitly here: the loopback
names on this port only (a DNS-rebinding page sends another Host; a browser page another Origin).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import secrets
import signal
import stat
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from sergas_nb.errors import ZohoConfigError

if TYPE_CHECKING:
    from mcp.server import MCPServer

log = logging.getLogger("sergas_nb.assistant")

HOST = "127.0.0.1"
MIN_TOKEN = 32  # characters of a token read from a file


def security(port: int) -> TransportSecuritySettings:
    """Host and Origin allowed: the loopback names on this port, nothing else."""
    names = [f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=names,
        allowed_origins=[f"http://{n}" for n in names],
    )


def token_from(path: str | None) -> tuple[str, Path]:
    """The token and the file holding it: ``path``'s token when the file exists (it must be the
    caller's alone), else a new token written there, or to a new private file when no path."""
    if path is None:
        folder = Path(tempfile.mkdtemp(prefix="sergas-nb-mcp-"))  # 0700, this user's
        return _write(folder / "token"), folder / "token"
    file = Path(path).expanduser()
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        return _write(file), file
    mode = file.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ZohoConfigError(
            {"--token-file": f"{file} can be read by other users (mode {stat.filemode(mode)}): chmod 600 it"}
        )
    token = file.read_text().strip()
    if len(token) < MIN_TOKEN or any(c.isspace() for c in token):
        raise ZohoConfigError(
            {"--token-file": f"{file} holds no usable token (one line, at least {MIN_TOKEN} characters)"}
        )
    return token, file


def _write(file: Path) -> str:
    token = secrets.token_urlsafe(32)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others, not even briefly
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


class BearerGate:
    """ASGI middleware: 401 for any HTTP request without ``Authorization: Bearer <token>``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan: the MCP app's session manager starts there
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope.get("headers") or []:
            if name == b"authorization":
                given = value
                break
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        # a JSON-RPC error body: MCP clients show its message instead of a bare status
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "id": None,
                "error": {
                    "code": -32001,
                    "message": "401 unauthorized: send 'Authorization: Bearer <token>', the token from the"
                    " file the server printed at start",
                },
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="sergas-nb mcp"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def serve(server: MCPServer, port: int, token: str, file: Path) -> None:
    """Serve until stopped; the token file's path (never the token) on stderr."""
    import anyio
    import uvicorn

    app = BearerGate(server.streamable_http_app(transport_security=security(port), host=HOST), token)
    # printed, not logged: one plain line a person (or a script) can read, whatever the log format
    print(
        f"sergas-nb mcp: streamable HTTP at http://{HOST}:{port}/mcp; send 'Authorization: Bearer <token>'"
        f" with every request; the token is in {file}",
        file=sys.stderr,
        flush=True,
    )
    config = uvicorn.Config(app, host=HOST, port=port, log_level="warning")
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again under the handler it
    # found: make that an exit, so the caller's cleanup (emulator, token file) runs.
    previous = signal.signal(signal.SIGTERM, _exit)
    try:
        anyio.run(uvicorn.Server(config).serve)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def forget(file: Path) -> None:
    """Remove a token file made for one run (and its private folder)."""
    file.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        file.parent.rmdir()
