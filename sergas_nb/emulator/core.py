"""The ``Emulator``: everything one running emulator holds (state, OAuth, limits, faults, page tokens).

Its own module, apart from the ASGI app, so that routes and faults can name the type without
importing the app that imports them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sergas_nb.emulator.faults import Faults
from sergas_nb.emulator.limits import Limits
from sergas_nb.emulator.oauth import OAuthServer
from sergas_nb.emulator.state.page_tokens import PageTokens
from sergas_nb.emulator.state.store import Store

SCOPES = (
    "ZohoCRM.modules.ALL",
    "ZohoCRM.settings.ALL",
    "ZohoCRM.users.READ",
    "ZohoCRM.org.READ",
    "ZohoCRM.coql.READ",
    "ZohoCRM.bulk.ALL",
    "ZohoSearch.securesearch.READ",
    "ZohoFiles.files.ALL",
)
DEFAULT_USER_EMAIL = "analyst@sergas.local"


class Emulator:
    """Everything one running emulator holds. Routes reach it as ``request.app.state.emulator``.

    One ``Emulator`` serves all of Zoho's host roles (API, file upload, download; ``hosts.py``):
    each role is an app of its own on its own port, all sharing this state.
    """

    def __init__(
        self,
        base_url_getter: Callable[[], str],
        *,
        download_url_getter: Callable[[], str],
        seed: int = 42,
        accounts: int = 2000,
        token_ttl: float = 3600.0,
        auto_approve: bool = True,
        user_email: str = DEFAULT_USER_EMAIL,
        concurrency: int = 20,
        sub_concurrency: int = 10,
        credits_per_day: int = 1_000_000,
    ) -> None:
        self.base_url_getter = base_url_getter
        # Zoho hands out Bulk Write results as absolute URLs on a download host of its own
        # (hosts.py): the API host's routes need that host's URL to answer them.
        self.download_url_getter = download_url_getter
        self.user_email = user_email
        self.store = Store(seed, accounts, user_email=user_email)
        self.oauth = OAuthServer(
            base_url_getter, access_ttl=token_ttl, auto_approve=auto_approve, user_email=user_email
        )
        self.limits = Limits(concurrency, sub_concurrency, credits_per_day)
        self.faults = Faults(self.oauth.expire_access_tokens)
        # A fresh secret per emulator: page tokens from another run are rejected, as Zoho's would be.
        self.page_tokens = PageTokens(secrets.token_bytes(32))
        # Exceptions no handler meant to raise (each answered as a logged 500): tests assert it stays 0.
        self.unexpected_errors = 0

    def register_default_client(self, redirect_uris: list[str], name: str = "sergas-nb local") -> tuple[str, str, str]:
        """A registered client plus a pre-issued refresh token: (client_id, client_secret, refresh_token)."""
        client_id = "1000." + secrets.token_hex(15).upper()
        client_secret = secrets.token_hex(21)
        self.oauth.register_client(client_id, client_secret, redirect_uris, name)
        refresh = self.oauth.issue_refresh_token(client_id, list(SCOPES), self.user_email)
        return client_id, client_secret, refresh

    def reset(self) -> None:
        """Seeded data, faults, latency, limits and OAuth state back to how they started."""
        self.store.reset()
        self.faults.reset()
        self.limits.reset()
        self.oauth.reset()
