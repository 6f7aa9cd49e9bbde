"""Zoho's page tokens: opaque, valid 24 h, bound to the parameters of the list that issued them.

Tokens are self-contained (HMAC-signed JSON) so the server keeps no per-token state; they carry the
offset and the last id served, so a page after concurrent inserts continues after that id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import orjson

from sergas_nb.emulator.errors import EmulatorError
from sergas_nb.emulator.state.seed import iso

TOKEN_TTL = 86400.0
DISCRETE_LIMIT = 2000  # records reachable with ``page``
TOKEN_LIMIT = 100_000  # records reachable with ``page_token``


def binding(module: str, params: dict[str, Any]) -> str:
    """A digest of what a token is bound to (module, fields, sort, per_page, filters)."""
    return hashlib.sha256(orjson.dumps([module, params], option=orjson.OPT_SORT_KEYS)).hexdigest()[:24]


class PageTokens:
    def __init__(self, secret: bytes, clock: Any = time.time) -> None:
        self.secret = secret
        self.clock = clock

    def issue(self, bound: str, offset: int, last_id: str | None) -> tuple[str, str]:
        """A token for the page starting at ``offset``, and its expiry as Zoho's datetime string."""
        expires = self.clock() + TOKEN_TTL
        payload = base64.urlsafe_b64encode(orjson.dumps({"b": bound, "o": offset, "l": last_id, "e": int(expires)}))
        sig = hmac.new(self.secret, payload, hashlib.sha256).hexdigest()[:20]
        return payload.decode().rstrip("=") + "." + sig, iso(expires)

    def read(self, token: str, bound: str) -> tuple[int, str | None]:
        """(offset, last id served) of a valid token; Zoho's errors otherwise."""
        payload, _, sig = token.partition(".")
        raw = payload + "=" * (-len(payload) % 4)
        good = hmac.new(self.secret, raw.encode(), hashlib.sha256).hexdigest()[:20]
        try:
            # Bytes: compare_digest raises TypeError on non-ASCII text, and the token is user input.
            if not sig or not hmac.compare_digest(sig.encode(), good.encode()):
                raise ValueError
            data = orjson.loads(base64.urlsafe_b64decode(raw))
        except (ValueError, orjson.JSONDecodeError):
            raise EmulatorError("INVALID_DATA", "invalid data", {"param_name": "page_token"}) from None
        if data["e"] < self.clock():
            raise EmulatorError(
                "INVALID_DATA", "invalid data", {"param_name": "page_token", "reason": "the page token has expired"}
            )
        if data["b"] != bound:
            raise EmulatorError(
                "TOKEN_BOUND_DATA_MISMATCH",
                "the parameters given do not match the ones the page_token was issued for",
                {"param_name": "page_token"},
            )
        return int(data["o"]), data["l"]
