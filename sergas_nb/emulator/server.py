"""Run the emulator with uvicorn on loopback: in a background thread (LocalZoho) or in the foreground (CLI)."""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import orjson
import uvicorn

from sergas_nb.emulator.faults import transport_protocol


class NotLoopbackError(ValueError):
    """The emulator serves fake credentials and test controls: it must never listen beyond loopback."""


def check_loopback(host: str) -> str:
    if host == "localhost":
        return "127.0.0.1"
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise NotLoopbackError(
        f"refusing to bind the emulator to {host!r}: only loopback addresses (127.0.0.1, ::1, localhost) are allowed"
    )


def _protocol() -> type:
    base: type
    try:  # httptools parses requests several times faster than h11
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        base = HttpToolsProtocol
    except ImportError:  # pragma: no cover - httptools is a dependency
        from uvicorn.protocols.http.h11_impl import H11Protocol

        base = H11Protocol
    return transport_protocol(base)


def _loop() -> str:
    try:
        import uvloop  # noqa: F401

        return "uvloop"
    except ImportError:  # pragma: no cover
        return "asyncio"


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on a loopback address (port 0: a free one)."""
    host = check_loopback(host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class ExactDate:
    """Each answer's ``Date`` taken as its headers go out, as an origin server writes it (RFC 9110
    section 6.6.1; Zoho's answers carry one). uvicorn's own is refreshed by its main loop about once
    a second and lagged by seconds on a loaded machine: the mirror times its reads by it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: Any) -> None:
            if message["type"] == "http.response.start":
                date = (b"date", formatdate(time.time(), usegmt=True).encode())
                message = {**message, "headers": [*message.get("headers", []), date]}
            await send(message)

        await self.app(scope, receive, dated)


def _config(app: Any) -> uvicorn.Config:
    # log_config=None: uvicorn's dictConfig would close every logging handler of the host process
    # (a notebook's, pytest's log file) when the emulator starts in process.
    return uvicorn.Config(
        ExactDate(app),
        http=_protocol(),
        loop=_loop(),
        lifespan="off",
        access_log=False,
        log_config=None,
        log_level="warning",
        timeout_keep_alive=30,
        server_header=False,
        date_header=False,  # ExactDate's instead
    )


def port_of(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


class ServerThread:
    """uvicorn serving ``app`` on ``sockets`` (one per host role) in a daemon thread."""

    def __init__(self, app: Any, sockets: socket.socket | list[socket.socket]) -> None:
        self.sockets = sockets if isinstance(sockets, list) else [sockets]
        self.server = uvicorn.Server(_config(app))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": self.sockets}, name="sergas-nb-emulator", daemon=True
        )

    def start(self, timeout: float = 15.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.01)

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(timeout)
        for sock in self.sockets:
            sock.close()


def serve_forever(
    host: str = "127.0.0.1",
    port: int = 8765,
    seed: int = 42,
    accounts: int = 5000,
    token_ttl: float = 3600.0,
    auto_approve: bool = False,
    redirect_url: str = "http://127.0.0.1:8910/callback",
    printer: Callable[[str], None] | None = None,
    content_port: int = 0,
    download_port: int = 0,
) -> int:
    """The CLI: bind, print ONE JSON line with the credentials and hosts, serve until interrupted.

    ``redirect_url`` is registered for the default client: the onboarding notebook's callback catcher.
    ``port`` is the API host's; the file (upload) and download hosts take ``content_port`` and
    ``download_port`` (0: free ports), and their URLs are in the line as ``content_url`` and
    ``download_url``.
    """
    from sergas_nb.emulator.app import build_hosts
    from sergas_nb.emulator.core import Emulator
    from sergas_nb.emulator.hosts import API, CONTENT, DOWNLOAD

    socks: list[socket.socket] = []
    try:
        for p in (port, content_port, download_port):
            socks.append(bind(host, p))
    except NotLoopbackError as e:
        print(f"sergas-nb emulator: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        for sock in socks:
            sock.close()
        print(f"sergas-nb emulator: cannot listen on {host}:{p}: {e.strerror}", file=sys.stderr)
        return 2
    url, content_url, download_url = (base_url(sock) for sock in socks)
    emu = Emulator(
        lambda: url,
        download_url_getter=lambda: download_url,
        seed=seed,
        accounts=accounts,
        token_ttl=token_ttl,
        auto_approve=auto_approve,
    )
    client_id, client_secret, refresh = emu.register_default_client([redirect_url, f"{url}/oauth/callback"])
    line = orjson.dumps(
        {
            "url": url,
            "content_url": content_url,
            "download_url": download_url,
            "token_url": f"{url}/oauth/v2/token",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh,
            "redirect_url": redirect_url,
        }
    ).decode()
    (printer or (lambda s: print(s, flush=True)))(line)
    ports = {API: port_of(socks[0]), CONTENT: port_of(socks[1]), DOWNLOAD: port_of(socks[2])}
    server = uvicorn.Server(_config(build_hosts(emu, ports)))
    try:
        server.run(sockets=socks)
    except KeyboardInterrupt:
        pass
    finally:
        for sock in socks:
            sock.close()
    return 0
