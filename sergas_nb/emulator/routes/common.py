"""What every CRM route shares: the JSON answer, Zoho's error envelope, auth, limits, body parsing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from sergas_nb.emulator.errors import EmulatorError, internal_error
from sergas_nb.emulator.query.values import ID_FIELD, find_field
from sergas_nb.emulator.state import metadata as md

if TYPE_CHECKING:
    from sergas_nb.emulator.core import Emulator
    from sergas_nb.emulator.oauth.models import Grant

log = logging.getLogger("sergas_nb.emulator")
JSON_TYPE = "application/json;charset=UTF-8"  # what Zoho sends; the SDK strips the charset part

Handler = Callable[[Request], Awaitable[Response]]


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(obj), status_code=status, headers=headers, media_type=JSON_TYPE)


def raw_json_response(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=JSON_TYPE)


def no_content(status: int = 204) -> Response:
    return Response(b"", status_code=status)


def error_response(err: EmulatorError) -> Response:
    return json_response(err.body(), status=err.status)


def emulator(request: Request) -> Emulator:
    return request.app.state.emulator


def grant(request: Request) -> Grant:
    """The OAuth grant the ``crm`` wrapper checked for this call."""
    return request.state.grant


def user_email(request: Request) -> str:
    """The email of the user whose token made this call (writes are stamped with it)."""
    return grant(request).user_email


# INVALID_MODULE's message differs by operation in Zoho's OpenAPI enums: record_count.json spells it in
# lower case, record.json (every other record operation) with a capital.
MODULE_MESSAGE = "the module name given seems to be invalid"
RECORD_MODULE_MESSAGE = "The module name given seems to be invalid"


def module_of(request: Request, message: str = RECORD_MODULE_MESSAGE) -> str:
    """The canonical module name from the path, or INVALID_MODULE as Zoho answers it."""
    name = request.path_params.get("module", "")
    canon = md.canonical_module(name)
    if canon is None:
        raise EmulatorError("INVALID_MODULE", message, {"resource_path_index": 0}, status=400)
    return canon


def unsupported(request: Request) -> EmulatorError:
    """What the emulator answers for a Zoho operation it does not implement.

    Zoho's answer to a call its API does not support on this org (common.json's
    UnsupportedVersionError: API_NOT_SUPPORTED with ``supported_version``); never INVALID_MODULE,
    so a client can tell "not here" from "wrong module name".
    """
    return EmulatorError(
        "API_NOT_SUPPORTED",
        f"{request.method} {request.url.path} is not supported by the local emulator",
        {"supported_version": None},
        status=400,
    )


def invalid_param(param: str, message: str = "invalid data", **extra: Any) -> EmulatorError:
    return EmulatorError("INVALID_DATA", message, {"param_name": param, **extra})


def int_param(request: Request, name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_param(name, expected_data_type="integer") from None
    if value < low or (high is not None and value > high):
        raise invalid_param(name, expected_data_type="integer")
    return value


def field_list(request: Request, module: str, *, required: bool) -> list[str] | None:
    """The ``fields`` parameter: at most 50 known API names (Zoho: REQUIRED_PARAM_MISSING, LIMIT_EXCEEDED)."""
    raw = request.query_params.get("fields")
    if raw is None or not raw.strip():
        if required:
            raise EmulatorError(
                "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param_name": "fields"}
            )
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if len(names) > 50:
        raise EmulatorError("LIMIT_EXCEEDED", "Max field limit exceeded", {"param_name": "fields", "limit": 50})
    fmap = md.field_map(module)
    out: list[str] = []
    for n in names:
        field = find_field(fmap, n)
        if field is None:
            raise EmulatorError("INVALID_DATA", "invalid data", {"api_name": n, "param_name": "fields"})
        if field is not ID_FIELD and field["api_name"] not in out:  # every row carries the id anyway
            out.append(field["api_name"])
    return out


def project(record: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """A copy of ``record`` with only the id and ``fields`` (all of it when None)."""
    return dict(record) if fields is None else {k: record.get(k) for k in ["id", *fields]}


async def json_body(request: Request) -> Any:
    """The request body as JSON whatever the Content-Type says (the SDK sends none on PUT/POST)."""
    raw = await request.body()
    if not raw.strip():
        raise EmulatorError("INVALID_DATA", "body", {"expected_data_type": "jsonobject"})
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise EmulatorError("INVALID_DATA", "body", {"expected_data_type": "jsonobject"}) from None


def crm(handler: Handler) -> Handler:
    """Wrap a CRM handler: token check, org concurrency slot, credit header, errors as Zoho answers.

    The body is read before the concurrency slot is taken: a call counts against the org's
    concurrency from the moment it reaches its handler, so clients stalling mid-body hold no slot.
    """

    async def endpoint(request: Request) -> Response:
        emu = emulator(request)
        try:
            request.state.grant = emu.oauth.authenticate(request.headers.get("authorization"))
            await request.body()  # cached on the request: the handler reads it again for free
            with emu.limits.org_slot():
                response = await handler(request)
        except EmulatorError as err:
            response = error_response(err)
        except ClientDisconnect:  # the client left mid-body: nobody reads this answer
            return Response(b"", status_code=400)
        except Exception:  # a bug of ours must still look like Zoho, never a stack trace
            log.exception("emulator handler failed: %s %s", request.method, request.url.path)
            emu.unexpected_errors += 1
            response = error_response(internal_error())
        left = emu.limits.remaining_header()
        if left is not None:
            response.headers["X-API-CREDITS-REMAINING"] = left
        return response

    endpoint.__name__ = handler.__name__
    return endpoint
