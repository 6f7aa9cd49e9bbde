"""MCP resources: metadata a host can read without a tool call.

zoho://modules                     the modules (as list_modules answers)
zoho://modules/{module}/fields     one module's fields (as describe_module answers)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver.exceptions import ResourceError

from sergas_nb import _secrets
from sergas_nb.assistant import render
from sergas_nb.errors import ZohoError

if TYPE_CHECKING:
    from mcp.server import MCPServer

    from sergas_nb.assistant.tools import Tools


def _read(tools: Tools, fn: Callable[[], dict[str, Any]]) -> str:
    try:
        with tools.lock:
            return render.dumps(fn())
    except (ZohoError, ValueError) as exc:  # a clear message, never a traceback
        raise ResourceError(_secrets.redact(exc)) from None


def register(server: MCPServer, tools: Tools) -> None:
    @server.resource(
        "zoho://modules",
        name="modules",
        description="The CRM modules the API can use, with labels and permissions.",
        mime_type="application/json",
    )
    def modules() -> str:
        return _read(tools, tools.list_modules)

    @server.resource(
        "zoho://modules/{module}/fields",
        name="module_fields",
        description="A module's fields: API name, label, data type, JSON type, writable, picklist values, lookup.",
        mime_type="application/json",
    )
    def module_fields(module: str) -> str:
        return _read(tools, lambda: tools.describe_module(module))
