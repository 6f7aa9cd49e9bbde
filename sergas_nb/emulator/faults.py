"""Test controls that change how the emulator answers: latency, one-shot faults, request counters.

Faults are matched by method and a path regex and fire for the next ``count`` matching requests.
Kinds: ``status`` (any HTTP status with Zoho's JSON envelope or an HTML page, like a proxy's 502),
``429``, ``reset`` (the TCP connection is aborted: the client sees a connection reset), ``stall``
(sleep, then answer normally), ``malformed`` (200 with truncated JSON), ``token_death`` (every
live access token dies as the request arrives, so it and every later request with those tokens get
401 INVALID_TOKEN until the client refreshes). ``every=N`` fires on every Nth matching request
only (``count`` times in all): token deaths spread through a long run.

Tokens die out of band on real Zoho: each refresh token keeps a bounded number of live access
tokens and "when you cross this maximum number, the first access token will be deleted
irrespective of whether it is active or not" (https://www.zoho.com/projects/help/rest-api/faq/oauth.html;
the same limit on every Zoho API's OAuth page), so another process's refreshes retire ours; admins
revoke them too. A request with a dead token is answered 401 INVALID_TOKEN (oauth/server.py).

``after=True`` fires the fault *after* the request was handled: the write is applied, then its
answer is lost (reset, an HTML 502, a malformed 200) or delayed past the client's timeout
(stall). That is the case a client must not mistake for "not applied".

The connection reset needs the transport, which ASGI hides: ``transport_protocol`` subclasses
uvicorn's HTTP protocol to publish the transport in a context variable that the request task inherits
(asyncio copies the context when the protocol creates the task inside ``data_received``).
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from sergas_nb.emulator.errors import EmulatorError, internal_error
from sergas_nb.emulator.limits import too_many_requests

CURRENT_TRANSPORT: contextvars.ContextVar[Any] = contextvars.ContextVar("emulator_transport", default=None)
CONTROL_PREFIX = "/__emulator__"
KINDS = ("status", "429", "reset", "stall", "malformed", "token_death")


@dataclass
class Fault:
    kind: str
    path: str = ".*"
    method: str | None = None
    count: int = 1
    status: int = 500
    body: str = "zoho"  # "zoho" JSON envelope or "html"
    code: str | None = None
    message: str | None = None
    seconds: float = 5.0
    after: bool = False  # apply the request first, then fail its answer
    every: int = 1  # fire on every Nth matching request only
    fired: int = 0
    seen: int = 0  # matching requests so far
    _regex: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        if self.count < 1:
            raise ValueError("count must be at least 1")
        if self.every < 1:
            raise ValueError("every must be at least 1")
        if self.body not in ("zoho", "html"):
            raise ValueError('body must be "zoho" or "html"')
        self._regex = re.compile(self.path)  # raises re.error for a bad pattern
        self.method = self.method.upper() if self.method else None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and self._regex.search(path) is not None

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": self.path,
            "method": self.method,
            "count": self.count,
            "status": self.status,
            "body": self.body,
            "seconds": self.seconds,
            "after": self.after,
            "every": self.every,
            "fired": self.fired,
        }


class Faults:
    """Latency settings, pending faults and per-path request counters."""

    def __init__(self, kill_tokens: Callable[[], int] | None = None) -> None:
        self._lock = threading.Lock()
        self.kill_tokens = kill_tokens  # the accounts server's "every live access token dies now"
        self.token_deaths = 0
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.pending: list[Fault] = []
            self.fixed_latency = 0.0
            self.per_record_latency = 0.0
            self.requests: Counter[str] = Counter()
            self.hosts: dict[str, Counter[str]] = {}  # host role -> "METHOD path" counts
            self.token_deaths = 0

    def token_death(self) -> None:
        """Every live access token dies now (the ``token_death`` fault). ``token_deaths`` counts
        the times one did: a fault that fires while every token is already dead kills nothing."""
        if self.kill_tokens is None:
            raise RuntimeError("this emulator has no accounts server to kill tokens in")
        if self.kill_tokens():
            with self._lock:
                self.token_deaths += 1

    def add(self, fault: Fault) -> None:
        with self._lock:
            self.pending.append(fault)

    def clear(self) -> None:
        with self._lock:
            self.pending.clear()

    def set_latency(self, fixed: float = 0.0, per_record: float = 0.0) -> None:
        if fixed < 0 or per_record < 0:
            raise ValueError("latency must not be negative")
        self.fixed_latency, self.per_record_latency = float(fixed), float(per_record)

    def take(self, method: str, path: str, host: str = "api") -> Fault | None:
        """Count the request (and on which host role) and return the fault it triggers, if any."""
        with self._lock:
            self.requests[f"{method} {path}"] += 1
            self.hosts.setdefault(host, Counter())[f"{method} {path}"] += 1
            for fault in self.pending:
                if fault.matches(method, path):
                    fault.seen += 1
                    if fault.seen % fault.every:
                        continue
                    fault.count -= 1
                    fault.fired += 1
                    if fault.count <= 0:
                        self.pending.remove(fault)
                    return fault
        return None

    async def delay(self, n_records: int = 0) -> None:
        """The configured latency: fixed per call plus per record in the answer or request."""
        seconds = self.fixed_latency + self.per_record_latency * n_records
        if seconds > 0:
            await asyncio.sleep(seconds)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            by_path: Counter[str] = Counter()
            for key, n in self.requests.items():
                by_path[key.partition(" ")[2]] += n
            return {
                "total": sum(self.requests.values()),
                "requests": dict(self.requests),
                "by_path": dict(by_path),
                # Which host each request reached: a test can see an upload on the file host and a
                # Bulk Write result on the download host, as Zoho splits them.
                "by_host": {host: dict(counts) for host, counts in self.hosts.items()},
                "pending_faults": [f.describe() for f in self.pending],
                "token_deaths": self.token_deaths,
                "latency": {"fixed": self.fixed_latency, "per_record": self.per_record_latency},
            }


_HTML_502 = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    b"</center><hr><center>ZGS</center></body></html>"
)


def _fault_response(fault: Fault) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    json_type = [(b"content-type", b"application/json;charset=UTF-8")]
    if fault.kind == "malformed":
        return 200, json_type, b'{"data": [{"id": "62508530'
    if fault.kind == "429":
        err = too_many_requests()
    elif fault.body == "html":
        html = (
            _HTML_502
            if fault.status == 502
            else (
                f"<html><head><title>{fault.status}</title></head><body><h1>{fault.status}</h1></body></html>".encode()
            )
        )
        return fault.status, [(b"content-type", b"text/html;charset=UTF-8")], html
    else:
        err = internal_error() if fault.status >= 500 else EmulatorError("INVALID_DATA", "invalid data")
        err.code, err.status = fault.code or err.code, fault.status
    err.message = fault.message or err.message
    return err.status, json_type, orjson.dumps(err.body())


class FaultMiddleware:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware): counts requests and fires faults.

    ``host`` names the host role the wrapped app serves (``hosts.py``); faults match on path alone.
    """

    def __init__(self, app: Any, faults: Faults, host: str = "api") -> None:
        self.app = app
        self.faults = faults
        self.host = host

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        fault = self.faults.take(scope["method"], scope["path"], self.host)
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.kind == "token_death" and not fault.after:
            self.faults.token_death()  # this request is the first to carry a dead token
            await self.app(scope, receive, send)
            return
        if fault.after:
            await self._after(fault, scope, receive, send)
            return
        if fault.kind == "stall":
            await asyncio.sleep(fault.seconds)
            await self.app(scope, receive, send)
            return
        if fault.kind == "reset":
            transport = CURRENT_TRANSPORT.get()
            if transport is not None:
                transport.abort()
                # Wait for uvicorn to notice the loss so it does not try to write a 500 afterwards.
                for _ in range(50):
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                return
            fault = Fault("status", status=500)  # no transport (other server): degrade to a 500
        await _send_fault(fault, send)

    async def _after(self, fault: Fault, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Let the app handle (and apply) the request, holding its answer back; then fail it."""
        held: list[dict[str, Any]] = []

        async def hold(message: dict[str, Any]) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        if fault.kind == "token_death":  # this request was answered; the next ones meet dead tokens
            self.faults.token_death()
            for message in held:
                await send(message)
            return
        if fault.kind == "stall":  # applied; the answer comes too late for the client's timeout
            if await _disconnected_within(receive, fault.seconds):
                return  # the client gave up (or was killed): nobody to answer
            for message in held:
                await send(message)
            return
        if fault.kind == "reset":
            transport = CURRENT_TRANSPORT.get()
            if transport is not None:
                transport.abort()
                for _ in range(50):  # as above: let uvicorn see the loss before it answers for us
                    if (await receive())["type"] == "http.disconnect":
                        return
                return
            fault = Fault("status", status=502, body="html")
        await _send_fault(fault, send)


async def _disconnected_within(receive: Any, seconds: float) -> bool:
    """Wait ``seconds`` for the client to hang up; True when it did."""

    async def hang_up() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(hang_up(), timeout=seconds)
    except TimeoutError:
        return False
    return True


async def _send_fault(fault: Fault, send: Any) -> None:
    status, headers, body = _fault_response(fault)
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def transport_protocol(base: type) -> type:
    """A uvicorn HTTP protocol class that publishes its transport to the request task."""

    class TransportPublishingProtocol(base):
        def data_received(self, data: bytes) -> None:
            token = CURRENT_TRANSPORT.set(self.transport)
            try:
                super().data_received(data)
            finally:
                CURRENT_TRANSPORT.reset(token)

    TransportPublishingProtocol.__name__ = f"TransportPublishing{base.__name__}"
    return TransportPublishingProtocol
