"""HTTP plumbing: one pooled, time-bounded requests.Session, the shim the SDK talks through, and
what an answer (or its absence) means as a sergas_nb error.

The SDK calls module-level ``requests.get/put/post/patch/delete`` (util/api_http_connector.py) and
``requests.post`` (api/authenticator/oauth_token.py): writes and token calls carry no timeout, and
every call opens a new connection. ``_sdk.install_sdk_transport``
replaces the ``requests`` name *inside those two SDK modules* with the ``RequestsShim`` defined
here, which sends through our Session (default timeout, keep-alive, host allow-list, response
observer). The swap itself, like every other reach into the SDK, lives in _sdk.py.

Failures are typed (errors.py): ``ZohoNotSentError`` when the request surely never left (refused,
DNS, connect timeout), ``ZohoOutcomeUnknownError`` when it may have been applied (reset after
sending, read timeout, an unreadable answer); decided from exception types, never from their text.
"""

from __future__ import annotations

import mmap
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.sessions import merge_setting
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from sergas_nb import _secrets
from sergas_nb.errors import (
    ZohoAPIError,
    ZohoNotSentError,
    ZohoOutcomeUnknownError,
    ZohoRateLimitError,
    ZohoTransportError,
)

DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 60.0)  # (connect, read) seconds


class OffHostRequest(requests.exceptions.ConnectionError):
    """The SDK tried to reach a host this client was not configured for; nothing was sent."""


class BoundedSession(requests.Session):
    """A Session whose every request has a timeout (ours unless the caller gives one)."""

    def __init__(self, timeout: tuple[float, float] | float = DEFAULT_TIMEOUT, pool_size: int = 8) -> None:
        super().__init__()
        self.timeout = timeout
        self._env_proxies: dict[tuple[str, str, Any], dict[str, str]] = {}
        # No urllib3-level retries: retry policy lives in _retry.py, where it knows what is safe.
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, url, *args, **kwargs)

    def merge_environment_settings(self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        """requests' own merge, with the environment's proxies for a host read once per session, as
        httpx reads them once per client: requests walks the whole environment for every request
        (``getproxies``, about 0.3 ms a call, 12 ms of a 2,000-record plan apply's CPU)."""
        if not self.trust_env:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        no_proxy = proxies.get("no_proxy") if proxies is not None else None
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, no_proxy)
        env_proxies = self._env_proxies.get(key)
        if env_proxies is None:
            env_proxies = self._env_proxies[key] = requests.utils.get_environ_proxies(url, no_proxy=no_proxy)
        if proxies is not None:
            for k, v in env_proxies.items():
                proxies.setdefault(k, v)
        if verify is True or verify is None:
            verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or verify
        return {
            "proxies": merge_setting(proxies, self.proxies),
            "stream": merge_setting(stream, self.stream),
            "verify": merge_setting(verify, self.verify),
            "cert": merge_setting(cert, self.cert),
        }


@dataclass
class Seen:
    """What the shim observed of one SDK exchange (status is None when no answer came)."""

    method: str
    url: str
    status: int | None
    duration: float
    error: BaseException | None = None


class _Route(threading.local):
    session: requests.Session | None = None
    allowed: frozenset[str] = frozenset()
    observer: Callable[[Seen], None] | None = None
    sent_token: str | None = None  # the access token of this thread's last SDK request


AUTH_PREFIX = "Zoho-oauthtoken "


