"""OAuth 2.0 steps against Zoho's accounts server, for the onboarding notebook and the token store.

The flow, as in pydata-google-auth: build the consent URL (:func:`authorization_url`), catch the
browser's redirect on loopback (:class:`CallbackCatcher`) or take a pasted self-client code, then
swap the code for tokens (:func:`exchange_code`). :func:`refresh_access_token` and :func:`revoke`
complete the set. Every HTTP call has a timeout.

Zoho answers token errors as HTTP 200 with ``{"error": ...}``: each known error becomes a
:class:`ZohoAuthError` (or :class:`ZohoRateLimitError` for "Access Denied" throttling) whose message
says, in plain words, what went wrong and how to fix it. No token or secret is ever put in a
message or a ``repr``.
"""

from __future__ import annotations

import html
import http.server
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from sergas_nb import _secrets
from sergas_nb._http import retry_after_header
from sergas_nb.config import DATA_CENTRES, Endpoints, is_loopback_url
from sergas_nb.errors import ZohoAPIError, ZohoAuthError, ZohoRateLimitError

DEFAULT_SCOPES: tuple[str, ...] = (
    "ZohoCRM.modules.ALL",
    "ZohoCRM.settings.ALL",
    "ZohoCRM.users.READ",
    "ZohoCRM.org.READ",
    "ZohoCRM.coql.READ",
    "ZohoCRM.bulk.ALL",
    "ZohoSearch.securesearch.READ",
    "ZohoFiles.files.ALL",
)
# The accounts-server calls of this module (consent, code exchange, refresh, revoke) take one float
# for connect and read together. CRM calls use _http.DEFAULT_TIMEOUT, (connect, read) = (5, 60);
# a client hands its read timeout to its PostgresTokenStore, so only direct callers get this default.
TOKEN_TIMEOUT = 15.0  # seconds per HTTP call to the accounts server
THROTTLE_RETRY_AFTER = 60.0  # Zoho names no wait; a minute is a reasonable first pause


# --------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class TokenSet:
    """What the token endpoint returned. ``repr`` shows whether tokens exist, never their value."""

    access_token: str
    expires_in: float  # seconds, as returned (normalised from Zoho's older millisecond form)
    refresh_token: str | None = None
    api_domain: str | None = None
    token_type: str = "Bearer"
    scope: str | None = None
    obtained_at: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        _secrets.register(self.access_token, self.refresh_token)

    @property
    def expires_at(self) -> float:
        """Epoch seconds when the access token stops working."""
        return self.obtained_at + self.expires_in

    @property
    def expires_at_ms(self) -> int:
        """Expiry in epoch milliseconds: the form the Zoho SDK stores."""
        return int(self.expires_at * 1000)

    def __repr__(self) -> str:
        return (
            f"TokenSet(access_token=***, refresh_token={'***' if self.refresh_token else None}, "
            f"expires_in={self.expires_in:g}, api_domain={self.api_domain!r}, scope={self.scope!r})"
        )

    __str__ = __repr__

    @classmethod
    def from_response(cls, body: Mapping[str, Any], now: float | None = None) -> TokenSet:
        expires = float(body.get("expires_in", 3600))
        if "expires_in_sec" in body:  # older Zoho answers: expires_in in ms, expires_in_sec in s
            expires = float(body["expires_in_sec"])
        return cls(
            access_token=str(body["access_token"]),
            expires_in=expires,
            refresh_token=body.get("refresh_token"),
            api_domain=body.get("api_domain"),
            token_type=str(body.get("token_type", "Bearer")),
            scope=body.get("scope"),
            obtained_at=time.time() if now is None else now,
        )


# Plain-words explanation and fix for each error Zoho's token endpoint gives.
_CODE_GRANT_ERRORS: dict[str, str] = {
    "invalid_code": (
        "Zoho refused the authorization code: it has expired (codes live 2 minutes), it was already "
        "used once, or it was exchanged at the wrong data centre (the code belongs to the accounts "
        "server named in the callback's accounts-server / the region you signed in to). Fix: generate "
        "a new code and exchange it at once, with ZOHO_SDK_REGION set to your account's data centre."
    ),
    "invalid_redirect_uri": (
        "The redirect URI does not match the one registered for this client in Zoho's API console "
        "(it must be identical, including http/https, host, port and path). Fix: register exactly "
        "this redirect URI in the API console, or set ZOHO_SDK_REDIRECT_URL to the registered one."
    ),
}
_REFRESH_GRANT_ERRORS: dict[str, str] = {
    "invalid_code": (
        "Zoho refused the refresh token: it was revoked, deleted (Zoho keeps about 20 per user and "
        "client, oldest removed first), belongs to another client, or to another data centre. "
        "Fix: run the onboarding notebook again to get a new refresh token, and check ZOHO_SDK_REGION."
    ),
}
_CLIENT_ERRORS: dict[str, str] = {
    "invalid_client": (
        "Zoho does not know this client id at {accounts}. The client id is wrong, or the client was "
        "registered in another data centre. Fix: copy the client id from Zoho's API console into "
        "ZOHO_SDK_CLIENT_ID and set ZOHO_SDK_REGION to the data centre where you registered it."
    ),
    "invalid_client_secret": (
        "The client secret does not belong to this client id. Fix: copy the client secret again from "
        "Zoho's API console (Client Secret tab) into ZOHO_SDK_CLIENT_SECRET."
    ),
    "unsupported_grant_type": "Zoho did not accept the grant type of this request (a bug in the caller).",
    "access_denied": "You declined the consent screen, so no code was issued. Run the step again and accept.",
}


