"""Value objects of the accounts server: clients, grant codes, grant sessions, token shapes."""

from __future__ import annotations

import secrets
from collections import OrderedDict, deque
from dataclasses import dataclass, field


def new_token() -> str:
    """A token shaped like Zoho's (``1000.<32 hex>.<32 hex>``) so redaction patterns catch it."""
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


def parse_scopes(text: str | None) -> tuple[str, ...]:
    """Zoho separates scopes with commas; spaces are accepted too (the OAuth standard's separator)."""
    if not text:
        return ()
    parts = text.replace(" ", ",").split(",")
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))


def scope_allows(granted: str, needed: str) -> bool:
    """Whether one granted scope covers a needed one, Zoho style.

    ``Service.name[.sub].OPERATION``: the service and the name path must match as a prefix
    (``ZohoCRM.modules.ALL`` covers ``ZohoCRM.modules.accounts.READ``) and ``ALL`` covers any operation.
    """
    g = granted.lower().split(".")
    n = needed.lower().split(".")
    if len(g) < 2 or len(n) < 2:
        return granted.lower() == needed.lower()
    g_path, g_op = g[:-1], g[-1]
    n_path, n_op = n[:-1], n[-1]
    if g_op != "all" and g_op != n_op:
        return False
    return n_path[: len(g_path)] == g_path


class ConsentError(Exception):
    """An authorize request that cannot be shown a consent page (rendered as an HTML error page)."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(title)
        self.title = title
        self.message = message


@dataclass(frozen=True)
class Client:
    """A registered OAuth client (Zoho's API console entry)."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    name: str


@dataclass
class GrantCode:
    """A one-time authorization code (consent page or self client)."""

    client_id: str
    scopes: tuple[str, ...]
    user_email: str
    redirect_uri: str | None  # None: a self-client code, exchangeable without a redirect URI
    expires_at: float
    issue_refresh: bool  # False: a repeat consent without prompt=consent, or access_type=online


@dataclass
class Session:
    """What a refresh token (or a refresh-less code exchange) stands for, with its live access tokens."""

    client_id: str
    scopes: tuple[str, ...]
    user_email: str
    refresh_token: str | None
    seeded: bool = False
    # access token -> expiry; insertion order = issue order, so the oldest is first
    access: OrderedDict[str, float] = field(default_factory=OrderedDict)
    refresh_times: deque[float] = field(default_factory=deque)  # for the 10-in-10-minutes throttle


@dataclass(frozen=True)
class Grant:
    """Who an access token acts for; returned by ``OAuthServer.authenticate``."""

    client_id: str
    user_email: str
    scopes: tuple[str, ...]
    expires_at: float

    def allows(self, scope: str) -> bool:
        """Whether any granted scope covers ``scope`` (e.g. ``ZohoCRM.coql.READ``)."""
        return any(scope_allows(g, scope) for g in self.scopes)