class RequestsShim:
    """Stands in for the ``requests`` module inside the SDK's two HTTP-calling modules.

    ``get/put/post/patch/delete/request`` go to the Session routed for the current thread (set by
    ``routed``); attribute lookups it does not define (exceptions, Response, ...) fall through to
    the real module, so the SDK's ``except requests...`` clauses still work.
    """

    def __init__(self) -> None:
        self._route = _Route()
        self._default = BoundedSession()

    def routed(
        self, session: requests.Session, allowed_urls: list[str], observer: Callable[[Seen], None] | None = None
    ) -> _Routing:
        return _Routing(self._route, session, allowed_urls, observer)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        session = self._route.session or self._default
        allowed = self._route.allowed
        host = origin(url)
        if allowed and host not in allowed:
            # The SDK's api_domain switch (or a token stored for another host) would move us
            # elsewhere: refuse rather than send credentials to a host we were not given.
            raise OffHostRequest(f"refused SDK request to {host}: this client talks to {', '.join(sorted(allowed))}")
        auth = (kwargs.get("headers") or {}).get("Authorization")
        if isinstance(auth, str) and auth.startswith(AUTH_PREFIX):
            # kept so a 401 names the token it refused (one refresh per dead token: _token_deaths)
            self._route.sent_token = auth[len(AUTH_PREFIX) :]
        start = time.perf_counter()
        try:
            resp = session.request(method, url, **kwargs)
        except BaseException as exc:
            self._observe(Seen(method, url, None, time.perf_counter() - start, exc))
            raise
        self._observe(Seen(method, url, resp.status_code, time.perf_counter() - start))
        return resp

    def sent_token(self) -> str | None:
        """The access token the calling thread's last SDK request carried (None: none yet)."""
        return self._route.sent_token

    def _observe(self, seen: Seen) -> None:
        if self._route.observer is not None:
            self._route.observer(seen)

    def get(self, url: str, **kw: Any) -> requests.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> requests.Response:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> requests.Response:
        return self.request("PUT", url, **kw)

    def patch(self, url: str, **kw: Any) -> requests.Response:
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", url, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(requests, name)


class _Routing:
    """Context manager: SDK calls in this thread go through ``session`` to ``allowed_urls`` only."""

    def __init__(
        self, route: _Route, session: requests.Session, allowed_urls: list[str], observer: Callable[[Seen], None] | None
    ) -> None:
        self._route, self._new = route, (session, frozenset(origin(u) for u in allowed_urls), observer)
        self._old: tuple[Any, Any, Any] | None = None

    def __enter__(self) -> None:
        r = self._route
        self._old = (r.session, r.allowed, r.observer)
        r.session, r.allowed, r.observer = self._new

    def __exit__(self, *exc: object) -> None:
        assert self._old is not None
        self._route.session, self._route.allowed, self._route.observer = self._old


# ------------------------------------------------------------------------ large answer bodies

# The pieces a body is read in: each passes through the worker's heap and is freed at once. Under
# glibc's first mmap threshold (128 KB) a piece's block is reused; 256 KB pieces cost 40% less
# CPU but left ~0.5 MB in each worker's arena (4.5 MB more peak on a 20,000-record read).
READ_CHUNK = 64 * 1024
FIRST_CAPACITY = 256 * 1024  # an answer without Content-Length starts here and doubles
# Pages faulted in by one call rather than one fault per 4 KB page as the body is copied in.
_MAP_FLAGS = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_POPULATE", 0)

Body = bytes | mmap.mmap  # an unparsed answer: bytes, or a read's page in an anonymous mapping


