"""Metadata: GET /crm/v8/settings/modules[/{api_name}] and /crm/v8/settings/fields[/{id}]?module=."""

from __future__ import annotations

from functools import cache

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sergas_nb.emulator.errors import EmulatorError
from sergas_nb.emulator.routes.common import MODULE_MESSAGE, crm, emulator, json_response, no_content, raw_json_response
from sergas_nb.emulator.state import metadata as md


@cache
def _fields_body(module: str, generation: int) -> bytes:
    # Serialised once per metadata generation (the SDK asks for it on every new process).
    return orjson.dumps({"fields": md.fields_for(module)})


@cache
def _modules_body() -> bytes:
    return orjson.dumps({"modules": md.modules()})


def _module_param(request: Request) -> str:
    name = request.query_params.get("module")
    if not name:
        raise EmulatorError(
            "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param_name": "module"}
        )
    canon = md.canonical_module(name)
    if canon is None:
        # fields.json: INVALID_MODULE's details name the offending parameter in api_name.
        raise EmulatorError("INVALID_MODULE", MODULE_MESSAGE, {"api_name": "module"})
    return canon


@crm
async def get_fields(request: Request) -> Response:
    emu = emulator(request)
    module = _module_param(request)
    emu.limits.charge(1)
    await emu.faults.delay()
    return raw_json_response(_fields_body(module, md.GENERATION[0]))


@crm
async def get_field(request: Request) -> Response:
    emu = emulator(request)
    module = _module_param(request)
    emu.limits.charge(1)
    fid = request.path_params["field"]
    for f in md.fields_for(module):
        if fid in (f["id"], f["api_name"]):
            return json_response({"fields": [f]})
    return no_content()


@crm
async def get_modules(request: Request) -> Response:
    emu = emulator(request)
    emu.limits.charge(1)
    await emu.faults.delay()
    return raw_json_response(_modules_body())


@crm
async def get_module(request: Request) -> Response:
    emu = emulator(request)
    emu.limits.charge(1)
    name = request.path_params["name"]
    canon = md.canonical_module(name)
    for m in md.modules():
        if m["api_name"] == canon or m["id"] == name:
            return json_response({"modules": [{**m, "fields": md.fields_for(m["api_name"])}]})
    raise EmulatorError("INVALID_MODULE", MODULE_MESSAGE, {"resource_path_index": 2})


def routes() -> list[Route]:
    return [
        Route("/crm/v8/settings/fields", get_fields, methods=["GET"]),
        Route("/crm/v8/settings/fields/{field}", get_field, methods=["GET"]),
        Route("/crm/v8/settings/modules", get_modules, methods=["GET"]),
        Route("/crm/v8/settings/modules/{name}", get_module, methods=["GET"]),
    ]
