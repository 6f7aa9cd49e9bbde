"""Search (GET /crm/v8/{module}/search) and COQL (POST /crm/v8/coql) over the store.

The query languages belong to sergas_nb.emulator.query; these routes only pick the filter
(criteria > email > phone > word, Zoho's priority), page, project and answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sergas_nb.emulator.errors import EmulatorError
from sergas_nb.emulator.limits import coql_cost
from sergas_nb.emulator.query.criteria import INVALID_QUERY_MESSAGE
from sergas_nb.emulator.routes.common import (
    crm,
    emulator,
    field_list,
    int_param,
    json_response,
    module_of,
    no_content,
)
from sergas_nb.emulator.routes.pagination import DISCRETE_LIMIT
from sergas_nb.emulator.state import metadata as md

Predicate = Callable[[dict[str, Any]], bool]


def predicate_from(request: Request, module: str, *, required: bool) -> Predicate | None:
    """The record filter named by criteria, email, phone or word (first one present wins)."""
    import sergas_nb.emulator.query.criteria as C

    q = request.query_params
    fmap = md.field_map(module)
    if q.get("criteria"):
        return C.compile_criteria(q["criteria"], fmap)
    if q.get("email"):
        return C.email_matcher(q["email"], fmap)
    if q.get("phone"):
        return C.phone_matcher(q["phone"], fmap)
    if q.get("word"):
        return C.word_matcher(q["word"], fmap)
    if required:
        # module_search.json (Mandatory_Param_Missing): EXPECTED_PARAM_MISSING naming every alternative;
        # its message as Zoho's search-records page gives it (the OpenAPI file leaves it open).
        # https://www.zoho.com/crm/developer/docs/api/v7/search-records.html
        raise EmulatorError(
            "EXPECTED_PARAM_MISSING",
            "mandatory param missing",
            {"param_names": ["criteria", "email", "phone", "word"]},
        )
    return None


def _search_page(request: Request) -> tuple[int, int]:
    """(page, per_page) of a search: module_search.json answers a bad one with INVALID_REQUEST."""
    try:
        return int_param(request, "page", 1, 1), int_param(request, "per_page", 200, 1, 200)
    except EmulatorError as err:
        raise EmulatorError("INVALID_REQUEST", "invalid request", err.details) from None


def _search_fields(request: Request, module: str) -> list[str] | None:
    """``fields`` of a search; an unknown name is INVALID_QUERY (module_search.json's InvalidQuery_NoReason)."""
    try:
        return field_list(request, module, required=False)
    except EmulatorError as err:
        if err.code != "INVALID_DATA":
            raise
        raise EmulatorError(
            "INVALID_QUERY",
            INVALID_QUERY_MESSAGE,
            {"api_name": err.details.get("api_name", ""), "param_name": "fields"},
        ) from None


@crm
async def search_records(request: Request) -> Response:
    emu = emulator(request)
    module = module_of(request)
    pred = predicate_from(request, module, required=True)
    assert pred is not None
    fields = _search_fields(request, module)
    page, per_page = _search_page(request)
    start = (page - 1) * per_page
    if start >= DISCRETE_LIMIT:
        # module_search.json (Max_records): this message, and the limit as the string "2000".
        raise EmulatorError("LIMIT_REACHED", "maximum response iteration limit reached", {"limit": str(DISCRETE_LIMIT)})
    emu.limits.charge(1)
    with emu.limits.sub_slot():
        end = min(start + per_page, DISCRETE_LIMIT)
        rows, more = emu.store.search(module, pred, fields, start, end)
        if end >= DISCRETE_LIMIT:
            more = False  # nothing past 2,000 is reachable, so there is nothing "more" to fetch
        await emu.faults.delay(len(rows))
    if not rows:
        return no_content()
    return json_response(
        {"data": rows, "info": {"per_page": per_page, "count": len(rows), "page": page, "more_records": more}}
    )


def _coql_limit(query: str) -> int:
    m = re.search(r"\blimit\s+(?:\d+\s*,\s*)?(\d+)", query, re.IGNORECASE)
    return int(m.group(1)) if m else 200


@crm
async def coql(request: Request) -> Response:
    emu = emulator(request)
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        body = None
    query = body.get("select_query") if isinstance(body, dict) else None
    if not isinstance(query, str) or not query.strip():
        # coql.json lists no missing-parameter or body code for this operation: its INVALID_QUERY answer,
        # with the documented message and a reason naming the key (also for a body that is not an object).
        raise EmulatorError(
            "INVALID_QUERY", "invalid query formed", {"api_name": "select_query", "reason": "select_query is mandatory"}
        )
    emu.limits.charge(coql_cost(_coql_limit(query)))
    with emu.limits.sub_slot():
        rows, more = emu.store.coql(query)
        await emu.faults.delay(len(rows))
    if not rows:
        return no_content()
    return json_response({"data": rows, "info": {"count": len(rows), "more_records": more}})


def routes() -> list[Route]:
    return [
        Route("/crm/v8/coql", coql, methods=["POST"]),
        Route("/crm/v8/{module}/search", search_records, methods=["GET"]),
    ]