def read_body(raw: Any, length: int | None = None) -> mmap.mmap | None:
    """A whole answer body (urllib3's decoded stream ``raw``) in an anonymous memory mapping of
    its own; None when it is empty.

    Read workers take a large answer (2.5 MB for a COQL part) each in its own thread. As one
    ``bytes`` the body comes from that thread's malloc arena, and glibc keeps a freed block of
    that size in the arena for the next one (its mmap threshold rises to the largest block
    freed): ten workers kept about 30 MB of free heap past a 20,000-record read, twice the
    frame. A mapping is handed back to the kernel when the body is dropped; only one piece
    at a time passes through the worker's heap. ``length``: the Content-Length, when the body is
    not re-encoded, to map it at once."""
    capacity = length if length and length > 0 else FIRST_CAPACITY
    buf = mmap.mmap(-1, capacity, flags=_MAP_FLAGS)
    pos = 0
    try:
        while True:
            piece = raw.read(READ_CHUNK, decode_content=True)
            if not piece:
                break
            end = pos + len(piece)
            if end > capacity:
                capacity = max(2 * capacity, end)
                buf.resize(capacity)
            buf[pos:end] = piece
            pos = end
        if pos == 0:
            buf.close()
            return None
        if pos < capacity:
            buf.resize(pos)
        return buf
    except BaseException:
        buf.close()
        raise


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL, lowercased, default ports filled in: two URLs with the
    same origin reach the same server (the one comparison the SDK route and REST pinning use)."""
    p = urlsplit(url)
    scheme = p.scheme.lower()
    port = p.port or (443 if scheme == "https" else 80)
    return f"{scheme}://{(p.hostname or '').lower()}:{port}"


# ------------------------------------------------------------------------ answers as errors


class AuthFailure(ZohoAPIError):
    """Internal: a 401 from a CRM call (the client refreshes once, then raises ZohoAuthError)."""

    rejected: str | None = None  # the access token that was refused (never put in details)


def transport_error(exc: BaseException, doing: str) -> ZohoTransportError:
    """A requests failure as ZohoNotSentError (surely never reached Zoho) or ZohoOutcomeUnknownError."""
    if isinstance(exc, OffHostRequest):  # refused here, before sending; never worth a retry
        return ZohoNotSentError(_secrets.redact(f"{doing}: {type(exc).__name__}: {exc}"), code="OFF_HOST", status=None)
    code = "TIMEOUT" if isinstance(exc, requests.exceptions.Timeout) else "CONNECTION_ERROR"
    if never_sent(exc):
        return ZohoNotSentError(
            _secrets.redact(f"{doing}: {type(exc).__name__}: {exc} (not sent)"), code=code, status=None
        )
    return ZohoOutcomeUnknownError(
        _secrets.redact(f"{doing}: {type(exc).__name__}: {exc} (sent, answer lost: a write may have been applied)"),
        code=code,
        status=None,
    )


def never_sent(exc: BaseException) -> bool:
    """Whether the connection was never made: connect timeout, refused, DNS failure (by type)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen or not isinstance(e, BaseException):
            continue
        seen.add(id(e))
        # urllib3: NewConnectionError (refused, DNS: NameResolutionError) subclasses ConnectTimeoutError
        if isinstance(e, ConnectTimeoutError | NewConnectionError | ConnectionRefusedError):
            return True
        todo.extend([e.__cause__, e.__context__, getattr(e, "reason", None), *getattr(e, "args", ())])
    return False


def parse_response(resp: requests.Response, doing: str, token: str | None) -> dict[str, Any] | None:
    """A Zoho answer as JSON (None for 204/304), or the matching sergas_nb error raised."""
    status = resp.status_code
    if status in (204, 304):
        return None
    try:
        body = resp.json() if resp.content else None
    except ValueError:
        body = None
        if 200 <= status < 300:
            raise ZohoOutcomeUnknownError(
                f"{doing}: HTTP {status} with malformed JSON (a write may have been applied)",
                code="MALFORMED_RESPONSE",
                status=status,
            ) from None
    if 200 <= status < 300:
        if body is None:
            raise ZohoOutcomeUnknownError(
                f"{doing}: HTTP {status} with an empty body (a write may have been applied)",
                code="MALFORMED_RESPONSE",
                status=status,
            )
        return body
    if status >= 500 and not isinstance(body, dict):
        # An HTML page from a proxy (502/503/504): the request may have reached Zoho and been applied.
        raise ZohoOutcomeUnknownError(
            f"{doing}: HTTP {status} {resp.reason or ''} with no Zoho answer (a write may have been applied)".replace(
                "  ", " "
            ),
            code=f"HTTP_{status}",
            status=status,
        )
    info = body if isinstance(body, dict) else {}
    if isinstance(info.get("data"), list) and info["data"] and isinstance(info["data"][0], dict):
        info = info["data"][0]  # some errors come wrapped like write outcomes
    code = str(info.get("code") or f"HTTP_{status}")
    message = f"{doing}: " + _secrets.redact(info.get("message") or resp.reason or f"HTTP {status}")
    details = info.get("details") if isinstance(info.get("details"), dict) else {}
    if status == 429:
        raise ZohoRateLimitError(
            message, retry_after=retry_after_header(resp), code=code, status=status, details=details
        )
    if status == 401:
        err = AuthFailure(message, code=code, status=status, details=details)
        err.rejected = token  # kept off details: those may be shown
        raise err
    raise ZohoAPIError(message, code=code, status=status, details=details)


def retry_after_header(resp: requests.Response) -> float | None:
    """Seconds from a ``Retry-After`` header (None when absent or not a number)."""
    try:
        return float(resp.headers["Retry-After"])
    except (KeyError, ValueError):
        return None
