"""Tier 1: the toolkit's client as an MCP server (``sergas-nb mcp``); see server.py and tools.py.

Named ``assistant``, not ``mcp``, so that ``import mcp`` keeps meaning the official SDK.
"""
