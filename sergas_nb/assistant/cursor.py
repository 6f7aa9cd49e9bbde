"""Continuation cursors: opaque to the model, they carry the query they continue (base64 JSON)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from sergas_nb.assistant import ToolInputError


def encode(state: dict[str, Any]) -> str:
    raw = json.dumps({"v": 1, **state}, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, kind: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ToolInputError("cursor: not a cursor this server gave (pass next_cursor exactly as received)") from None
    if not isinstance(state, dict) or state.get("v") != 1 or state.get("kind") != kind:
        raise ToolInputError(f"cursor: not a {kind} cursor (pass next_cursor exactly as received)")
    return state


def same_query(state: dict[str, Any], given: dict[str, Any]) -> None:
    """A cursor carries its query: other arguments, when given, must be that query's."""
    clash = [k for k, v in given.items() if v is not None and state.get(k) != v]
    if clash:
        raise ToolInputError(
            f"cursor belongs to another query ({', '.join(clash)} differ): pass the cursor alone, or start anew"
        )
