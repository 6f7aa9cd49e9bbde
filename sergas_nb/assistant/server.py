"""``sergas-nb mcp``: the toolkit's client as an MCP server (stdio, or streamable HTTP on loopback).

    sergas-nb mcp                          # stdio, settings from the environment / .env (as connect())
    sergas-nb mcp --emulator               # a local emulator started in this process
    sergas-nb mcp --http 8931              # streamable HTTP at http://127.0.0.1:8931/mcp (bearer token: http.py)
    sergas-nb mcp --allow-writes           # adds plan_edit / apply_plan / undo_plan / list_plans

apply_plan and undo_plan write only after the user says yes through the host (approval.py).

Every tool answers structured JSON (and the same JSON as text). A failure is an MCP tool error
(``isError``) carrying the toolkit's message, passed through ``_secrets.redact``: no traceback,
token or secret reaches the host. Tool calls run one at a time (the client is not shared-state
safe), on the SDK's worker threads.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import logging
from collections.abc import Callable
from typing import Annotated, Any

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations

from sergas_nb import _secrets
from sergas_nb.assistant import approval, render, resources
from sergas_nb.assistant.approval import Guard, Preview
from sergas_nb.assistant.plan_adapter import outcomes as _outcomes
from sergas_nb.assistant.tools import Kind, Tools, tool_table
from sergas_nb.client import ZohoClient
from sergas_nb.errors import ZohoAPIError, ZohoConfigError, ZohoError

log = logging.getLogger("sergas_nb.assistant")

INSTRUCTIONS = (
    "Zoho CRM through sergas-nb. Start with list_modules and describe_module to learn API names; "
    "search_records / get_record / count_records / run_coql / summarize read; answers are bounded, "
    "continue with next_cursor. Writes (when enabled) are two steps: plan_edit shows what would "
    "change, apply_plan sends it after the user approves (journalled), undo_plan restores."
)
Result = Annotated[CallToolResult, dict[str, Any]]
MAX_ERROR = 4000  # characters of one error message


def _as_tool(fn: Callable[..., dict[str, Any]], tools: Tools) -> Callable[..., CallToolResult]:
    """``fn`` with the same parameters, answering a CallToolResult (compact JSON text + structured),
    every failure turned into a ToolError with a clear, redacted message."""
    name = fn.__name__
    sig = inspect.signature(fn)

    def call(**kwargs: Any) -> CallToolResult:
        return _result(_locked(tools, name, fn, **kwargs))

    call.__name__ = name
    call.__doc__ = fn.__doc__
    call.__signature__ = sig.replace(return_annotation=Result)  # type: ignore[attr-defined]
    call.__annotations__ = {p.name: p.annotation for p in sig.parameters.values()} | {"return": Result}
    return call


def _locked(tools: Tools, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` under the client's lock, every failure a ToolError with a clear, redacted message."""
    try:
        with tools.lock:
            return fn(*args, **kwargs)
    except ToolError:
        raise
    except (ZohoError, ValueError) as exc:  # the toolkit's own messages: say them
        raise ToolError(_secrets.redact(_message(exc))[:MAX_ERROR]) from None
    except Exception as exc:  # a bug: its text and traceback stay here
        log.error("%s failed: %s: %s", name, type(exc).__name__, _secrets.redact(exc))
        raise ToolError(f"internal error ({type(exc).__name__}); the server's log has the details") from None


def _result(payload: dict[str, Any]) -> CallToolResult:
    text = render.dumps(payload)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=json.loads(text))


