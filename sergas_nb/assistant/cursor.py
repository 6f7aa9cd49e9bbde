"""Continuation cursors: opaque to the model, they carry the query they continue, signed.

A cursor is ``<base64 JSON>.<base64 HMAC-SHA256>``. The key is made when the process starts and
never leaves it, so a cursor is good only for the server that gave it: a model (or text planted in
a record) cannot forge one whose ``where`` or ``limit`` skips the tool's input bounds. The callers
check the decoded state against those bounds again all the same (``tools._CursorState``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import Any

from sergas_nb.assistant import ToolInputError

_KEY = secrets.token_bytes(32)  # one per server process: cursors die with it
_AGAIN = "pass next_cursor exactly as received, or start anew without a cursor"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: str) -> bytes:
    return hmac.new(_KEY, payload.encode(), hashlib.sha256).digest()


def encode(state: dict[str, Any]) -> str:
    payload = _b64(json.dumps({"v": 2, **state}, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_b64(_mac(payload))}"


def decode(cursor: str, kind: str) -> dict[str, Any]:
    """The state a cursor of ``kind`` carries; ToolInputError unless this process signed it."""
    payload, dot, tag = cursor.partition(".")
    try:
        signed = bool(dot) and hmac.compare_digest(_unb64(tag), _mac(payload))
    except (binascii.Error, ValueError):
        signed = False
    if not signed:
        raise ToolInputError(
            "cursor: not a cursor this server gave, or altered (cursors are signed, and only good until"
            f" the server restarts): {_AGAIN}"
        )
    try:
        state = json.loads(_unb64(payload))
    except (binascii.Error, ValueError, UnicodeDecodeError):  # signed but unreadable: a bug here, not the caller's
        raise ToolInputError(f"cursor: unreadable: {_AGAIN}") from None
    if not isinstance(state, dict) or state.get("v") != 2 or state.get("kind") != kind:
        raise ToolInputError(f"cursor: not a {kind} cursor ({_AGAIN})")
    return state


def same_query(state: dict[str, Any], given: dict[str, Any]) -> None:
    """A cursor carries its query: other arguments, when given, must be that query's."""
    clash = [k for k, v in given.items() if v is not None and state.get(k) != v]
    if clash:
        raise ToolInputError(
            f"cursor belongs to another query ({', '.join(clash)} differ): pass the cursor alone, or start anew"
        )
