"""``sergas-nb mcp``: the toolkit's client as an MCP server (stdio, or streamable HTTP on loopback).

    sergas-nb mcp                          # stdio, settings from the environment / .env (as connect())
    sergas-nb mcp --emulator               # a local emulator started in this process
    sergas-nb mcp --http 8931              # streamable HTTP at http://127.0.0.1:8931/mcp
    sergas-nb mcp --allow-writes           # adds plan_edit / apply_plan / undo_plan / list_plans

Every tool answers structured JSON (and the same JSON as text). A failure is an MCP tool error
(``isError``) carrying the toolkit's message, passed through ``_secrets.redact``: no traceback,
token or secret reaches the host. Tool calls run one at a time (the client is not shared-state
safe), on the SDK's worker threads.
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
from collections.abc import Callable
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations

from sergas_nb import _secrets
from sergas_nb.assistant import render, resources
from sergas_nb.assistant.tools import Kind, Tools, tool_table
from sergas_nb.client import ZohoClient
from sergas_nb.errors import ZohoAPIError, ZohoConfigError, ZohoError

log = logging.getLogger("sergas_nb.assistant")

INSTRUCTIONS = (
    "Zoho CRM through sergas-nb. Start with list_modules and describe_module to learn API names; "
    "search_records / get_record / count_records / run_coql / summarize read; answers are bounded, "
    "continue with next_cursor. Writes (when enabled) are two steps: plan_edit shows what would "
    "change, apply_plan sends it (journalled), undo_plan restores."
)
Result = Annotated[CallToolResult, dict[str, Any]]
MAX_ERROR = 4000  # characters of one error message


def _as_tool(fn: Callable[..., dict[str, Any]], tools: Tools) -> Callable[..., CallToolResult]:
    """``fn`` with the same parameters, answering a CallToolResult (compact JSON text + structured),
    every failure turned into a ToolError with a clear, redacted message."""
    name = fn.__name__
    sig = inspect.signature(fn)

    def call(**kwargs: Any) -> CallToolResult:
        try:
            with tools.lock:
                payload = fn(**kwargs)
        except (ZohoError, ValueError) as exc:  # the toolkit's own messages: say them
            raise ToolError(_secrets.redact(_message(exc))[:MAX_ERROR]) from None
        except Exception as exc:  # a bug: its text and traceback stay here
            log.error("%s failed: %s: %s", name, type(exc).__name__, _secrets.redact(exc))
            raise ToolError(f"internal error ({type(exc).__name__}); the server's log has the details") from None
        text = render.dumps(payload)
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=json.loads(text))

    call.__name__ = name
    call.__doc__ = fn.__doc__
    call.__signature__ = sig.replace(return_annotation=Result)  # type: ignore[attr-defined]
    call.__annotations__ = {p.name: p.annotation for p in sig.parameters.values()} | {"return": Result}
    return call


def _message(exc: BaseException) -> str:
    """The error's text, with Zoho's details (which column, which field ...) when it gave some."""
    details = getattr(exc, "details", None) if isinstance(exc, ZohoAPIError) else None
    shown = {k: v for k, v in (details or {}).items() if isinstance(v, str | int | float | bool) or v is None}
    if not shown:
        return str(exc)
    return f"{exc} details: {json.dumps(shown, default=str)[:500]}"


def _annotations(name: str, kind: Kind) -> ToolAnnotations:
    title = name.replace("_", " ").capitalize()
    if kind == "write":
        return ToolAnnotations(title=title, read_only_hint=False, destructive_hint=True, open_world_hint=True)
    return ToolAnnotations(title=title, read_only_hint=True, open_world_hint=True)


def build_server(crm: ZohoClient, *, allow_writes: bool = False, journal: Any = None) -> MCPServer:
    """An MCPServer over ``crm``; with ``allow_writes`` the plan tools too (``journal`` required)."""
    if allow_writes and journal is None:
        raise ZohoConfigError({"DATABASE_URL": "--allow-writes journals every write: a database is required"})
    tools = Tools(crm, journal=journal if allow_writes else None)
    server: MCPServer = MCPServer(
        "sergas-nb",
        title="Zoho CRM (sergas-nb)",
        instructions=INSTRUCTIONS,
        log_level="WARNING",
    )
    for fn, kind in tool_table(tools, allow_writes):
        doc = inspect.cleandoc(fn.__doc__ or "")
        server.add_tool(
            _as_tool(fn, tools), name=fn.__name__, description=doc, annotations=_annotations(fn.__name__, kind)
        )
    resources.register(server, tools)
    # Handlers the SDK added after the client was made get the redacting filter too.
    _secrets.install_log_redaction(("sergas_nb", "SDKLogger", "", "mcp"))
    return server


def _journal_for(crm: ZohoClient) -> Any:
    from sergas_nb.edits.journal import Journal

    s = crm.settings
    if s.database_url is None and not s.database_host:
        raise ZohoConfigError(
            {
                "DATABASE_URL": "--allow-writes journals every write in PostgreSQL: set DATABASE_URL"
                " (then sergas-nb migrate)"
            }
        )
    journal = Journal(s.database_dsn())
    journal.plans()  # the tables exist (ZohoDatabaseError naming `sergas-nb migrate` otherwise)
    return journal


def main(args: argparse.Namespace) -> int:
    """Run until the host disconnects (stdio) or the process is stopped (HTTP)."""
    from sergas_nb.client import connect

    emulator = None
    if args.emulator:
        from sergas_nb.emulator import LocalZoho

        emulator = LocalZoho(accounts=args.accounts, seed=args.seed).start()
    try:
        crm = connect(emulator=emulator) if emulator is not None else connect()
        try:
            journal = _journal_for(crm) if args.allow_writes else None
            server = build_server(crm, allow_writes=args.allow_writes, journal=journal)
            if args.http is not None:
                log.warning("MCP over streamable HTTP at http://127.0.0.1:%d/mcp", args.http)
                server.run("streamable-http", host="127.0.0.1", port=args.http)
            else:
                server.run("stdio")
        finally:
            crm.close()
    finally:
        if emulator is not None:
            emulator.stop()
    return 0
