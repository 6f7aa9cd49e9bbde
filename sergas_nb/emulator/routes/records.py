"""Records API: list, get one, insert, update, upsert, delete, count (/crm/v8/{module}...)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sergas_nb.emulator.errors import EmulatorError
from sergas_nb.emulator.limits import write_cost
from sergas_nb.emulator.query.values import utc_text
from sergas_nb.emulator.routes.common import (
    MODULE_MESSAGE,
    crm,
    emulator,
    field_list,
    int_param,
    invalid_param,
    json_body,
    json_response,
    module_of,
    no_content,
    raw_json_response,
    user_email,
)
from sergas_nb.emulator.routes.pagination import DISCRETE_LIMIT, TOKEN_LIMIT, binding
from sergas_nb.emulator.routes.search import predicate_from  # the count takes search's filters
from sergas_nb.emulator.state import metadata as md
from sergas_nb.emulator.state.activity_fields import POLYMORPHIC
from sergas_nb.emulator.state.store import SORTABLE

if TYPE_CHECKING:
    from sergas_nb.emulator.core import Emulator

MAX_WRITE = 100
POLY_MODULES = frozenset(m for m, _ in POLYMORPHIC)


def _modified_since(request: Request) -> str | None:
    """If-Modified-Since as a canonical UTC string (HTTP date or ISO 8601 with offset)."""
    raw = request.headers.get("if-modified-since")
    if not raw:
        return None
    dt: datetime | None = None
    try:
        dt = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            dt = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            dt = None
    since = utc_text(dt) if dt is not None else None
    if since is None:
        raise EmulatorError("INVALID_DATA", "invalid data", {"param_name": "If-Modified-Since"})
    return since


def _ids_param(request: Request, name: str = "ids") -> list[str] | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    ids = [i.strip() for i in raw.split(",") if i.strip()]
    if not ids:
        raise invalid_param(name)
    if len(ids) > MAX_WRITE:
        raise EmulatorError("LIMIT_EXCEEDED", "Record count exceeded", {"param_name": name, "limit": MAX_WRITE})
    return ids


@crm
async def list_records(request: Request) -> Response:
    emu = emulator(request)
    module = module_of(request)
    q = request.query_params
    fields = field_list(request, module, required=True)
    assert fields is not None
    page_raw, token = q.get("page"), q.get("page_token")
    if page_raw and token:
        raise EmulatorError(
            "AMBIGUITY_DURING_PROCESSING",
            "page and page_token cannot be given together",
            {"ambiguity_due_to": [{"param_name": "page"}, {"param_name": "page_token"}]},
        )
    per_page = int_param(request, "per_page", 200, 1, 200)
    page = int_param(request, "page", 1, 1)
    sort_by = q.get("sort_by") or "id"
    if sort_by not in SORTABLE:
        raise invalid_param("sort_by", supported_values=list(SORTABLE))
    sort_order = q.get("sort_order") or "desc"
    if sort_order not in ("asc", "desc"):
        raise invalid_param("sort_order", supported_values=["asc", "desc"])
    ids_filter = _ids_param(request)
    since = _modified_since(request)
    bound = binding(
        module,
        {
            "fields": fields,
            "sort_by": sort_by,
            "sort_order": sort_order,
            "per_page": per_page,
            "ids": ids_filter,
            "since": since,
            "cvid": q.get("cvid"),
            "converted": q.get("converted"),
            "approved": q.get("approved"),
        },
    )
    emu.limits.charge(1)
    # Zoho counts sorted and custom-view lists against sub-concurrency.
    with emu.limits.sub_slot() if "sort_by" in q or "cvid" in q else nullcontext():
        return await _list(emu, module, fields, per_page, page, token, sort_by, sort_order, ids_filter, since, bound)


async def _list(
    emu: Emulator,
    module: str,
    fields: list[str],
    per_page: int,
    page: int,
    token: str | None,
    sort_by: str,
    sort_order: str,
    ids_filter: list[str] | None,
    since: str | None,
    bound: str,
) -> Response:
    def start(ordered: list[str]) -> int:
        """The offset of this page in ``ordered`` (read under the store's lock, against its current list)."""
        if not token:
            if page * per_page > DISCRETE_LIMIT:
                raise EmulatorError(
                    "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                    "you can fetch only the first 2000 records with page; use page_token for more",
                    {"param_name": "page", "limit": DISCRETE_LIMIT},
                )
            return (page - 1) * per_page
        offset, last_id = emu.page_tokens.read(token, bound)
        if offset >= TOKEN_LIMIT:
            raise EmulatorError(
                "PAGINATION_LIMIT_EXCEEDED",
                "records beyond the first 100000 cannot be fetched with page_token",
                {"param_name": "page_token", "limit": TOKEN_LIMIT},
            )
        if last_id is not None and not (0 < offset <= len(ordered) and ordered[offset - 1] == last_id):
            try:  # records came or went since the token was issued: continue after the last one served
                offset = ordered.index(last_id) + 1
            except ValueError:
                pass
        return offset

    # A polymorphic link (What_Id, a note's Parent_Id) comes with the module it points into, as Zoho sends it.
    poly = ("$se_module",) if {"What_Id", "Parent_Id"} & set(fields) and module in POLY_MODULES else ()
    listed = emu.store.list_page(
        module,
        ("id", *fields, *poly),
        sort_by=sort_by,
        sort_order=sort_order,
        ids=ids_filter,
        modified_after=since,
        start=start,
        size=per_page,
        reach=TOKEN_LIMIT,
    )
    if not listed.rows:
        # An empty answer is still a round trip: the per-call latency applies to it as well (the
        # unchanged re-sync, one 304 per module, was otherwise measured as free).
        await emu.faults.delay()
        return no_content(304 if since is not None and not listed.ordered else 204)
    ordered, offset, end, page_ids, rows = listed.ordered, listed.offset, listed.end, listed.page_ids, listed.rows
    more = len(ordered) > end
    info: dict[str, Any] = {
        "per_page": per_page,
        "count": len(rows),
        "page": offset // per_page + 1 if token else page,
        "sort_by": sort_by,
        "sort_order": sort_order,
        "more_records": more,
        # Zoho's Get Records samples always carry the tokens and the expiry, null when there is none
        # (the OpenAPI file types them as strings; the sample wins, see tests/fixtures/emulator.py).
        # https://www.zoho.com/crm/developer/docs/api/v7/get-records.html
        "next_page_token": None,
        "page_token_expiry": None,
        "previous_page_token": None,
    }
    if more:
        info["next_page_token"], info["page_token_expiry"] = emu.page_tokens.issue(bound, end, page_ids[-1])
    if offset > 0:
        prev = max(0, offset - per_page)
        info["previous_page_token"], _ = emu.page_tokens.issue(bound, prev, ordered[prev - 1] if prev else None)
    await emu.faults.delay(len(rows))
    # Assembled from cached row bytes: the same JSON orjson would write for {"data": [...], "info": {...}}.
    return raw_json_response(b'{"data":[' + b",".join(rows) + b'],"info":' + orjson.dumps(info) + b"}")


def _record_id(request: Request) -> str:
    rid = request.path_params["id"]
    if not rid.isdigit():
        raise EmulatorError("INVALID_DATA", "the id given seems to be invalid", {"id": rid}, status=400)
    return rid


@crm
async def get_record(request: Request) -> Response:
    emu = emulator(request)
    module = module_of(request)
    rid = _record_id(request)
    fields = field_list(request, module, required=False)
    emu.limits.charge(1)
    row = emu.store.get(module, rid, fields)
    if row is None:
        return no_content()  # Zoho answers an id with no record behind it with 204
    await emu.faults.delay(1)
    return json_response({"data": [row]})


async def _write_items(request: Request, *, one: bool = False) -> tuple[list[Any], dict[str, Any]]:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise EmulatorError("INVALID_DATA", "body", {"expected_data_type": "jsonobject"})
    data = body.get("data")
    if data is None:
        raise EmulatorError(
            "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param_name": "data"}
        )
    if not isinstance(data, list) or not data:
        raise EmulatorError("INVALID_DATA", "invalid data", {"param_name": "data", "expected_data_type": "jsonarray"})
    if len(data) > MAX_WRITE:
        # Zoho rejects the whole call, once, rather than per record.
        raise EmulatorError("LIMIT_EXCEEDED", "Record count exceeded", {"param_name": "data", "limit": MAX_WRITE})
    if one and len(data) != 1:
        raise EmulatorError("INVALID_DATA", "invalid data", {"param_name": "data", "limit": 1})
    return data, body


