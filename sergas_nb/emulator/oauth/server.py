"""The emulator's Zoho accounts server: clients, consent, codes, refresh and access tokens.

State and rules live here, free of HTTP; the endpoints (``endpoints.py``) and HTML (``pages.py``) only
translate, and the package joins them into ``OAuthServer`` (so the rules never import the endpoints).
Every public method takes one lock, because uvicorn may run handlers concurrently.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import EmulatorError
from .models import Client, ConsentError, Grant, GrantCode, Session, new_token, parse_scopes

# Zoho's answer for a token endpoint throttle. Zoho answers it with HTTP 400 and "status": "failure"
# (seen in third-party client code quoting live responses; not in Zoho's own docs).
THROTTLED: dict[str, str] = {
    "error_description": "You have made too many requests continuously. Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}
DEFAULT_USER_EMAIL = "analyst@sergas.local"


def invalid_token() -> EmulatorError:
    # Zoho CRM's answer to a missing, unknown, revoked or expired access token (record.json enum).
    return EmulatorError("INVALID_TOKEN", "invalid oauth token", status=401)


def _with_query(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` appended to whatever query it already has."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


class AccountsServer:
    """Zoho's accounts server, in memory (its HTTP routes come with ``OAuthServer``).

    Limits follow Zoho's accounts docs (oauth token-limits, self-client): codes live 2 minutes and are single-use; at
    most ``refresh_limit`` refresh-grant requests per refresh token in ``refresh_window`` seconds
    (then "Access Denied"); at most ``max_live_tokens`` live access tokens per refresh token (the
    oldest dies). Limits are constructor arguments and ``set_limits()``; ``reset()`` keeps them.
    """

    def __init__(
        self,
        base_url_getter: Callable[[], str],
        access_ttl: float = 3600,
        auto_approve: bool = False,
        clock: Callable[[], float] = time.time,
        *,
        user_email: str = DEFAULT_USER_EMAIL,
        location: str = "local",
        code_ttl: float = 120,
        refresh_limit: int = 10,
        refresh_window: float = 600,
        max_live_tokens: int = 10,
    ) -> None:
        self.base_url_getter = base_url_getter
        self.auto_approve = auto_approve
        self.clock = clock
        self.user_email = user_email  # the user "signed in" at the consent page
        self.location = location
        self.code_ttl = code_ttl
        self.refresh_limit = refresh_limit
        self.refresh_window = refresh_window
        self.max_live_tokens = max_live_tokens
        self._initial_ttl = float(access_ttl)
        self._access_ttl = float(access_ttl)
        self._lock = threading.RLock()
        self._clients: dict[str, Client] = {}
        self._seeded: list[tuple[str, tuple[str, ...], str, str]] = []
        self._clear()

    def _clear(self) -> None:
        self._codes: dict[str, GrantCode] = {}
        self._refresh: dict[str, Session] = {}
        self._access: dict[str, Session] = {}
        self._consented: set[tuple[str, str]] = set()
        self._counts: Counter[str] = Counter()
        for client_id, scopes, email, token in self._seeded:
            self._refresh[token] = Session(client_id, scopes, email, token, seeded=True)

    # ----- set-up -------------------------------------------------------------------------------

    def register_client(self, client_id: str, client_secret: str, redirect_uris: list[str], name: str) -> None:
        """Register (or replace) a client as the API console would."""
        with self._lock:
            self._clients[client_id] = Client(client_id, client_secret, tuple(redirect_uris), name)

    def issue_refresh_token(self, client_id: str, scopes: list[str] | tuple[str, ...] | str, user_email: str) -> str:
        """A refresh token for pre-seeded credentials (CLI, LocalZoho); it survives ``reset()``."""
        scope_tuple = parse_scopes(scopes) if isinstance(scopes, str) else tuple(scopes)
        with self._lock:
            self._require_client(client_id)
            token = new_token()
            self._seeded.append((client_id, scope_tuple, user_email, token))
            self._refresh[token] = Session(client_id, scope_tuple, user_email, token, seeded=True)
            return token

    def issue_code(
        self,
        client_id: str,
        scopes: list[str] | tuple[str, ...] | str,
        redirect_uri: str | None = None,
        ttl: float = 120,
        user_email: str | None = None,
    ) -> str:
        """A self-client code (Zoho's API console): exchangeable once, within ``ttl`` seconds.

        With ``redirect_uri`` None the exchange needs no redirect URI, as for Zoho's self client.
        Self-client codes always carry a refresh token.
        """
        scope_tuple = parse_scopes(scopes) if isinstance(scopes, str) else tuple(scopes)
        if not scope_tuple:
            raise ValueError("at least one scope is needed")
        if not ttl > 0 or math.isinf(ttl):
            raise ValueError("ttl must be a positive number of seconds")
        with self._lock:
            self._require_client(client_id)
            return self._new_code(client_id, scope_tuple, user_email or self.user_email, redirect_uri, ttl, True)

    def _require_client(self, client_id: str) -> Client:
        client = self._clients.get(client_id)
        if client is None:
            raise KeyError(f"unknown client_id {client_id!r}")
        return client

    def _new_code(
        self,
        client_id: str,
        scopes: tuple[str, ...],
        email: str,
        redirect_uri: str | None,
        ttl: float,
        issue_refresh: bool,
    ) -> str:
        now = self.clock()
        for stale in [c for c, g in self._codes.items() if now >= g.expires_at]:  # keep memory bounded
            del self._codes[stale]
        code = new_token()
        self._codes[code] = GrantCode(client_id, scopes, email, redirect_uri, now + ttl, issue_refresh)
        return code

    # ----- knobs for tests and control routes ---------------------------------------------------

    @property
    def access_ttl(self) -> float:
        return self._access_ttl

    def set_access_ttl(self, seconds: float) -> None:
        """Lifetime of access tokens issued from now on (fractions of a second are fine)."""
        if not seconds > 0 or math.isinf(seconds):
            raise ValueError("access_ttl must be a positive number of seconds")
        with self._lock:
            self._access_ttl = float(seconds)

    def limits(self) -> dict[str, float]:
        """The throttle and lifetime limits in force."""
        with self._lock:
            return {
                "refresh_limit": self.refresh_limit,
                "refresh_window": self.refresh_window,
                "max_live_tokens": self.max_live_tokens,
                "code_ttl": self.code_ttl,
            }

    def set_limits(
        self,
        refresh_limit: float | None = None,
        refresh_window: float | None = None,
        max_live_tokens: float | None = None,
        code_ttl: float | None = None,
    ) -> None:
        """Change limits (e.g. lift the refresh throttle for a long shared test session)."""
        given = {
            "refresh_limit": refresh_limit,
            "refresh_window": refresh_window,
            "max_live_tokens": max_live_tokens,
            "code_ttl": code_ttl,
        }
        for name, value in given.items():
            if value is not None and (not value > 0 or math.isinf(value)):
                raise ValueError(f"{name} must be a positive number")
        with self._lock:
            if refresh_limit is not None:
                self.refresh_limit = int(refresh_limit)
            if refresh_window is not None:
                self.refresh_window = float(refresh_window)
            if max_live_tokens is not None:
                self.max_live_tokens = int(max_live_tokens)
            if code_ttl is not None:
                self.code_ttl = float(code_ttl)

    def expire_access_tokens(self) -> int:
        """Kill every live access token now (refresh tokens stay); returns how many died."""
        with self._lock:
            n = len(self._access)
            for session in {id(s): s for s in self._access.values()}.values():
                session.access.clear()
            self._access.clear()
            return n

    def stats(self) -> dict[str, int]:
        """Token endpoint requests by grant type (every POST, failed ones included) and revokes."""
        with self._lock:
            out = {"authorization_code": 0, "refresh_token": 0, "revoke": 0}
            out.update(self._counts)
            return out

    @property
    def token_requests(self) -> dict[str, int]:
        """Alias of ``stats()`` named in the shared contract."""
        return self.stats()

    def reset(self) -> None:
        """Back to the start: no codes, consents, counters or throttle history; tokens from code
        grants are gone; pre-seeded refresh tokens are alive again (even if revoked) with no access
        tokens; ``access_ttl`` returns to its constructor value. Registered clients stay."""
        with self._lock:
            self._access_ttl = self._initial_ttl
            self._clear()

    # ----- consent page -------------------------------------------------------------------------

    def check_authorize(self, params: Mapping[str, str]) -> tuple[Client, tuple[str, ...]]:
        """Validate an authorize request; raises ConsentError with what is wrong."""
        with self._lock:
            client_id = params.get("client_id") or ""
            client = self._clients.get(client_id)
            if client is None:
                raise ConsentError(
                    "Invalid Client",
                    "No client is registered with the client_id "
                    f"{client_id!r}. Check the client ID from the API console.",
                )
            redirect_uri = params.get("redirect_uri") or ""
            if redirect_uri not in client.redirect_uris:
                raise ConsentError(
                    "Invalid Redirect Uri",
                    f"The redirect_uri {redirect_uri!r} does not match "
                    f"any redirect URI registered for the client {client.name!r}.",
                )
            if params.get("response_type", "code") != "code":
                raise ConsentError("Invalid Response Type", "response_type must be 'code'.")
            scopes = parse_scopes(params.get("scope"))
            if not scopes:
                raise ConsentError("Invalid OAuth Scope", "The scope parameter is missing or empty.")
            return client, scopes

    def approve(self, params: Mapping[str, str]) -> str:
        """The user accepted: the redirect URL carrying code, state, location and accounts-server."""
        client, scopes = self.check_authorize(params)
        with self._lock:
            key = (client.client_id, self.user_email)
            # Zoho: access_type defaults to online (no refresh token); a repeat consent without
            # prompt=consent issues a code whose exchange returns no new refresh token.
            offline = params.get("access_type", "online").lower() == "offline"
            fresh = params.get("prompt", "").lower() == "consent" or key not in self._consented
            self._consented.add(key)
            code = self._new_code(
                client.client_id, scopes, self.user_email, params["redirect_uri"], self.code_ttl, offline and fresh
            )
        answer = {"code": code}
        if params.get("state") is not None:
            answer["state"] = params["state"]
        answer["location"] = self.location
        answer["accounts-server"] = self.base_url_getter()
        return _with_query(params["redirect_uri"], answer)

    def deny(self, params: Mapping[str, str]) -> str:
        """The user rejected: redirect with error=access_denied (the OAuth standard answer)."""
        self.check_authorize(params)
        answer = {"error": "access_denied"}
        if params.get("state") is not None:
            answer["state"] = params["state"]
        return _with_query(params["redirect_uri"], answer)

    # ----- token endpoint -----------------------------------------------------------------------

    def token(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer one POST /oauth/v2/token: (HTTP status, JSON body). Errors are HTTP 200, as Zoho."""
        grant_type = form.get("grant_type") or ""
        with self._lock:
            self._counts[grant_type if grant_type in ("authorization_code", "refresh_token") else "other"] += 1
            if grant_type not in ("authorization_code", "refresh_token"):
                return 200, {"error": "unsupported_grant_type"}
            client = self._clients.get(form.get("client_id") or "")
            if client is None:
                return 200, {"error": "invalid_client"}
            if not hmac.compare_digest((form.get("client_secret") or "").encode(), client.client_secret.encode()):
                return 200, {"error": "invalid_client_secret"}
            if grant_type == "authorization_code":
                return self._code_grant(client, form)
            return self._refresh_grant(client, form)

    def _code_grant(self, client: Client, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        now = self.clock()
        code_text = form.get("code") or ""
        code = self._codes.get(code_text)
        if code is not None and now >= code.expires_at:
            del self._codes[code_text]
            code = None
        if code is None or code.client_id != client.client_id:
            return 200, {"error": "invalid_code"}
        if code.redirect_uri is not None and form.get("redirect_uri") != code.redirect_uri:
            # Not confirmed against Zoho; the OAuth standard requires the same redirect URI here.
            return 200, {"error": "invalid_redirect_uri"}
        del self._codes[code_text]  # single use
        refresh = new_token() if code.issue_refresh else None
        session = Session(client.client_id, code.scopes, code.user_email, refresh)
        if refresh is not None:
            self._refresh[refresh] = session
        body = self._issue_access(session, now)
        if refresh is not None:
            body["refresh_token"] = refresh
        return 200, body

    def _refresh_grant(self, client: Client, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        now = self.clock()
        session = self._refresh.get(form.get("refresh_token") or "")
        if session is None or session.client_id != client.client_id:
            # Zoho answers an unknown or revoked refresh token with invalid_code too.
            return 200, {"error": "invalid_code"}
        times = session.refresh_times
        while times and now - times[0] >= self.refresh_window:
            times.popleft()
        if len(times) >= self.refresh_limit:
            return 400, dict(THROTTLED)
        times.append(now)
        return 200, self._issue_access(session, now)

    def _issue_access(self, session: Session, now: float) -> dict[str, Any]:
        for token, expires in list(session.access.items()):  # expired ones are not "live"
            if now >= expires:
                del session.access[token]
                self._access.pop(token, None)
        if len(self._access) > 5000:  # drop long-dead tokens nobody presented again
            for dead in [t for t, s in self._access.items() if now >= s.access.get(t, now)]:
                self._access[dead].access.pop(dead, None)
                del self._access[dead]
        token = new_token()
        session.access[token] = now + self._access_ttl
        self._access[token] = session
        while len(session.access) > self.max_live_tokens:  # the oldest dies
            old, _ = session.access.popitem(last=False)
            self._access.pop(old, None)
        return {
            "access_token": token,
            "api_domain": self.base_url_getter(),
            "token_type": "Bearer",
            # Zoho gives whole seconds; rounding down keeps clients from trusting a dead token.
            "expires_in": int(self._access_ttl),
        }

    def revoke(self, token: str | None) -> dict[str, str]:
        """Revoke a refresh token (and its access tokens) or one access token.

        Unknown tokens also get success, as RFC 7009 asks (Zoho's answer there is unconfirmed).
        """
        with self._lock:
            self._counts["revoke"] += 1
            session = self._refresh.pop(token or "", None)
            if session is not None:
                for access in session.access:
                    self._access.pop(access, None)
                session.access.clear()
            else:
                owner = self._access.pop(token or "", None)
                if owner is not None:
                    owner.access.pop(token or "", None)
            return {"status": "success"}

    # ----- CRM side -----------------------------------------------------------------------------

    def authenticate(self, authorization_header: str | None) -> Grant:
        """The grant behind ``Authorization: Zoho-oauthtoken <token>``; raises INVALID_TOKEN (401)."""
        scheme, _, token = (authorization_header or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "zoho-oauthtoken" or not token:
            raise invalid_token()
        with self._lock:
            session = self._access.get(token)
            if session is None:
                raise invalid_token()
            expires = session.access.get(token)
            if expires is None or self.clock() >= expires:
                session.access.pop(token, None)
                del self._access[token]
                raise invalid_token()
            return Grant(session.client_id, session.user_email, session.scopes, expires)
