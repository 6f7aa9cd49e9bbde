"""Starlette endpoints of the accounts server and its test controls (translation only)."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from .models import ConsentError, parse_scopes
from .pages import consent_page, error_page
from .server import AccountsServer

LIMIT_NAMES = ("refresh_limit", "refresh_window", "max_live_tokens", "code_ttl")
AUTH_PATH = "/oauth/v2/auth"
TOKEN_PATH = "/oauth/v2/token"
REVOKE_PATH = "/oauth/v2/token/revoke"


async def _params(request: Request) -> dict[str, str]:
    """Query parameters merged with the body's (body wins): urlencoded, multipart/form-data or JSON.

    Zoho accepts token parameters in the query string or the form body; the Python SDK sends a
    urlencoded body, sometimes without a Content-Type header (so any body that is neither multipart
    nor JSON is read as urlencoded); Zoho's SDKs for other languages send multipart/form-data, read
    with Starlette's form parser (python-multipart).
    """
    params = dict(request.query_params)
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        try:
            async with request.form() as form:
                params.update({k: v for k, v in form.multi_items() if isinstance(v, str)})  # files are no params
        except (MultiPartException, HTTPException, ValueError):
            pass  # a malformed body gives no parameters, and the grant check answers as Zoho does
        return params
    raw = await request.body()
    if raw:
        text = raw.decode("utf-8", errors="replace")
        if content_type.startswith("application/json"):
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if isinstance(data, dict):
                params.update({str(k): _text(v) for k, v in data.items() if v is not None})  # null = not given
        else:
            params.update(parse_qsl(text, keep_blank_values=True))
    return params


def _text(value: object) -> str:
    """A JSON value as form text: lists (e.g. scopes) become comma-separated, as Zoho writes scopes."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return json.dumps(value)


def oauth_routes(server: AccountsServer) -> list[BaseRoute]:
    async def authorize(request: Request) -> Response:
        params = await _params(request)
        try:
            client, scopes = server.check_authorize(params)
            if request.method == "POST" and params.get("action") == "reject":
                return RedirectResponse(server.deny(params), status_code=302)
            if request.method == "POST" or server.auto_approve:
                return RedirectResponse(server.approve(params), status_code=302)
        except ConsentError as e:
            return HTMLResponse(error_page(e.title, e.message), status_code=400)
        return HTMLResponse(consent_page(client.name, scopes, server.user_email, AUTH_PATH, params))

    async def token(request: Request) -> Response:
        status, body = server.token(await _params(request))
        return JSONResponse(body, status_code=status)

    async def revoke(request: Request) -> Response:
        return JSONResponse(server.revoke((await _params(request)).get("token")))

    return [
        Route(AUTH_PATH, authorize, methods=["GET", "POST"]),
        Route(TOKEN_PATH, token, methods=["POST"]),
        Route(REVOKE_PATH, revoke, methods=["POST"]),
    ]


def control_routes(server: AccountsServer, prefix: str) -> list[BaseRoute]:
    """Moto-style controls: self-client codes, access TTL, limits, expiring tokens, counters, reset."""

    async def self_client_code(request: Request) -> Response:
        params = await _params(request)
        scopes = parse_scopes(params.get("scopes") or params.get("scope"))
        try:
            ttl = float(params.get("ttl") or server.code_ttl)
            code = server.issue_code(
                params.get("client_id") or "",
                scopes,
                params.get("redirect_uri") or None,
                ttl,
                params.get("user_email") or None,
            )
        except KeyError:
            return JSONResponse({"error": "invalid_client"}, status_code=400)
        except ValueError as e:
            return JSONResponse({"error": "invalid_request", "error_description": str(e)}, status_code=400)
        return JSONResponse({"code": code, "expires_in": ttl, "scopes": list(scopes)})

    async def access_ttl(request: Request) -> Response:
        if request.method == "POST":
            params = await _params(request)
            try:
                server.set_access_ttl(float(params.get("seconds") or params.get("access_ttl") or ""))
            except ValueError:
                return JSONResponse(
                    {"error": "invalid_request", "error_description": "seconds must be a positive number"},
                    status_code=400,
                )
        return JSONResponse({"access_ttl": server.access_ttl})

    async def limits(request: Request) -> Response:
        if request.method == "POST":
            params = await _params(request)
            try:
                server.set_limits(**{k: float(params[k]) for k in LIMIT_NAMES if params.get(k)})
            except ValueError as e:
                return JSONResponse({"error": "invalid_request", "error_description": str(e)}, status_code=400)
        return JSONResponse(server.limits())

    async def expire(request: Request) -> Response:
        return JSONResponse({"expired": server.expire_access_tokens()})

    async def stats(request: Request) -> Response:
        return JSONResponse(server.stats())

    async def reset(request: Request) -> Response:
        server.reset()
        return JSONResponse({"status": "success"})

    return [
        Route(f"{prefix}/self-client-code", self_client_code, methods=["POST"]),
        Route(f"{prefix}/access-ttl", access_ttl, methods=["GET", "POST"]),
        Route(f"{prefix}/limits", limits, methods=["GET", "POST"]),
        Route(f"{prefix}/expire-access-tokens", expire, methods=["POST"]),
        Route(f"{prefix}/stats", stats, methods=["GET"]),
        Route(f"{prefix}/reset", reset, methods=["POST"]),
    ]
