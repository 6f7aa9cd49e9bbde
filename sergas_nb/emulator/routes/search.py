"""Search (GET /crm/v8/{module}/search) and COQL (POST /crm/v8/coql) over the store.

The query languages belong to sergas_nb.emulator.query; these routes only pick the filter
(criteria > email > phone > word, Zoho's priority), page, project and answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sergas_nb.emulator.errors import EmulatorError
from sergas_nb.emulator.limits import coql_cost
from sergas_nb.emulator.routes.common import (
    crm,
    field_list,
    int_param,
    json_body,
    json_response,
    module_of,
    no_content,
    project,
)
from sergas_nb.emulator.routes.pagination import DISCRETE_LIMIT
from sergas_nb.emulator.state import metadata as md

Predicate = Callable[[dict[str, Any]], bool]


def predicate_from(request: Request, module: str, *, required: bool) -> Predicate | None:
    """The record filter named by criteria, email, phone or word (first one present wins)."""
    from sergas_nb.emulator.query import criteria as C

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
        # module_search.json (Mandatory_Param_Missing): EXPECTED_PARAM_MISSING naming every alternative.
        raise EmulatorError(
            "EXPECTED_PARAM_MISSING",
            "One of the expected parameter is missing",
            {"param_names": ["criteria", "email", "phone", "word"]},
        )
    return None


@crm
async def search_records(request: Request, emu: Any, grant: Any) -> Response:
    module = module_of(request)
    pred = predicate_from(request, module, required=True)
    assert pred is not None
    fields = field_list(request, module, required=False)
    per_page = int_param(request, "per_page", 200, 1, 200)
    page = int_param(request, "page", 1, 1)
    start = (page - 1) * per_page
    if start >= DISCRETE_LIMIT:
        # module_search.json (Max_records): this message, and the limit as the string "2000".
        raise EmulatorError("LIMIT_REACHED", "maximum response iteration limit reached", {"limit": str(DISCRETE_LIMIT)})
    emu.limits.charge(1)
    with emu.limits.sub_slot():
        end = min(start + per_page, DISCRETE_LIMIT)
        rows: list[dict[str, Any]] = []
        seen = 0
        more = False
        with emu.store.lock:
            # Newest first, as Zoho's search answers; stop at the first match past this page.
            for rid in emu.store.ordered_ids(module, "id", "desc"):
                rec = emu.store.records[module][rid]
                if not pred(rec):
                    continue
                if seen >= end:
                    more = True
                    break
                if seen >= start:
                    rows.append(project(rec, fields))
                seen += 1
        if end >= DISCRETE_LIMIT:
            more = False  # nothing past 2,000 is reachable, so there is nothing "more" to fetch
        await emu.faults.delay(len(rows))
    if not rows:
        return no_content()
    return json_response(
        {"data": rows, "info": {"per_page": per_page, "count": len(rows), "page": page, "more_records": more}}
    )


class StoreCatalog:
    """The COQL engine's view of the store (the ``Catalog`` protocol of query/coql.py)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def fields(self, module: str) -> dict[str, dict] | None:
        canon = md.canonical_module(module)
        return md.field_map(canon) if canon else None

    def records(self, module: str) -> Iterable[dict]:
        canon = md.canonical_module(module) or module
        return self.store.records.get(canon, {}).values()  # the route holds the store lock

    def get(self, module: str, id: str) -> dict | None:
        canon = md.canonical_module(module) or module
        return self.store.records.get(canon, {}).get(str(id))


def _coql_limit(query: str) -> int:
    import re

    m = re.search(r"\blimit\s+(?:\d+\s*,\s*)?(\d+)", query, re.IGNORECASE)
    return int(m.group(1)) if m else 200


@crm
async def coql(request: Request, emu: Any, grant: Any) -> Response:
    from sergas_nb.emulator.query.coql import run_coql

    body = await json_body(request)
    query = body.get("select_query") if isinstance(body, dict) else None
    if not isinstance(query, str) or not query.strip():
        # coql.json lists no missing-parameter code for this operation: its INVALID_QUERY answer, with the
        # documented message and a reason naming the key.
        raise EmulatorError(
            "INVALID_QUERY", "invalid query formed", {"api_name": "select_query", "reason": "select_query is mandatory"}
        )
    emu.limits.charge(coql_cost(_coql_limit(query)))
    with emu.limits.sub_slot():
        with emu.store.lock:
            rows, more = run_coql(query, StoreCatalog(emu.store))
        await emu.faults.delay(len(rows))
    if not rows:
        return no_content()
    return json_response({"data": rows, "info": {"count": len(rows), "more_records": more}})


def routes() -> list[Route]:
    return [
        Route("/crm/v8/coql", coql, methods=["POST"]),
        Route("/crm/v8/{module}/search", search_records, methods=["GET"]),
    ]