def _batch_status(results: list[dict[str, Any]], ok_status: int) -> int:
    """HTTP status of a write answer.

    All succeeded: 201 for inserts, 200 otherwise. All failed: 400 (Zoho answers a single failing record
    with 400). Mixed: 207 Multi-Status. The reference marks the mixed case unconfirmed; 207 is what
    Zoho's multi-record APIs answer for partial success in the docs' status-code tables, and clients
    (the SDK included) read the per-record ``data`` whatever the status, so either is safe for them.
    """
    ok = sum(1 for r in results if r.get("status") == "success")
    if ok == len(results):
        return ok_status
    return 400 if ok == 0 else 207


async def _run_write(emu: Emulator, n: int, fn: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    emu.limits.charge(write_cost(n))
    # Writes of more than 10 records count against the sub-concurrency pool.
    with emu.limits.sub_slot() if n > 10 else nullcontext():
        results = fn()
        await emu.faults.delay(n)
    return results


@crm
async def insert_records(request: Request) -> Response:
    emu = emulator(request)
    module = module_of(request)
    data, _ = await _write_items(request)
    results = await _run_write(emu, len(data), lambda: emu.store.insert(module, data, user_email(request)))
    return json_response({"data": results}, status=_batch_status(results, 201))


@crm
async def update_records(request: Request) -> Response:
    emu = emulator(request)
    module = module_of(request)
    data, _ = await _write_items(request)
    results = await _run_write(emu, len(data), lambda: emu.store.update(module, data, user_email(request)))
    return json_response({"data": results}, status=_batch_status(results, 200))


@crm
async def update_record(request: Request) -> Response:
    emu = emulator(request)
    module = module_of(request)
    rid = _record_id(request)
    data, _ = await _write_items(request, one=True)
    results = await _run_write(emu, 1, lambda: emu.store.update(module, data, user_email(request), path_id=rid))
    return json_response({"data": results}, status=_batch_status(results, 200))


@crm
async def upsert_records(request: Request) -> Response:
    emu = emulator(request)
    module = module_of(request)
    data, body = await _write_items(request)
    dup = body.get("duplicate_check_fields")
    if dup is None and module not in md.DUPLICATE_FIELDS:  # activities and notes have no default check
        raise EmulatorError(
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            {"param_name": "duplicate_check_fields"},
        )
    if dup is None:
        dup = [md.DUPLICATE_FIELDS[module]]
    if isinstance(dup, str):
        dup = [d.strip() for d in dup.split(",") if d.strip()]
    fmap = md.field_map(module)
    if not isinstance(dup, list) or not dup:
        raise EmulatorError(
            "INVALID_DATA", "invalid data", {"param_name": "duplicate_check_fields", "expected_data_type": "jsonarray"}
        )
    for name in dup:
        if not isinstance(name, str) or name not in fmap or fmap[name]["read_only"]:
            raise EmulatorError(
                "INVALID_DATA", "invalid data", {"api_name": str(name), "param_name": "duplicate_check_fields"}
            )
    results = await _run_write(emu, len(data), lambda: emu.store.upsert(module, data, dup, user_email(request)))
    return json_response({"data": results}, status=_batch_status(results, 200))


@crm
async def delete_records(request: Request) -> Response:
    emu = emulator(request)
    module = module_of(request)
    ids = _ids_param(request)
    if ids is None:
        raise EmulatorError("REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param_name": "ids"})
    results = await _run_write(emu, len(ids), lambda: emu.store.delete(module, ids, user_email(request)))
    return json_response({"data": results}, status=_batch_status(results, 200))


