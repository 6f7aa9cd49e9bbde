"""Tier 1: the toolkit's client as an MCP server (``sergas-nb mcp``); see server.py and tools.py.

Named ``assistant``, not ``mcp``, so that ``import mcp`` keeps meaning the official SDK.
"""

from sergas_nb.errors import ZohoError


class ToolInputError(ZohoError):
    """A tool argument the server refuses (the message says which and why); nothing was sent."""
