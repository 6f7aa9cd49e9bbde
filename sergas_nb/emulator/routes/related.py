"""Related records (``GET /crm/v8/{module}/{id}/{related_list}``) and their metadata
(``GET /crm/v8/settings/related_lists?module=``).

Zoho's pages: https://www.zoho.com/crm/developer/docs/api/v8/get-related-records.html (the list of a
record's related records, ``fields`` mandatory, ``page``/``per_page`` up to 200 and ``page_token``
past 2,000, 204 when there are none) and https://zoho.com/crm/developer/docs/api/v8/related-list-meta.html
(``related_lists`` items with ``api_name``, ``module``, ``href`` like ``Leads/{ENTITYID}/Notes``).
Related list API names are Zoho's standard ones: Contacts, Deals, Notes, the activity modules, and
Activities / Activities_History (open and closed activities of all three modules, each row with
its ``Activity_Type``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sergas_nb.emulator.errors import EmulatorError
from sergas_nb.emulator.query.values import ID_FIELD, find_field
from sergas_nb.emulator.routes.common import crm, emulator, int_param, json_response, module_of, no_content
from sergas_nb.emulator.routes.pagination import DISCRETE_LIMIT, TOKEN_LIMIT, binding
from sergas_nb.emulator.state import metadata as md
from sergas_nb.emulator.state.activity_fields import ACTIVITY_MODULES
from sergas_nb.emulator.state.seed import iso

Record = dict[str, Any]
Match = Callable[[Record, str, str], bool]  # (child record, parent id, parent module) -> related?


def _lookup(field: str) -> Match:
    return lambda rec, pid, _m: isinstance(link := rec.get(field), dict) and link.get("id") == pid


def _what(rec: Record, pid: str, module: str) -> bool:
    link = rec.get("What_Id")
    return isinstance(link, dict) and link.get("id") == pid and rec.get("$se_module") == module


def _parent(rec: Record, pid: str, _m: str) -> bool:
    link = rec.get("Parent_Id")
    return isinstance(link, dict) and link.get("id") == pid


def _who(rec: Record, pid: str, _m: str) -> bool:
    link = rec.get("Who_Id")
    return isinstance(link, dict) and link.get("id") == pid


@dataclass(frozen=True)
class Relation:
    api_name: str
    label: str
    modules: tuple[str, ...]  # the child module(s) the list reads
    match: Match
    open: bool | None = None  # Activities (True) / Activities_History (False): split by open or closed


def _activity_lists(match: Match) -> list[Relation]:
    return [
        Relation("Tasks", "Tasks", ("Tasks",), match),
        Relation("Events", "Meetings", ("Events",), match),
        Relation("Calls", "Calls", ("Calls",), match),
        Relation("Activities", "Open Activities", ACTIVITY_MODULES, match, open=True),
        Relation("Activities_History", "Closed Activities", ACTIVITY_MODULES, match, open=False),
    ]


RELATIONS: dict[str, list[Relation]] = {
    "Accounts": [
        Relation("Contacts", "Contacts", ("Contacts",), _lookup("Account_Name")),
        Relation("Deals", "Deals", ("Deals",), _lookup("Account_Name")),
        Relation("Notes", "Notes", ("Notes",), _parent),
        *_activity_lists(_what),
    ],
    "Contacts": [
        Relation("Deals", "Deals", ("Deals",), _lookup("Contact_Name")),
        Relation("Notes", "Notes", ("Notes",), _parent),
        *_activity_lists(_who),
    ],
    "Deals": [Relation("Notes", "Notes", ("Notes",), _parent), *_activity_lists(_what)],
    "Leads": [Relation("Notes", "Notes", ("Notes",), _parent), *_activity_lists(_what)],
}
_LIST_IDS = 6250853000000004000


def relation(module: str, api_name: str) -> Relation | None:
    for rel in RELATIONS.get(module, []):
        if rel.api_name.lower() == api_name.lower():
            return rel
    return None


def _is_open(module: str, rec: Record, now: str) -> bool:
    """Open activities: tasks not completed, meetings not yet ended, calls not yet started."""
    if module == "Tasks":
        return rec.get("Status") != "Completed"
    if module == "Events":
        return (rec.get("End_DateTime") or "") >= now
    return (rec.get("Call_Start_Time") or "") >= now


def related_rows(emu: Any, module: str, pid: str, rel: Relation) -> list[Record]:
    """Every related record, newest first (ids descending), as stored (callers project)."""
    now = iso(emu.store.clock())
    rows: list[Record] = []
    for child in rel.modules:
        for rec in emu.store.select(child, lambda r: rel.match(r, pid, module)):
            if rel.open is not None:
                if _is_open(child, rec, now) != rel.open:
                    continue
                rec = {**rec, "Activity_Type": child}
            rows.append(rec)
    rows.sort(key=lambda r: int(r["id"]), reverse=True)
    return rows


def _fields(request: Request, rel: Relation) -> list[str]:
    raw = request.query_params.get("fields")
    if raw is None or not raw.strip():
        raise EmulatorError(
            "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param_name": "fields"}
        )
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if len(names) > 50:
        raise EmulatorError("LIMIT_EXCEEDED", "Max field limit exceeded", {"param_name": "fields", "limit": 50})
    out: list[str] = []
    for n in names:
        found = [f for m in rel.modules if (f := find_field(md.field_map(m), n)) is not None]
        if not found:
            raise EmulatorError("INVALID_DATA", "invalid data", {"api_name": n, "param_name": "fields"})
        if found[0] is not ID_FIELD and found[0]["api_name"] not in out:
            out.append(found[0]["api_name"])
    return out


def _project(rec: Record, fields: list[str], extra: tuple[str, ...]) -> Record:
    row = {k: rec.get(k) for k in ["id", *fields]}
    for k in extra:
        if k in rec:
            row[k] = rec[k]
    return row


@crm
async def get_related(request: Request) -> Response:
    emu = emulator(request)
    module = module_of(request)
    pid = request.path_params["id"]
    name = request.path_params["related_list"]
    rel = relation(module, name)
    if rel is None:
        raise EmulatorError(
            "INVALID_DATA", "the related list name given seems to be invalid", {"api_name": name}, status=400
        )
    if not pid.isdigit() or emu.store.get(module, pid, []) is None:
        raise EmulatorError("INVALID_DATA", "the id given seems to be invalid", {"id": pid}, status=400)
    fields = _fields(request, rel)
    q = request.query_params
    per_page = int_param(request, "per_page", 200, 1, 200)
    page = int_param(request, "page", 1, 1)
    token = q.get("page_token")
    if token and q.get("page"):
        raise EmulatorError(
            "AMBIGUITY_DURING_PROCESSING",
            "page and page_token cannot be given together",
            {"ambiguity_due_to": [{"param_name": "page"}, {"param_name": "page_token"}]},
        )
    bound = binding(f"{module}/{pid}/{rel.api_name}", {"fields": fields, "per_page": per_page})
    emu.limits.charge(1)
    rows = related_rows(emu, module, pid, rel)
    if token:
        offset, last_id = emu.page_tokens.read(token, bound)
        if last_id is not None:
            ids = [r["id"] for r in rows]
            if not (0 < offset <= len(ids) and ids[offset - 1] == last_id) and last_id in ids:
                offset = ids.index(last_id) + 1
    else:
        if page * per_page > DISCRETE_LIMIT:
            raise EmulatorError(
                "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                "you can fetch only the first 2000 records with page; use page_token for more",
                {"param_name": "page", "limit": DISCRETE_LIMIT},
            )
        offset = (page - 1) * per_page
    end = min(offset + per_page, TOKEN_LIMIT)
    chunk = rows[offset:end]
    if not chunk:
        return no_content()
    # A polymorphic link travels with the module it points into; open/closed lists name each row's module.
    extra = tuple(k for k in ("$se_module",) if {"What_Id", "Parent_Id"} & set(fields)) + (
        ("Activity_Type",) if rel.open is not None else ()
    )
    data = [_project(r, fields, extra) for r in chunk]
    more = len(rows) > end
    info: dict[str, Any] = {
        "per_page": per_page,
        "count": len(data),
        "page": offset // per_page + 1,
        "more_records": more,
    }
    if more:
        info["next_page_token"], info["page_token_expiry"] = emu.page_tokens.issue(bound, end, chunk[-1]["id"])
    await emu.faults.delay(len(data))
    return json_response({"data": data, "info": info})


@crm
async def related_lists_meta(request: Request) -> Response:
    emu = emulator(request)
    raw = request.query_params.get("module")
    if not raw:
        raise EmulatorError(
            "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param_name": "module"}
        )
    module = md.canonical_module(raw)
    if module is None:
        raise EmulatorError("INVALID_MODULE", "the module name given seems to be invalid", {"param_name": "module"})
    emu.limits.charge(1)
    items = []
    for seq, rel in enumerate(RELATIONS.get(module, []), start=1):
        child = rel.modules[0] if len(rel.modules) == 1 else None
        items.append(
            {
                "id": str(_LIST_IDS + md.MODULES.index(module) * 100 + seq),
                "sequence_number": str(seq),
                "display_label": rel.label,
                "api_name": rel.api_name,
                "module": {"api_name": child, "id": md.module_id(child)} if child else None,
                "name": rel.label,
                "action": None,
                "href": f"{module}/{{ENTITYID}}/{rel.api_name}",
                "type": "default",
                "connectedmodule": None,
                "linkingmodule": None,
                "visible": True,
                "customize_sort": False,
            }
        )
    return json_response({"related_lists": items})


def meta_routes() -> list[Route]:
    """Before the records routes: ``/settings/related_lists`` would read as a record id."""
    return [Route("/crm/v8/settings/related_lists", related_lists_meta, methods=["GET"])]


def routes() -> list[Route]:
    """After the records routes, so their fixed segments (``actions/count``, ``deleted``) win."""
    return [Route("/crm/v8/{module}/{id}/{related_list}", get_related, methods=["GET"])]