@crm
async def delete_record(request: Request) -> Response:
    emu = emulator(request)
    module = module_of(request)
    rid = _record_id(request)
    results = await _run_write(emu, 1, lambda: emu.store.delete(module, [rid], user_email(request)))
    return json_response({"data": results}, status=_batch_status(results, 200))


@crm
async def count_records(request: Request) -> Response:
    emu = emulator(request)
    module = module_of(request, MODULE_MESSAGE)
    emu.limits.charge(1)
    if "cvid" in request.query_params and any(k in request.query_params for k in _SEARCH_PARAMS):
        # record_count.json's Ambiguity_API_Exception, message as its enum spells it.
        raise EmulatorError(
            "AMBIGUITY_DURING_PROCESSING",
            "Please use either Cvid or Search Params. Combination of both the params is not allowed",
            {"ambiguity_due_to": [{"param_name": "cvid"}, {"param_name": _first_search_param(request)}]},
        )
    try:
        pred = predicate_from(request, module, required=False)
    except EmulatorError as err:
        # The filter is search's, but this operation's files (record.json's API_Exception) spell its
        # errors differently: the same code family with their messages.
        code = "INVALID_DATA" if err.code == "INVALID_DATA" else "INVALID_QUERY"
        message = "invalid data" if code == "INVALID_DATA" else "invalid query formed"
        raise EmulatorError(code, message, err.details) from None
    n = emu.store.count(module, pred)
    await emu.faults.delay()
    # An integer, as Zoho's current v8 spec for Record Count types it (record_count in zoho/crm-oas); the
    # SDK's TLongString reads an integer too, and a strictly typed client fails on a string.
    return json_response({"count": n})


