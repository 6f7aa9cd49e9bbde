"""A person's yes before the assistant writes: MCP elicitation, a per-session cap, a clear refusal.

Why: a model can be steered by text planted in a record. The preview ``plan_edit`` answers goes
to the model only, so ``apply_plan`` / ``undo_plan`` ask the *user* through the host (MCP
elicitation, form mode), showing the counts and the first rows of the diff. Only an explicit
accept with ``approve = true`` lets the write run; decline, cancel, no answer within the timeout,
or an error asking, all write nothing.

A host that cannot elicit (it declared no ``elicitation`` capability) gets a refusal naming the
opt-out, ``--host-approves-tool-calls``: for hosts that show every tool call to the user before
it runs (then the tool call itself is the question; see the README for the trade-off).

Each MCP session may write at most ``cap`` records (the records of applies and undos that were
sent); a write that would pass it is refused before anyone is asked.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp.server.elicitation import AcceptedElicitation
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

DEFAULT_CAP = 1000
DEFAULT_TIMEOUT = 300.0  # seconds a person has to answer
SHOWN_ROWS = 10  # diff rows in the question
SHOWN_CHARS = 80  # of one value in the question
OPT_OUT = "--host-approves-tool-calls"
CAP_FLAG = "--max-records-per-session"


class Approval(BaseModel):
    """What the host's form asks: one yes/no."""

    approve: bool = Field(
        default=False, title="Send these changes", description="Yes: write these records to the CRM now."
    )


@dataclass
class Preview:
    """What a write would do, as the person is shown it before it runs."""

    tool: str  # apply_plan | undo_plan
    plan_id: str
    module: str
    records: int  # records that would be written (the cap counts these)
    headline: str  # one line: what changes, how many
    rows: list[dict[str, Any]]  # the first rows of the diff: id, field, old/current, new/restored


@dataclass
class Guard:
    """The server's write policy, and what each session has written so far."""

    cap: int = DEFAULT_CAP
    timeout: float = DEFAULT_TIMEOUT
    host_approves: bool = False
    _used: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- the cap
    def used(self, session: str) -> int:
        with self._lock:
            return self._used.get(session, 0)

    def reserve(self, session: str, preview: Preview) -> None:
        """Count the preview's records against the session's cap now (two concurrent calls cannot
        both pass it); ``settle`` corrects to what was really sent."""
        with self._lock:
            used = self._used.get(session, 0)
            if used + preview.records > self.cap:
                left = max(self.cap - used, 0)
                raise ToolError(
                    f"{preview.tool}: refused, nothing was sent: {preview.plan_id} would write {preview.records}"
                    f" records and this session may write {left} more (cap {self.cap} records a session,"
                    f" {used} written so far). Narrow the plan, or restart the server with a higher {CAP_FLAG}."
                )
            self._used[session] = used + preview.records

    def settle(self, session: str, reserved: int, sent: int) -> None:
        with self._lock:
            self._used[session] = max(self._used.get(session, 0) - reserved + sent, 0)

    # -- the question
    def can_ask(self, ctx: Context) -> bool:
        caps = ctx.client_capabilities
        return bool(caps is not None and caps.elicitation is not None and ctx.session.can_send_request)

    def require_asking(self, ctx: Context, tool: str) -> bool:
        """True when the host will be asked; False when the opt-out lets the write run unasked;
        ToolError (nothing sent) when neither."""
        if self.can_ask(ctx):
            return True
        if self.host_approves:
            return False
        raise ToolError(
            f"{tool}: refused, nothing was sent: writes need a person's approval, and this host cannot ask"
            " (it did not declare MCP elicitation support, so the server has no way to show the change to"
            f" the user). Use a host that supports elicitation, or, if this host shows every tool call to"
            f" the user for approval before it runs, restart the server with {OPT_OUT}."
        )

    async def ask(self, ctx: Context, preview: Preview) -> None:
        """Return only on an explicit yes; otherwise ToolError saying what happened (nothing sent)."""
        refused = f"{preview.tool}: nothing was sent"
        try:
            with anyio.fail_after(self.timeout):
                answer = await ctx.elicit(message(preview, self.cap), Approval)
        except TimeoutError:
            raise ToolError(f"{refused}: no answer to the approval question within {self.timeout:g}s") from None
        except Exception as exc:  # the host failed to ask: that is not a yes
            raise ToolError(f"{refused}: the host could not ask for approval ({type(exc).__name__})") from None
        if isinstance(answer, AcceptedElicitation) and answer.data.approve is True:
            return
        said = {"accept": "accepted without approving", "decline": "declined", "cancel": "cancelled"}.get(
            answer.action, answer.action
        )
        raise ToolError(f"{refused}: the user {said} ({preview.records} records of {preview.plan_id} left as they are)")


def message(preview: Preview, cap: int) -> str:
    """The question: what, how many, the first rows; values cut and quoted (they are CRM data,
    possibly written by someone else, so they must read as data, not as part of the question)."""
    lines = [f"The assistant asks to {preview.headline}.", f"Plan {preview.plan_id}, module {preview.module}.", ""]
    if preview.rows:
        lines.append(f"First {len(preview.rows)} of the changes:")
        for r in preview.rows:
            lines.append(f"  record {r['id']}  {r['field']}: {_shown(r['from'])} -> {_shown(r['to'])}")
        if preview.records > len(preview.rows):
            lines.append(f"  ... and the rest of the {preview.records} records")
        lines.append("")
    lines.append(f"This session may write at most {cap} records. Approve to send now; decline to send nothing.")
    return "\n".join(lines)


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else ("null" if value is None else str(value))
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def session_key(ctx: Context) -> str:
    """The MCP session a call belongs to: its Mcp-Session-Id over HTTP; stdio has one session."""
    request = getattr(ctx.request_context, "request", None)
    headers = getattr(request, "headers", None)
    sid = headers.get("mcp-session-id") if headers is not None else None
    return f"http:{sid}" if sid else "stdio"
