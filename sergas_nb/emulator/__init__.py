"""A local Zoho CRM v8 emulator (OAuth + CRM API) that the official SDK runs against unmodified.

with LocalZoho(accounts=2000, seed=42) as z:
    z.url, z.token_url, z.client_id, z.client_secret, z.refresh_token
    z.control.add_fault("status", path="/crm/v8/Accounts", status=502, body="html")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sergas_nb.emulator.control import Control
from sergas_nb.emulator.server import NotLoopbackError

if TYPE_CHECKING:
    from sergas_nb.emulator.state.store import Store

EmulatorControl = Control  # the root API's name (sn.EmulatorControl)

__all__ = ["Control", "EmulatorControl", "LocalZoho", "NotLoopbackError"]


class LocalZoho:
    """The emulator on a free 127.0.0.1 port, in a background thread, for the ``with`` block.

    ``latency``: seconds per call, or ``(fixed, per_record)``, or ``{"fixed": .., "per_record": ..}``.
    ``redirect_url``: the redirect URI registered for the default client (default: one on the
    emulator's own port, where nothing answers; onboarding passes its catcher's URL).
    """

    def __init__(
        self,
        accounts: int = 2000,
        seed: int = 42,
        token_ttl: float = 3600,
        auto_approve: bool = True,
        latency: float | tuple[float, float] | dict[str, float] | None = None,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        user_email: str | None = None,
        concurrency: int = 20,
        sub_concurrency: int = 10,
        credits_per_day: int = 1_000_000,
        redirect_url: str | None = None,
    ) -> None:
        from sergas_nb.emulator.app import build_app
        from sergas_nb.emulator.core import DEFAULT_USER_EMAIL, Emulator
        from sergas_nb.emulator.server import ServerThread, base_url, bind

        self._sock = bind(host, port)  # raises NotLoopbackError for a non-loopback host
        self.url = base_url(self._sock)
        self.port = self._sock.getsockname()[1]
        self.token_url = f"{self.url}/oauth/v2/token"
        # A notebook catching the OAuth callback needs a redirect on a port of its own.
        self.redirect_url = redirect_url or f"{self.url}/oauth/callback"
        self.user_email = user_email or DEFAULT_USER_EMAIL
        self.emulator = Emulator(
            lambda: self.url,
            seed=seed,
            accounts=accounts,
            token_ttl=token_ttl,
            auto_approve=auto_approve,
            user_email=self.user_email,
            concurrency=concurrency,
            sub_concurrency=sub_concurrency,
            credits_per_day=credits_per_day,
        )
        self.client_id, self.client_secret, self.refresh_token = self.emulator.register_default_client(
            [self.redirect_url]
        )
        if latency is not None:
            if isinstance(latency, dict):
                self.emulator.faults.set_latency(**latency)
            elif isinstance(latency, tuple):
                self.emulator.faults.set_latency(*latency)
            else:
                self.emulator.faults.set_latency(float(latency))
        self._thread = ServerThread(build_app(self.emulator), self._sock)
        self.control = Control(self.url)
        self._running = False

    @property
    def store(self) -> Store:
        """The emulated org, through its query/command API (each call takes the store's lock)."""
        return self.emulator.store

    @property
    def oauth(self) -> Any:
        return self.emulator.oauth

    def start(self) -> LocalZoho:
        if not self._running:
            self._thread.start()
            self._running = True
        return self

    def stop(self) -> None:
        if self._running:
            self._running = False
            self.control.close()
            self._thread.stop()

    def __enter__(self) -> LocalZoho:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:  # never show the secrets
        return f"LocalZoho(url={self.url!r}, client_id={self.client_id!r})"
