"""Drive ``sergas-nb mcp`` the way a host does: the official MCP client, the server a subprocess.

``McpServer`` runs one client session on an event loop in a background thread, so plain
(synchronous) tests can share it; every answer and the server's stderr are kept for the secret
scan. Stdio by default; ``http_url`` connects over streamable HTTP instead (``token``: its bearer).

``answer`` makes the client a host that supports elicitation and answers every approval question
the same way (``Answer``): what it was asked is kept in ``asked``. Without it the client declares
no elicitation support, as a host that cannot ask its user.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, ElicitRequestParams, ElicitResult

from sergas_nb.emulator import LocalZoho

ROOT = Path(__file__).resolve().parents[2]


def server_env(z: LocalZoho | None, database_url: str | None = None) -> dict[str, str]:
    """What a host's config would set: the emulator's settings (or none), the worktree on the path."""
    env = {"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    if z is not None:
        env |= {
            "ZOHO_SDK_REGION": "local",
            "ZOHO_SDK_LOCAL_URL": z.url,
            "ZOHO_SDK_CLIENT_ID": z.client_id,
            "ZOHO_SDK_CLIENT_SECRET": z.client_secret,
            "ZOHO_SDK_REFRESH_TOKEN": z.refresh_token,
            "ZOHO_SDK_REDIRECT_URL": z.redirect_url,
        }
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


@dataclass
class Answer:
    """How the user answers every approval question: accept (with approve true or false), decline,
    cancel; ``delay`` seconds before answering (a user who is away)."""

    action: str = "accept"
    approve: bool = True
    delay: float = 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class McpServer:
    """One MCP client session to a server; ``call`` / ``tools`` / ``read`` block until answered."""

    def __init__(
        self,
        *,
        env: dict[str, str],
        args: list[str],
        cwd: Path,
        http_url: str | None = None,
        token: str | None = None,
        answer: Answer | None = None,
        timeout: float = 180,
    ) -> None:
        self.timeout = timeout
        self.outputs: list[str] = []  # every tool answer's text, for the secret scan
        self.answer = answer
        self.asked: list[str] = []  # every approval question's message
        self._token = token
        self.stderr_path = cwd / "mcp-server.stderr"
        self._params = StdioServerParameters(
            command=sys.executable, args=["-m", "sergas_nb.cli", "mcp", *args], env=env, cwd=str(cwd)
        )
        self._http_url = http_url
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._session: ClientSession | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._main = asyncio.run_coroutine_threadsafe(self._run(), self._loop)
        if not self._ready.wait(timeout) or self._failure is not None:
            self.close()
            raise RuntimeError(f"MCP session did not start: {self._failure!r}; stderr: {self.stderr()[-2000:]}")

    async def _run(self) -> None:
        self._stop = asyncio.Event()
        try:
            if self._http_url is not None:
                headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
                async with (
                    httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(self.timeout)) as http,
                    streamable_http_client(self._http_url, http_client=http) as (read, write),
                ):
                    await self._serve(read, write)
            else:
                with open(self.stderr_path, "w") as errlog:
                    async with stdio_client(self._params, errlog=errlog) as (read, write):
                        await self._serve(read, write)
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
            raise

    async def _serve(self, read: Any, write: Any) -> None:
        elicit = self._elicit if self.answer is not None else None
        async with ClientSession(
            read, write, read_timeout_seconds=self.timeout, elicitation_callback=elicit
        ) as session:
            await session.initialize()
            self._session = session
            self._ready.set()
            assert self._stop is not None
            await self._stop.wait()

    async def _elicit(self, context: Any, params: ElicitRequestParams) -> ElicitResult:
        assert self.answer is not None
        self.asked.append(params.message)
        if self.answer.delay:
            await asyncio.sleep(self.answer.delay)
        if self.answer.action == "accept":
            return ElicitResult(action="accept", content={"approve": self.answer.approve})
        return ElicitResult(action=self.answer.action)  # type: ignore[arg-type]

    def _do(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(self.timeout)

    @property
    def session(self) -> ClientSession:
        assert self._session is not None
        return self._session

    def tools(self) -> list[Any]:
        return list(self._do(self.session.list_tools()).tools)

    def call(self, name: str, arguments: dict[str, Any] | None = None) -> CallToolResult:
        result = self._do(self.session.call_tool(name, arguments or {}))
        self.outputs.extend(c.text for c in result.content if hasattr(c, "text"))
        if result.structured_content is not None:
            self.outputs.append(json.dumps(result.structured_content))
        return result

    def ok(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """The structured answer of a call that must succeed (its text must say the same)."""
        result = self.call(name, arguments)
        text = result.content[0].text if result.content else ""
        assert not result.is_error, f"{name} failed: {text}"
        assert json.loads(text) == result.structured_content
        return dict(result.structured_content or {})

    def error(self, name: str, arguments: dict[str, Any] | None = None) -> str:
        """The message of a call that must fail as a tool error."""
        result = self.call(name, arguments)
        assert result.is_error, f"{name} should have failed: {result.structured_content}"
        return "\n".join(c.text for c in result.content if hasattr(c, "text"))

    def read(self, uri: str) -> str:
        result = self._do(self.session.read_resource(uri))
        text = "".join(getattr(c, "text", "") for c in result.contents)
        self.outputs.append(text)
        return text

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def close(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        try:
            self._main.result(60)
        except BaseException:
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