_SEARCH_PARAMS = ("criteria", "email", "phone", "word")


def _first_search_param(request: Request) -> str:
    return next(k for k in _SEARCH_PARAMS if k in request.query_params)


DELETED_TYPES = ("all", "recycle", "permanent")


@crm
async def deleted_records(request: Request) -> Response:
    """Get Deleted Records: what an incremental sync reads to drop records deleted since its last run."""
    emu = emulator(request)
    module = module_of(request)
    kind = request.query_params.get("type") or "all"
    if kind not in DELETED_TYPES:
        raise invalid_param("type", supported_values=list(DELETED_TYPES))
    per_page = int_param(request, "per_page", 200, 1, 200)
    page = int_param(request, "page", 1, 1)
    since = _modified_since(request)
    emu.limits.charge(1)
    entries = emu.store.deleted(module, kind, since)
    chunk = entries[(page - 1) * per_page : page * per_page]
    await emu.faults.delay(len(chunk))
    if not chunk:
        return no_content(304 if since is not None and not entries else 204)
    info = {"per_page": per_page, "count": len(chunk), "page": page, "more_records": page * per_page < len(entries)}
    return json_response({"data": chunk, "info": info})


def routes() -> list[Route]:
    """Order matters: fixed segments (upsert, deleted, actions/count) before /{id}."""
    return [
        Route("/crm/v8/{module}/actions/count", count_records, methods=["GET"]),
        Route("/crm/v8/{module}/deleted", deleted_records, methods=["GET"]),
        Route("/crm/v8/{module}/upsert", upsert_records, methods=["POST"]),
        Route("/crm/v8/{module}/{id}", get_record, methods=["GET"]),
        Route("/crm/v8/{module}/{id}", update_record, methods=["PUT"]),
        Route("/crm/v8/{module}/{id}", delete_record, methods=["DELETE"]),
        Route("/crm/v8/{module}", list_records, methods=["GET"]),
        Route("/crm/v8/{module}", insert_records, methods=["POST"]),
        Route("/crm/v8/{module}", update_records, methods=["PUT"]),
        Route("/crm/v8/{module}", delete_records, methods=["DELETE"]),
    ]