def oauth_error(body: Mapping[str, Any], grant: str, accounts: str) -> ZohoAuthError:
    """The ZohoAuthError / ZohoRateLimitError for an ``{"error": ...}`` answer of the token endpoint."""
    code = str(body.get("error"))
    description = str(body.get("error_description") or "")
    if code.lower() == "access denied" or "too many requests" in description.lower():
        return ZohoRateLimitError(  # type: ignore[return-value]
            "Zoho's accounts server is throttling token requests (at most 10 access tokens per refresh "
            "token every 10 minutes). Wait a few minutes before trying again; the token store reuses a "
            "valid access token instead of asking for a new one.",
            retry_after=THROTTLE_RETRY_AFTER,
            code="Access Denied",
            status=200,
            details={"accounts": accounts},
        )
    table = _CODE_GRANT_ERRORS if grant == "authorization_code" else _REFRESH_GRANT_ERRORS
    if code in table:
        message = table[code]
    elif code in _CLIENT_ERRORS:
        message = _CLIENT_ERRORS[code].format(accounts=accounts)
    elif "redirect" in code:
        message = _CODE_GRANT_ERRORS["invalid_redirect_uri"]
    else:
        message = f"Zoho's accounts server refused the request: {code}"
        if description:
            message += f" ({description})"
    return ZohoAuthError(_secrets.redact(message), code=code, details={"accounts": accounts, "grant": grant})


def _post(
    url: str,
    data: Mapping[str, Any] | None,
    params: Mapping[str, Any] | None,
    timeout: float,
    secrets_: Iterable[str | None],
) -> dict[str, Any]:
    """POST to the accounts server; transport failures become ZohoAPIError (status None)."""
    try:
        resp = requests.post(
            url,
            data=data,
            params=params,
            timeout=timeout,
            allow_redirects=False,
            headers={"Accept": "application/json"},
        )
    except requests.Timeout:
        raise ZohoAPIError(
            f"The accounts server {_host(url)} did not answer within {timeout:g} s", code="TIMEOUT"
        ) from None
    except requests.RequestException as exc:
        reason = _secrets.redact(" ".join(str(exc).split()), extra=secrets_)
        raise ZohoAPIError(
            f"Could not reach the accounts server {_host(url)}: {reason}", code="CONNECTION_ERROR"
        ) from None
    if resp.status_code == 429:
        raise ZohoRateLimitError(
            "The accounts server answered 429 Too Many Requests; wait and retry",
            retry_after=retry_after_header(resp),
            status=429,
        )
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ZohoAPIError(
            f"The accounts server {_host(url)} answered HTTP {resp.status_code} without "
            "a JSON object (is this URL really a Zoho accounts server?)",
            code="INVALID_RESPONSE",
            status=resp.status_code,
        )
    return body


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _token_call(token_url: str, form: dict[str, Any], grant: str, timeout: float) -> TokenSet:
    secret_values = [form.get("client_secret"), form.get("refresh_token"), form.get("code")]
    _secrets.register(*secret_values)
    body = _post(token_url, form, None, timeout, secret_values)
    if "error" in body or "access_token" not in body:
        if "error" not in body:
            body = {"error": "no_access_token", "error_description": "the answer carried no access_token"}
        raise oauth_error(body, grant, _host(token_url))
    return TokenSet.from_response(body)


def exchange_code(
    token_url: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str | None,
    code: str,
    *,
    accounts_server: str | None = None,
    timeout: float = TOKEN_TIMEOUT,
) -> TokenSet:
    """Swap an authorization (or self-client) code for an access and a refresh token.

    ``accounts_server`` is the callback's ``accounts-server`` parameter: when given (and it is a known
    Zoho accounts server, or loopback for the emulator) the code is exchanged there, as Zoho requires
    for users of another data centre. A self-client code needs no redirect URI (pass None).
    """
    if accounts_server:
        token_url = trusted_accounts_server(accounts_server) + "/oauth/v2/token"
    form = {"grant_type": "authorization_code", "client_id": client_id, "client_secret": client_secret, "code": code}
    if redirect_uri:
        form["redirect_uri"] = redirect_uri
    return _token_call(token_url, form, "authorization_code", timeout)