def _as_approved_write(
    fn: Callable[..., dict[str, Any]],
    preview: Callable[[str], Preview],
    run: Callable[[str], Any],
    tools: Tools,
    guard: Guard,
) -> Callable[..., Any]:
    """A write tool (``fn``'s name, doc and schema) that writes only after a person's yes:
    host able to ask (or the opt-out), plan previewed, the session's cap reserved, the user asked,
    then ``run``; the cap settled to what was sent. Any refusal sends nothing."""
    name = fn.__name__
    sig = inspect.signature(fn)

    async def call(ctx: Context, plan_id: str) -> CallToolResult:
        ask = guard.require_asking(ctx, name)
        shown = await anyio.to_thread.run_sync(functools.partial(_locked, tools, name, preview, plan_id))
        session = approval.session_key(ctx)
        guard.reserve(session, shown)
        sent = 0
        try:
            if ask:
                await guard.ask(ctx, shown)
            else:
                log.warning("%s %s runs without elicitation (%s)", name, plan_id, approval.OPT_OUT)
            result = await anyio.to_thread.run_sync(functools.partial(_locked, tools, name, run, plan_id))
            sent = int(result.sent)
        finally:
            guard.settle(session, shown.records, sent)
        return _result(_outcomes(result))

    ctx_param = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Context)
    call.__name__ = name
    call.__doc__ = fn.__doc__
    call.__signature__ = sig.replace(  # type: ignore[attr-defined]
        parameters=[ctx_param, *sig.parameters.values()], return_annotation=Result
    )
    call.__annotations__ = (
        {"ctx": Context} | {p.name: p.annotation for p in sig.parameters.values()} | {"return": Result}
    )
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
    if kind == "plan":  # sends nothing, yet the step before a write: never "read-only" to a host
        return ToolAnnotations(title=title, read_only_hint=False, destructive_hint=False, open_world_hint=True)
    return ToolAnnotations(title=title, read_only_hint=True, open_world_hint=True)


def build_server(
    crm: ZohoClient,
    *,
    allow_writes: bool = False,
    journal: Any = None,
    guard: Guard | None = None,
    allow_undo_any: bool = False,
) -> MCPServer:
    """An MCPServer over ``crm``; with ``allow_writes`` the plan tools too (``journal`` required),
    writing under ``guard``'s policy (default: ask the user, 1,000 records a session)."""
    if allow_writes and journal is None:
        raise ZohoConfigError({"DATABASE_URL": "--allow-writes journals every write: a database is required"})
    tools = Tools(crm, journal=journal if allow_writes else None, allow_undo_any=allow_undo_any)
    guard = guard or Guard()
    approved = {
        "apply_plan": (tools.apply_preview, tools.apply_result),
        "undo_plan": (tools.undo_preview, tools.undo_result),
    }
    server: MCPServer = MCPServer(
        "sergas-nb",
        title="Zoho CRM (sergas-nb)",
        instructions=INSTRUCTIONS,
        log_level="WARNING",
    )
    for fn, kind in tool_table(tools, allow_writes):
        doc = inspect.cleandoc(fn.__doc__ or "")
        if fn.__name__ in approved:
            preview, run = approved[fn.__name__]
            tool = _as_approved_write(fn, preview, run, tools, guard)
        else:
            tool = _as_tool(fn, tools)
        server.add_tool(tool, name=fn.__name__, description=doc, annotations=_annotations(fn.__name__, kind))
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

    token = None
    if args.http is not None:  # a bad token file fails before anything starts
        from sergas_nb.assistant import http

        token = http.token_from(args.token_file)
    emulator = None
    try:
        if args.emulator:
            from sergas_nb.emulator import LocalZoho

            emulator = LocalZoho(accounts=args.accounts, seed=args.seed).start()
        crm = connect(emulator=emulator) if emulator is not None else connect()
        try:
            journal = _journal_for(crm) if args.allow_writes else None
            guard = Guard(
                cap=args.max_records_per_session,
                timeout=args.approval_timeout,
                host_approves=args.host_approves_tool_calls,
            )
            server = build_server(
                crm, allow_writes=args.allow_writes, journal=journal, guard=guard, allow_undo_any=args.allow_undo_any
            )
            if token is not None:
                http.serve(server, args.http, *token)
            else:
                server.run("stdio")
        finally:
            crm.close()
    finally:
        if emulator is not None:
            emulator.stop()
        if token is not None and args.token_file is None:  # made for this run: it dies with it
            http.forget(token[1])
    return 0
