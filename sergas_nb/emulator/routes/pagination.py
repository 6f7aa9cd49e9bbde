"""Page tokens as the list routes use them (the signer lives in state/, beside what it signs, so
the emulator's core can hold one without importing the routes)."""

from sergas_nb.emulator.state.page_tokens import DISCRETE_LIMIT, TOKEN_LIMIT, TOKEN_TTL, PageTokens, binding

__all__ = ["DISCRETE_LIMIT", "TOKEN_LIMIT", "TOKEN_TTL", "PageTokens", "binding"]