def refresh_access_token(
    token_url: str, client_id: str, client_secret: str, refresh_token: str, *, timeout: float = TOKEN_TIMEOUT
) -> TokenSet:
    """A new access token from a refresh token (the answer carries no refresh token)."""
    form = {
        "grant_type": "refresh_token",
        "client_id": client_id,
        "client_secret": client_secret,
        "refresh_token": refresh_token,
    }
    return _token_call(token_url, form, "refresh_token", timeout)


def revoke(revoke_url: str, token: str, *, timeout: float = TOKEN_TIMEOUT) -> bool:
    """Revoke a refresh token (and with it its access tokens). True when Zoho says success.

    ``revoke_url`` is ``Endpoints.revoke_url`` ({accounts}/oauth/v2/token/revoke).
    """
    _secrets.register(token)
    # In the form body, as the SDK sends it: a query string would put the token in access logs.
    body = _post(revoke_url, {"token": token}, None, timeout, [token])
    if body.get("status") == "success":
        return True
    if "error" in body:
        raise oauth_error(body, "revoke", _host(revoke_url))
    return False


def known_accounts_servers() -> set[str]:
    return {e.accounts_url for e in DATA_CENTRES.values()}


def trusted_accounts_server(url: str) -> str:
    """``url`` without trailing slash if it is a Zoho accounts server or loopback; else ZohoAuthError.

    The callback's accounts-server comes from a browser redirect: sending the client secret to
    whatever host it names would leak the secret, so only Zoho's own servers are accepted.
    """
    base = url.rstrip("/")
    if base in known_accounts_servers() or is_loopback_url(base):
        return base
    raise ZohoAuthError(
        f"The callback named an unknown accounts server {base!r}; refusing to send the "
        "client secret there. Expected one of Zoho's accounts servers "
        "(e.g. https://accounts.zoho.eu).",
        code="UNTRUSTED_ACCOUNTS_SERVER",
    )


# --------------------------------------------------------------------------------------------
# Consent URL and the loopback callback
# --------------------------------------------------------------------------------------------


def authorization_url(
    endpoints: Endpoints | str,
    client_id: str,
    redirect_uri: str,
    scopes: Iterable[str] | str = DEFAULT_SCOPES,
    state: str | None = None,
) -> tuple[str, str]:
    """The consent URL (offline access, consent forced so a refresh token is issued) and its state.

    ``endpoints`` is an :class:`Endpoints` or an accounts server base URL.
    """
    base = endpoints.auth_url if isinstance(endpoints, Endpoints) else endpoints.rstrip("/") + "/oauth/v2/auth"
    state = state or secrets.token_urlsafe(24)
    scope = scopes if isinstance(scopes, str) else ",".join(scopes)
    query = urlencode(
        {
            "scope": scope,
            "client_id": client_id,
            "response_type": "code",
            "access_type": "offline",
            "prompt": "consent",
            "redirect_uri": redirect_uri,
            "state": state,
        }
    )
    return f"{base}?{query}", state


@dataclass(frozen=True, repr=False)
class Callback:
    """What the browser brought back: the code and where to exchange it."""

    code: str
    state: str | None
    location: str | None = None
    accounts_server: str | None = None

    def __repr__(self) -> str:
        return f"Callback(code=***, state=..., location={self.location!r}, accounts_server={self.accounts_server!r})"

    __str__ = __repr__


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: sans-serif; margin: 3em"><h2>{title}</h2><p>{body}</p></body></html>"""


