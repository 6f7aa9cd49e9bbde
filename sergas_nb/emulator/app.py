"""The emulator's ASGI apps, one per Zoho host role (``hosts.py``), each wrapped in fault injection."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sergas_nb.emulator.control_guard import ControlGuard
from sergas_nb.emulator.core import DEFAULT_USER_EMAIL, SCOPES, Emulator
from sergas_nb.emulator.errors import EmulatorError, internal_error
from sergas_nb.emulator.faults import FaultMiddleware
from sergas_nb.emulator.hosts import API, CONTENT, DOWNLOAD, ByPort
from sergas_nb.emulator.routes import bulk, control, records, related, search, settings, unsupported, users
from sergas_nb.emulator.routes.common import error_response, log

__all__ = ["DEFAULT_USER_EMAIL", "SCOPES", "Emulator", "build_app", "build_hosts", "build_role_app"]


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods answered in Zoho's envelope rather than Starlette's text."""
    status = getattr(exc, "status_code", 500)
    if status == 405:
        return error_response(
            EmulatorError("INVALID_REQUEST_METHOD", "The http request method type is not a valid one", status=405)
        )
    if status == 404:
        return error_response(
            EmulatorError(
                "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", status=404
            )
        )
    return error_response(EmulatorError("INVALID_DATA", "invalid data", status=status))


async def _server_error(request: Request, exc: Exception) -> Response:
    """The catch-all: anything unexpected becomes Zoho's 500 envelope, logged and counted."""
    log.error("emulator error on %s %s: %r", request.method, request.url.path, exc)
    request.app.state.emulator.unexpected_errors += 1
    return error_response(internal_error())


def build_app(emu: Emulator) -> Any:
    """The API host's app: controls, OAuth, CRM routes, wrapped in fault injection."""
    return build_role_app(emu, API)


def _routes(emu: Emulator, role: str) -> list[BaseRoute]:
    if role == CONTENT:
        return list(bulk.file_routes())
    if role == DOWNLOAD:
        return list(bulk.download_routes())
    routes: list[BaseRoute] = [
        *control.routes(),
        *emu.oauth.control_routes("/__emulator__/oauth"),
        *emu.oauth.routes(),
        *users.routes(),
        *related.meta_routes(),
        *settings.routes(),
        *search.routes(),
        *bulk.routes(),  # before unsupported and records: /crm/v8/upload is neither
        *unsupported.routes(),
        *records.routes(),
        *related.routes(),
    ]

    async def root(request: Request) -> Response:
        return Response(b"sergas-nb local Zoho CRM v8 emulator\n", media_type="text/plain")

    routes.append(Route("/", root, methods=["GET"]))
    return routes


def build_role_app(emu: Emulator, role: str) -> Any:
    """The app of one host role; every other path answers INVALID_URL_PATTERN as Zoho's hosts do."""
    app = Starlette(
        routes=_routes(emu, role), exception_handlers={HTTPException: _http_error, Exception: _server_error}
    )
    app.state.emulator = emu
    # Controls live on the API host only; the guard keeps web pages away from them (control_guard.py).
    return FaultMiddleware(ControlGuard(app) if role == API else app, emu.faults, host=role)


def build_hosts(emu: Emulator, ports: dict[str, int]) -> Any:
    """One ASGI app for every role: requests go to the role of the port they arrived on."""
    return ByPort({port: build_role_app(emu, role) for role, port in ports.items()})
