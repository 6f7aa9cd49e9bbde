"""Moto-style test controls under /__emulator__/ (no token needed; loopback clients only).

POST /__emulator__/reset                 state, faults, latency, limits and OAuth back to the start
POST /__emulator__/reseed                {"seed": 7, "accounts": 500}
GET|POST /__emulator__/latency           {"fixed": 0.05, "per_record": 0.0001}
GET|POST|DELETE /__emulator__/faults     {"kind": "status|429|reset|stall|malformed|token_death",
                                          "path": regex, "method": "GET", "count": 1, "every": 1,
                                          "status": 502, "body": "zoho|html", "seconds": 5, "after": false}
                                          (after: apply, then fail; every: each Nth match only)
GET|POST /__emulator__/limits            {"concurrency": 20, "sub_concurrency": 10, "credits_per_day": N}
GET  /__emulator__/stats                 request counts by "METHOD path" and by path, limits, OAuth counters
POST /__emulator__/restore               {"module": "Accounts", "ids": ["..."]}  restore from the recycle bin
POST|DELETE /__emulator__/fields         {"module": "Accounts", "api_name": "Region", "data_type": "text"}:
                                          add (or retype) / delete a custom field, as an admin in setup
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sergas_nb.emulator.faults import CONTROL_PREFIX, Fault
from sergas_nb.emulator.routes.common import emulator, json_response
from sergas_nb.emulator.state import metadata as md


def _bad(message: str, status: int = 400) -> Response:
    return json_response({"status": "error", "code": "INVALID_DATA", "message": message, "details": {}}, status)


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("localhost", "testclient")


async def _params(request: Request) -> dict[str, Any]:
    raw = await request.body()
    params: dict[str, Any] = dict(request.query_params)
    if raw.strip():
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ValueError("the body must be JSON") from None
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        params.update(body)
    return params


def _guard(fn: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        if not _loopback(request):
            return _bad("emulator controls answer loopback clients only", 403)
        try:
            return await fn(request, emulator(request))
        except (ValueError, TypeError, re.error) as e:
            return _bad(str(e))

    endpoint.__name__ = fn.__name__
    return endpoint


@_guard
async def reset(request: Request, emu: Any) -> Response:
    emu.reset()
    return json_response({"status": "success"})


@_guard
async def reseed(request: Request, emu: Any) -> Response:
    p = await _params(request)
    seed = int(p["seed"]) if p.get("seed") is not None else None
    accounts = int(p["accounts"]) if p.get("accounts") is not None else None
    if accounts is not None and accounts < 0:
        raise ValueError("accounts must not be negative")
    emu.store.reseed(seed, accounts)
    return json_response({"status": "success", "seed": emu.store.seed, "counts": emu.store.counts()})


@_guard
async def latency(request: Request, emu: Any) -> Response:
    if request.method == "POST":
        p = await _params(request)
        emu.faults.set_latency(float(p.get("fixed") or 0), float(p.get("per_record") or 0))
    return json_response({"fixed": emu.faults.fixed_latency, "per_record": emu.faults.per_record_latency})


@_guard
async def faults(request: Request, emu: Any) -> Response:
    if request.method == "POST":
        p = await _params(request)
        fault = Fault(
            kind=str(p.get("kind", "status")),
            path=str(p.get("path", ".*")),
            method=p.get("method"),
            count=int(p.get("count", 1)),
            status=int(p.get("status", 500)),
            body=str(p.get("body", "zoho")),
            code=p.get("code"),
            message=p.get("message"),
            seconds=float(p.get("seconds", 5.0)),
            after=bool(p.get("after", False)),
            every=int(p.get("every", 1)),
        )
        emu.faults.add(fault)
        return json_response({"status": "success", "fault": fault.describe()})
    if request.method == "DELETE":
        emu.faults.clear()
    return json_response({"faults": emu.faults.stats()["pending_faults"]})


@_guard
async def limits(request: Request, emu: Any) -> Response:
    if request.method == "POST":
        p = await _params(request)
        emu.limits.configure(p.get("concurrency"), p.get("sub_concurrency"), p.get("credits_per_day"))
    return json_response(emu.limits.stats())


@_guard
async def stats(request: Request, emu: Any) -> Response:
    out = emu.faults.stats()
    out["limits"] = emu.limits.stats()
    out["oauth"] = emu.oauth.stats()
    out["records"] = emu.store.counts()
    out["unexpected_errors"] = emu.unexpected_errors
    return json_response(out)


@_guard
async def restore(request: Request, emu: Any) -> Response:
    p = await _params(request)
    module = md.canonical_module(str(p.get("module") or ""))
    ids = p.get("ids")
    if module is None:
        raise ValueError("module must be one of " + ", ".join(md.MODULES))
    if not isinstance(ids, list) or not all(isinstance(i, (str, int)) for i in ids):
        raise ValueError("ids must be a list of record ids")
    return json_response({"status": "success", "restored": emu.store.restore(module, [str(i) for i in ids])})


@_guard
async def fields(request: Request, emu: Any) -> Response:
    p = await _params(request)
    module = md.canonical_module(str(p.get("module") or ""))
    if module is None:
        raise ValueError("module must be one of " + ", ".join(md.MODULES))
    api_name = str(p.get("api_name") or "")
    if request.method == "DELETE":
        md.remove_custom_field(module, api_name)
        return json_response({"status": "success"})
    picklist = p.get("picklist")
    options = {"picklist": tuple(str(v) for v in picklist)} if isinstance(picklist, list) else {}
    field = md.add_custom_field(module, api_name, str(p.get("data_type") or "text"), p.get("field_label"), **options)
    return json_response({"status": "success", "field": {"api_name": field["api_name"], "id": field["id"]}})


def routes() -> list[Route]:
    p = CONTROL_PREFIX
    return [
        Route(f"{p}/reset", reset, methods=["POST"]),
        Route(f"{p}/reseed", reseed, methods=["POST"]),
        Route(f"{p}/latency", latency, methods=["GET", "POST"]),
        Route(f"{p}/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route(f"{p}/limits", limits, methods=["GET", "POST"]),
        Route(f"{p}/stats", stats, methods=["GET"]),
        Route(f"{p}/restore", restore, methods=["POST"]),
        Route(f"{p}/fields", fields, methods=["POST", "DELETE"]),
    ]
