"""The emulator's Zoho accounts server (OAuth 2.0): consent page, token endpoint, revoke, test controls."""

from .models import Grant
from .server import OAuthServer

__all__ = ["Grant", "OAuthServer"]
