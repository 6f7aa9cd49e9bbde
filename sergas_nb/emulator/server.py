"""Run the emulator with uvicorn on loopback: in a background thread (LocalZoho) or in the foreground (CLI)."""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
import time
from collections.abc import Callable
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


def _config(app: Any) -> uvicorn.Config:
    # log_config=None: uvicorn's dictConfig would close every logging handler of the host process
    # (a notebook's, pytest's log file) when the emulator starts in process.
    return uvicorn.Config(
        app,
        http=_protocol(),
        loop=_loop(),
        lifespan="off",
        access_log=False,
        log_config=None,
        log_level="warning",
        timeout_keep_alive=30,
        server_header=False,
    )


class ServerThread:
    """uvicorn serving ``app`` on ``sock`` in a daemon thread."""

    def __init__(self, app: Any, sock: socket.socket) -> None:
        self.sock = sock
        self.server = uvicorn.Server(_config(app))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, name="sergas-nb-emulator", daemon=True
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
        self.sock.close()


def serve_forever(
    host: str = "127.0.0.1",
    port: int = 8765,
    seed: int = 42,
    accounts: int = 5000,
    token_ttl: float = 3600.0,
    auto_approve: bool = False,
    redirect_url: str = "http://127.0.0.1:8910/callback",
    printer: Callable[[str], None] | None = None,
) -> int:
    """The CLI: bind, print ONE JSON line with the credentials, serve until interrupted.

    ``redirect_url`` is registered for the default client: the onboarding notebook's callback catcher.
    """
    from sergas_nb.emulator.app import build_app
    from sergas_nb.emulator.core import Emulator

    try:
        sock = bind(host, port)
    except NotLoopbackError as e:
        print(f"sergas-nb emulator: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"sergas-nb emulator: cannot listen on {host}:{port}: {e.strerror}", file=sys.stderr)
        return 2
    url = base_url(sock)
    emu = Emulator(lambda: url, seed=seed, accounts=accounts, token_ttl=token_ttl, auto_approve=auto_approve)
    client_id, client_secret, refresh = emu.register_default_client([redirect_url, f"{url}/oauth/callback"])
    line = orjson.dumps(
        {
            "url": url,
            "token_url": f"{url}/oauth/v2/token",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh,
            "redirect_url": redirect_url,
        }
    ).decode()
    (printer or (lambda s: print(s, flush=True)))(line)
    server = uvicorn.Server(_config(build_app(emu)))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0
