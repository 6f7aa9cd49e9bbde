"""The emulator's Zoho accounts server (OAuth 2.0): consent page, token endpoint, revoke, test controls."""

from __future__ import annotations

from starlette.routing import BaseRoute

from .endpoints import control_routes, oauth_routes
from .models import Grant
from .server import AccountsServer

__all__ = ["AccountsServer", "Grant", "OAuthServer"]


class OAuthServer(AccountsServer):
    """The accounts server with its Starlette routes.

    Joined here rather than in ``server.py`` so that the rules never import the endpoints that
    translate HTTP into them (no ``server`` ⇄ ``endpoints`` cycle).
    """

    def routes(self) -> list[BaseRoute]:
        """/oauth/v2/auth, /oauth/v2/token and /oauth/v2/token/revoke."""
        return oauth_routes(self)

    def control_routes(self, prefix: str = "/__emulator__/oauth") -> list[BaseRoute]:
        """Test controls with full paths under ``prefix`` (pass ``prefix=""`` to Mount them yourself)."""
        return control_routes(self, prefix)
