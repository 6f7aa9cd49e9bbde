"""Who may call the ``/__emulator__`` controls: this machine's own programs, never a web page.

The controls inject faults, change token lifetimes and reset data, without a token. Binding to
loopback keeps other machines out, but any page open in the analyst's browser can still send a
"simple" cross-origin POST (``text/plain``, no preflight) to 127.0.0.1, or reach it through a DNS
name rebound to 127.0.0.1. So, for every control request:

- the Host header must be a loopback name (127.0.0.1, localhost, [::1]) with the port the request
  arrived on (a rebound name fails this);
- an Origin header, when present, must be the emulator's own origin (a loopback name and that port);
- a request that is not GET or HEAD must say ``Content-Type: application/json``: a browser sends
  that cross-origin only after a CORS preflight, which the emulator never grants. Else 415.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import orjson

from sergas_nb.emulator.faults import CONTROL_PREFIX

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD"})


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _host_port(authority: str, default_port: int) -> tuple[str, int] | None:
    try:
        parts = urlsplit("//" + authority)
        port = parts.port
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None or parts.path:
        return None
    return (parts.hostname or "").lower(), port if port is not None else default_port


def refusal(scope: dict[str, Any]) -> tuple[int, str] | None:
    """Why this control request is refused (status, message), or None when it may go on."""
    server = scope.get("server") or ("", 0)
    bound = int(server[1] or 0)
    host = _host_port(_header(scope, b"host") or "", 80)
    if host is None or host[0] not in LOOPBACK_NAMES or host[1] != bound:
        return 403, "emulator controls answer only Host 127.0.0.1, localhost or [::1] with the emulator's port"
    origin = _header(scope, b"origin")
    if origin is not None:
        parts = urlsplit(origin)
        own = _host_port(parts.netloc, 443 if parts.scheme == "https" else 80) if parts.scheme == "http" else None
        if own is None or own[0] not in LOOPBACK_NAMES or own[1] != bound:
            return 403, "emulator controls refuse cross-origin requests"
    if scope["method"] not in SAFE_METHODS:
        content_type = (_header(scope, b"content-type") or "").split(";", 1)[0].strip().lower()
        if content_type != "application/json":
            return 415, "emulator controls take a JSON body (Content-Type: application/json)"
    return None


class ControlGuard:
    """ASGI middleware refusing control requests that could come from a web page."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(CONTROL_PREFIX):
            refused = refusal(scope)
            if refused is not None:
                status, message = refused
                body = orjson.dumps({"status": "error", "code": "REFUSED", "message": message, "details": {}})
                headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