class CallbackCatcher:
    """One-shot HTTP server on 127.0.0.1 at the redirect URI's port and path.

    >>> with CallbackCatcher("http://127.0.0.1:8910/callback") as catcher:  # doctest: +SKIP
    ...     webbrowser.open(url)
    ...     cb = catcher.wait(state, timeout=300)

    ``wait`` returns a :class:`Callback` once a request arrives on the path with a code and the
    expected ``state``; a wrong state, a denied consent or a timeout raise :class:`ZohoAuthError`.
    The browser gets a short HTML page either way. Requests on other paths (favicon...) get 404.
    """

    def __init__(self, redirect_uri: str) -> None:
        parts = urlsplit(redirect_uri)
        if parts.scheme != "http" or not is_loopback_url(redirect_uri):
            raise ZohoAuthError(
                f"The redirect URI {redirect_uri!r} is not a loopback http:// URL, so this machine cannot "
                "catch the callback. Use a redirect like http://127.0.0.1:8910/callback registered in the "
                "API console, or the self-client route (paste a code).",
                code="REDIRECT_NOT_LOOPBACK",
            )
        self.redirect_uri = redirect_uri
        self.path = parts.path or "/"
        self.port = parts.port or 80
        self._result: dict[str, list[str]] | None = None
        self._arrived = threading.Event()
        self._server: http.server.HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> CallbackCatcher:
        catcher = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != catcher.path or catcher._arrived.is_set():
                    self._answer(404, "Not found", "This one-shot callback server has nothing here.")
                    return
                query = parse_qs(parts.query)
                if "error" in query:
                    self._answer(
                        200,
                        "Authorization was not granted",
                        "Zoho reported: "
                        + html.escape(query["error"][0])
                        + ". Go back to the notebook for what to do next.",
                    )
                else:
                    self._answer(200, "Authorization received", "You can close this tab and go back to the notebook.")
                catcher._result = query
                catcher._arrived.set()

            def _answer(self, status: int, title: str, body: str) -> None:
                page = _PAGE.format(title=title, body=body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, format: str, *args: Any) -> None:  # the query holds the code: no logs
                return

        try:
            self._server = http.server.HTTPServer(("127.0.0.1", self.port), Handler)
        except OSError as exc:
            raise ZohoAuthError(
                f"Cannot listen on 127.0.0.1:{self.port} for the OAuth callback ({exc.strerror}). "
                "Close what uses that port, or register another redirect port.",
                code="CALLBACK_PORT_BUSY",
            ) from None
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="sergas-nb-oauth-callback",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> CallbackCatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the wait -------------------------------------------------------------------------------
    def wait(self, state: str | None, timeout: float = 300.0) -> Callback:
        """Block until the browser comes back (or ``timeout`` seconds); check ``state``."""
        if self._server is None:
            self.start()
        try:
            if not self._arrived.wait(timeout):
                raise ZohoAuthError(
                    f"No OAuth callback arrived on {self.redirect_uri} within {timeout:g} s. "
                    "Open the authorization URL in a browser on this machine and accept; if "
                    "the notebook runs remotely, use the self-client route instead.",
                    code="CALLBACK_TIMEOUT",
                )
        finally:
            self.stop()
        q = {k: v[0] for k, v in (self._result or {}).items() if v}
        if "error" in q:
            raise ZohoAuthError(
                _CLIENT_ERRORS.get(q["error"], f"Zoho reported {q['error']!r} instead of a code."), code=q["error"]
            )
        if state is not None and not secrets.compare_digest(q.get("state", ""), state):
            raise ZohoAuthError(
                "The callback's state does not match the one this notebook sent: the answer "
                "belongs to another sign-in (or was forged). Start the step again.",
                code="STATE_MISMATCH",
            )
        if not q.get("code"):
            raise ZohoAuthError("The callback carried no authorization code.", code="NO_CODE")
        _secrets.register(q["code"])
        return Callback(
            code=q["code"], state=q.get("state"), location=q.get("location"), accounts_server=q.get("accounts-server")
        )


# --------------------------------------------------------------------------------------------
# .env
# --------------------------------------------------------------------------------------------


def _quote(value: str) -> str:
    """Quote for python-dotenv when needed (spaces, #, quotes); backslash-escape inside quotes."""
    if value and all(c.isalnum() or c in "-_.:/@+=,%" for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_env_file(path: str | os.PathLike[str], values: Mapping[str, Any]) -> list[str]:
    """Create or update a .env: set ``values`` (None removes a key), keep every other line.

    Returns the names written (never the values). The file is replaced atomically and, being full
    of secrets, made readable by its owner only.
    """
    path = Path(path)
    wanted = {k: (v.get_secret_value() if hasattr(v, "get_secret_value") else v) for k, v in values.items()}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    out: list[str] = []
    done: set[str] = set()
    for line in lines:
        stripped = line.strip()
        body = stripped[len("export ") :] if stripped.startswith("export ") else stripped
        key = body.split("=", 1)[0].strip() if "=" in body and not stripped.startswith("#") else None
        if key in wanted:
            if key in done:
                continue  # drop duplicates of a key we set
            done.add(key)
            if wanted[key] is not None:
                out.append(f"{key}={_quote(str(wanted[key]))}")
            continue
        out.append(line)
    for key, value in wanted.items():
        if key not in done and value is not None:
            out.append(f"{key}={_quote(str(value))}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".env.", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(out) + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return [k for k, v in wanted.items() if v is not None]
