"""The assistant's tools: plain functions over a ZohoClient, each answering one JSON-safe dict.

server.py registers these as MCP tools; their signatures (Annotated with pydantic ``Field``) are
the JSON schemas a model sees, their docstrings the descriptions. Annotations are real objects
(no ``from __future__ import annotations``): the SDK reads them to build the schemas.

Reading past 2,000 records: ``search_records`` pages by keyset, not offset. A COQL query picks
the next ids (``... and id > '<last id>' order by id asc``), then the records are read by id,
typed like a notebook's frame. The cursor is opaque to the model (the query and the last id,
HMAC-signed by this process: cursor.py); it works at any depth, and the model only has to hand it
back. A decoded cursor is checked against the same bounds as the arguments (``_RecordsCursor``,
``_CoqlCursor``) before anything is sent.

Writes go through edit plans only (plan_adapter.py: the one adapter over sergas_nb.edits.plans).
"""

import os
import re
import threading
from collections.abc import Callable
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sergas_nb import frames
from sergas_nb._coql import coql_shape, criteria_to_coql, has_limit
from sergas_nb._paging import PER_PAGE, SEARCH_REACH, PageCursor, Walk
from sergas_nb.assistant import ToolInputError, plan_adapter, render
from sergas_nb.assistant import cursor as cursor_mod
from sergas_nb.assistant.approval import SHOWN_ROWS, Preview
from sergas_nb.client import ZohoClient
from sergas_nb.edits import checks
from sergas_nb.errors import Problem, ZohoAPIError, ZohoValidationError

COQL_REACH = 100_000  # LIMIT + OFFSET of one COQL query
MAX_PLAN_RECORDS = 10_000
_NAME = r"^[A-Za-z][A-Za-z0-9_]*$"
_AGGREGATE = re.compile(r"\b(count|sum|avg|min|max)\s*\(", re.IGNORECASE)

# ------------------------------------------------------------------ argument types (the schemas)
Module = Annotated[
    str, Field(description="Module API name, e.g. Accounts, Contacts, Deals, Leads (see list_modules).", pattern=_NAME)
]
Where = Annotated[
    str | None,
    Field(
        description="Filter: a COQL condition (Industry = 'Technology' and Annual_Revenue > 1000000) or Zoho "
        "search criteria ((Industry:equals:Technology)and(Rating:equals:Hot)). Field API names from describe_module.",
        max_length=4000,
    ),
]
Fields = Annotated[
    list[str] | None,
    Field(description="Field API names to return (id is always included). Default: every field.", max_length=200),
]
Limit = Annotated[int, Field(ge=1, le=render.MAX_ROWS, description=f"Rows to return, at most {render.MAX_ROWS}.")]
Cursor = Annotated[
    str | None,
    Field(description="next_cursor from a previous answer, to continue where it stopped.", max_length=8000),
]
RecordId = Annotated[str, Field(description="The record id (digits).", pattern=r"^[0-9]{1,25}$")]
Word = Annotated[
    str | None, Field(description="Zoho full-text search word (first 2,000 matches only).", max_length=200)
]
Email = Annotated[str | None, Field(description="Match records with this email address.", max_length=200)]
Phone = Annotated[str | None, Field(description="Match records with this phone number.", max_length=60)]
CoqlQuery = Annotated[
    str,
    Field(
        description="One COQL SELECT, e.g. select Account_Name, Annual_Revenue from Accounts where "
        "Industry = 'Technology' order by Annual_Revenue desc. Aggregates (COUNT, SUM, AVG, MIN, MAX with "
        "GROUP BY) where the CRM supports them. Without LIMIT, rows come limit at a time with a cursor.",
        min_length=6,
        max_length=8000,
    ),
]


# ------------------------------------------------------------------ what a cursor may carry
class _RecordsCursor(BaseModel):
    """A search_records cursor's state: the argument bounds again (a cursor is signed, but what
    it carries is checked as if the model had typed it)."""

    model_config = ConfigDict(extra="forbid")
    v: int
    kind: Literal["records"]
    module: Module
    where: Where = None
    fields: Fields = None
    word: Word = None
    email: Email = None
    phone: Phone = None
    offset: Annotated[int, Field(ge=0, le=SEARCH_REACH)] | None = None
    after: Annotated[str, Field(pattern=r"^[0-9]{1,25}$")] | None = None


class _CoqlCursor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    v: int
    kind: Literal["coql"]
    query: CoqlQuery
    offset: Annotated[int, Field(ge=0, le=COQL_REACH)]
    limit: Limit


def _cursor(cursor: str, model: type[BaseModel]) -> dict[str, Any]:
    kind = model.model_fields["kind"].annotation.__args__[0]  # type: ignore[union-attr]
    state = cursor_mod.decode(cursor, kind)
    try:
        return model.model_validate(state, strict=True).model_dump(exclude_none=True)
    except ValidationError as exc:
        names = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        raise ToolInputError(f"cursor: out of bounds ({', '.join(names)}): start anew without a cursor") from None


# ------------------------------------------------------------------ the tools
class Tools:
    """The tool functions of one server: a client, and (with writes) a journal and the plans made."""

    def __init__(
        self, crm: ZohoClient, *, journal: Any = None, allow_undo_any: bool = False, mirror_path: str | None = None
    ) -> None:
        self.crm = crm
        self.journal = journal
        # A local mirror (sn.Mirror's folder) query_mirror reads: the argument, else $SERGAS_NB_MIRROR.
        self.mirror_path = mirror_path or os.environ.get("SERGAS_NB_MIRROR") or None
        self.plans = plan_adapter.PlanStore()
        # undo_plan restores only plans made here (a person's notebook plans are theirs to undo)
        self.made: set[str] = set()
        self.allow_undo_any = allow_undo_any
        self.lock = threading.Lock()  # one CRM call sequence at a time: the client is not shared-state safe
        self._modules_cache: list[str] | None = None

    # -- helpers
    def _module(self, module: str) -> str:
        names = {m.lower(): m for m in self._module_names()}
        canon = names.get(module.lower())
        if canon is None:
            raise ToolInputError(f"module: unknown module {module!r}; known: {', '.join(sorted(names.values()))}")
        return canon

    def _module_names(self) -> list[str]:
        if self._modules_cache is None:
            data = self.crm.request("GET", "/crm/v8/settings/modules")
            self._modules_cache = [m["api_name"] for m in data.get("modules") or [] if m.get("api_supported", True)]
        return self._modules_cache

    def _fmap(self, module: str) -> dict[str, dict[str, Any]]:
        return checks.field_map(self.crm.fields(module))

    def _condition(self, module: str, where: str | None) -> str | None:
        if where is None or not where.strip():
            return None
        return criteria_to_coql(where, self._fmap(module))

    def _check_fields(self, module: str, names: list[str] | None) -> list[str] | None:
        if names is None:
            return None
        fmap = self._fmap(module)
        unknown = [n for n in names if n.split(".", 1)[0] not in fmap and n != "id"]
        if unknown:
            raise ZohoValidationError([Problem(n, f"unknown field of {module} (see describe_module)") for n in unknown])
        return names

    def _coql(self, query: str) -> dict[str, Any]:
        return self.crm.request("POST", "/crm/v8/coql", json={"select_query": query}, retry=True)

    # -- modules and fields
    def list_modules(self) -> dict[str, Any]:
        """List the CRM modules the API can use (Accounts, Contacts, Deals, ...), with their labels and
        what can be done with each. Start here to find a module's API name."""
        data = self.crm.request("GET", "/crm/v8/settings/modules")
        keys = ("api_name", "module_name", "singular_label", "plural_label", "creatable", "editable", "deletable")
        modules = [
            {k: render.json_value(m.get(k)) for k in keys if k in m}
            for m in data.get("modules") or []
            if m.get("api_supported", True)
        ]
        self._modules_cache = [m["api_name"] for m in modules]
        return {"modules": modules, "count": len(modules)}

    def describe_module(self, module: Module) -> dict[str, Any]:
        """Describe a module's fields: API name, label, Zoho data type, the JSON type of its values in
        this server's answers, whether it can be written, and picklist values or lookup target.
        Use the API names in where, fields, summarize and plan_edit."""
        return {"module": self._module(module), "fields": self.field_rows(module)}

    def field_rows(self, module: str) -> list[dict[str, Any]]:
        df = self.crm.fields(self._module(module))
        out = []
        for f in df.to_dict("records"):
            row: dict[str, Any] = {
                "api_name": f["api_name"],
                "label": render.json_value(f.get("field_label")),
                "data_type": render.json_value(f.get("data_type")),
                "dtype": render.json_value(f.get("dtype")),
                "writable": bool(f.get("writable")),
                "required": bool(f.get("system_mandatory") or False),
            }
            length = render.json_value(f.get("length"))
            if length is not None:
                row["max_length"] = length
            picks = frames.picklist_values(f)
            if picks:
                row["values"] = picks[:100]
            lookup = f.get("lookup")
            if isinstance(lookup, dict) and isinstance(lookup.get("module"), dict):
                row["lookup_module"] = lookup["module"].get("api_name")
            out.append(row)
        return out

    # -- records
    def search_records(
        self,
        module: Module,
        where: Where = None,
        word: Word = None,
        email: Email = None,
        phone: Phone = None,
        fields: Fields = None,
        limit: Limit = render.DEFAULT_ROWS,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        """List or search records of a module, typed values as JSON (datetimes in UTC, dates as
        YYYY-MM-DD, lookups as X.name / X.id). Filter with where (COQL condition or Zoho criteria),
        or with word / email / phone (Zoho search); no filter lists every record. Rows are ordered
        by id; when next_cursor is not null, call again with cursor=next_cursor for the next rows
        (works past 2,000 records)."""
        search = {k: v for k, v in (("word", word), ("email", email), ("phone", phone)) if v is not None}
        module = self._module(module)
        state: dict[str, Any] = {}
        if cursor is not None:
            state = _cursor(cursor, _RecordsCursor)
            cursor_mod.same_query(state, {"module": module, "where": where, "fields": fields, **search})
            where, fields = state.get("where"), state.get("fields")
            search = {k: state[k] for k in ("word", "email", "phone") if state.get(k) is not None}
        if search and where:
            raise ToolInputError("give where, or word / email / phone, not both")
        if len(search) > 1:
            raise ToolInputError(f"give one of word, email, phone (got {', '.join(search)})")
        fields = self._check_fields(module, fields)
        query = {"kind": "records", "module": module, "where": where, "fields": fields, **search}
        if search:
            offset = int(state.get("offset", 0))
            ids, more = self._search_ids(module, search, offset, limit)
        else:
            after = state.get("after")
            ids, more = self._keyset_ids(module, where, after, limit)
            offset = 0
        df = self.crm.records_by_ids(module, ids, fields) if ids else pd.DataFrame({"id": []})
        rows = render.frame_rows(df)
        kept, cut = render.fit_rows(rows)
        more = more or cut
        out: dict[str, Any] = {"module": module, "returned": len(kept), "rows": kept}
        if more and kept:
            nxt = dict(query, offset=offset + len(kept)) if search else dict(query, after=kept[-1]["id"])
            out["next_cursor"] = cursor_mod.encode(nxt)
        else:
            out["next_cursor"] = None
        if cut:
            out["truncated"] = f"answer size limit: {len(kept)} of {len(rows)} rows returned; the cursor continues"
        if search and not more and offset + len(kept) >= SEARCH_REACH:
            out["truncated"] = "Zoho's search reaches the first 2,000 matches only; use where= to read every match"
        missing = len(ids) - len(df)
        if missing:
            out["note"] = f"{missing} matching record(s) were deleted between the search and the read"
        return out

    def _keyset_ids(self, module: str, where: str | None, after: str | None, limit: int) -> tuple[list[str], bool]:
        condition = self._condition(module, where)
        parts = [f"({condition})"] if condition else []
        if after is not None:
            if not re.fullmatch(r"[0-9]{1,25}", str(after)):
                raise ToolInputError("cursor: damaged (pass next_cursor exactly as received)")
            parts.append(f"id > '{after}'")
        text = " and ".join(parts) or "id is not null"
        data = self._coql(f"select id from {module} where {text} order by id asc limit {limit}")
        ids = [str(r["id"]) for r in data.get("data") or []]
        return ids, bool((data.get("info") or {}).get("more_records"))

    def _search_ids(self, module: str, search: dict[str, str], offset: int, limit: int) -> tuple[list[str], bool]:
        if offset >= SEARCH_REACH:
            return [], False
        ids: list[str] = []
        more = False
        skip = offset % PER_PAGE
        walk = Walk(
            lambda q: self.crm.request(
                "GET", f"/crm/v8/{module}/search", params={**search, "fields": "id", **q, "per_page": PER_PAGE}
            ),
            PageCursor(PER_PAGE, page=offset // PER_PAGE + 1, tokens="never", reach=SEARCH_REACH),
        )
        for page in walk:
            ids.extend(str(r["id"]) for r in page.rows[skip:])
            more = bool((page.data.get("info") or {}).get("more_records")) if page.data else False
            skip = 0
            if len(ids) >= limit:
                break
        more = more or len(ids) > limit
        return ids[:limit], more and offset + min(len(ids), limit) < SEARCH_REACH

    def get_record(self, module: Module, id: RecordId, fields: Fields = None) -> dict[str, Any]:
        """Read one record by id, every field (or the chosen ones), typed values as JSON."""
        module = self._module(module)
        fields = self._check_fields(module, fields)
        df = self.crm.records_by_ids(module, [id], fields)
        if not len(df):
            raise ZohoAPIError(f"{module} record {id} not found", code="RECORD_NOT_FOUND", status=204)
        row = render.frame_rows(df)[0]
        return {"module": module, "record": row}

    def count_records(self, module: Module, where: Where = None) -> dict[str, Any]:
        """Count the records of a module, all of them or those matching where."""
        module = self._module(module)
        condition = self._condition(module, where)
        if condition is None:  # the count API: one call, no COQL credit
            return {"module": module, "where": where, "count": self.crm.count(module)}
        # One aggregate query, whatever the number of matches (reading the ids would take a call
        # per 2,000). Zoho answers the aggregate under its text, {"COUNT(id)": n}; no match may be
        # Zoho's 204 (request() gives {}). https://www.zoho.com/crm/developer/docs/api/v8/COQL-Overview.html
        data = self._coql(f"select COUNT(id) from {module} where ({condition})")
        rows = data.get("data") or []
        if not rows:
            return {"module": module, "where": where, "count": 0}
        row = rows[0]
        keys = {re.sub(r"\s+", "", str(k)).lower(): k for k in row}
        key = keys.get("count(id)") or (next(iter(row)) if len(row) == 1 else None)
        value = row.get(key) if key is not None else None
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
            raise ZohoAPIError(
                f"{module}: the COUNT answer had no count ({sorted(map(str, row))})",
                code="MALFORMED_RESPONSE",
                status=200,
            )
        return {"module": module, "where": where, "count": int(value)}

    def run_coql(
        self,
        query: CoqlQuery,
        limit: Limit = render.DEFAULT_ROWS,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        """Run a read-only COQL SELECT query (anything but a single SELECT is refused). Plain field
        lists come back typed like search_records; aggregate and aliased columns as Zoho answers them.
        A query without its own LIMIT comes limit rows at a time: call again with the same query and
        cursor=next_cursor (COQL reaches 100,000 rows)."""
        offset = 0
        if cursor is not None:
            state = _cursor(cursor, _CoqlCursor)
            if state.get("query") != query:
                raise ToolInputError("cursor belongs to another query: pass the same query with its cursor")
            offset, limit = int(state["offset"]), int(state["limit"])
        text = _read_only_select(query)
        module, names = coql_shape(text)
        module = self._module(module)
        own_limit = has_limit(text)
        if own_limit:
            sent = text
        else:
            if offset + limit + 1 > COQL_REACH:
                raise ToolInputError("COQL reaches 100,000 rows (LIMIT + OFFSET): narrow the where clause")
            sent = f"{text} limit {limit + 1} offset {offset}"
        head = re.match(r"select\s+(.+?)\s+from\s", text, re.IGNORECASE | re.DOTALL)
        aggregate = bool(_AGGREGATE.search(head.group(1) if head else text))
        if names is not None and not aggregate:
            df = self.crm.coql(sent)
            rows = render.frame_rows(df)
        else:
            data = self._coql(sent)
            rows = [{str(k): render.json_value(v) for k, v in r.items()} for r in data.get("data") or []]
        more = len(rows) > limit and not own_limit
        shown = rows[: min(limit, render.MAX_ROWS)] if not own_limit else rows[: render.MAX_ROWS]
        kept, cut = render.fit_rows(shown)
        out: dict[str, Any] = {"module": module, "returned": len(kept), "rows": kept}
        if (more or cut) and not own_limit:
            out["next_cursor"] = cursor_mod.encode(
                {"kind": "coql", "query": query, "offset": offset + len(kept), "limit": limit}
            )
        else:
            out["next_cursor"] = None
        if own_limit and len(kept) < len(rows):
            out["truncated"] = (
                f"{len(rows) - len(kept)} of {len(rows)} rows left out (answer size limit); "
                "drop the query's LIMIT to page through them with a cursor"
            )
        elif cut:
            out["truncated"] = "answer size limit reached; the cursor continues"
        return out

    def summarize(
        self,
        module: Module,
        group_by: Annotated[
            str | None,
            Field(
                description="Field API name to group by (a picklist, text, lookup ...); none: one total row.",
                pattern=_NAME,
            ),
        ] = None,
        metrics: Annotated[
            list[str],
            Field(
                description="Aggregates, each count or FUNCTION:Field with FUNCTION one of sum, avg, min, max "
                '(e.g. ["count", "sum:Annual_Revenue", "avg:Health_Score"]).',
                min_length=1,
                max_length=10,
            ),
        ] = ["count"],  # noqa: B006  (pydantic copies defaults; the list is never mutated)
        where: Where = None,
        limit: Annotated[int, Field(ge=1, le=200, description="Groups to return, at most 200.")] = 50,
        largest_first: Annotated[
            bool, Field(description="Order groups by the first metric, largest first (else by the group's value).")
        ] = True,
    ) -> dict[str, Any]:
        """Group and aggregate records server-side with COQL (GROUP BY with COUNT, SUM, AVG, MIN, MAX):
        e.g. accounts per industry with their total revenue. The CRM does the work; only the groups
        come back. Needs a CRM whose COQL supports aggregates; otherwise this tool says so."""
        module = self._module(module)
        fmap = self._fmap(module)
        problems: list[Problem] = []
        columns: list[tuple[str, str, str]] = []  # (label, FN, field)
        for i, m in enumerate(metrics):
            fn, _, name = m.strip().partition(":")
            fn = fn.strip().lower()
            if fn == "count" and not name:
                columns.append(("count", "COUNT", "id"))
                continue
            if fn not in ("count", "sum", "avg", "min", "max") or not name:
                problems.append(Problem("metrics", "expected count or sum|avg|min|max:Field", i, m))
                continue
            name = name.strip()
            meta = fmap.get(name)
            if meta is None:
                problems.append(Problem("metrics", f"unknown field of {module}", i, name))
                continue
            if fn in ("sum", "avg") and frames.kind_of(meta) not in (frames.INT, frames.FLOAT):
                problems.append(
                    Problem("metrics", f"{fn} needs a numeric field ({name} is {meta.get('data_type')})", i, m)
                )
                continue
            columns.append((f"{fn}_{name}", fn.upper(), name))
        if group_by is not None and group_by not in fmap:
            problems.append(Problem("group_by", f"unknown field of {module}", None, group_by))
        if problems:
            raise ZohoValidationError(problems)
        condition = self._condition(module, where) or "id is not null"
        selected = ([group_by] if group_by else []) + [f"{fn}({name})" for _, fn, name in columns]
        query = f"select {', '.join(selected)} from {module} where {condition}"
        if group_by:
            query += f" group by {group_by}"
            if largest_first:
                query += f" order by {selected[1]} desc"
        query += f" limit {limit}"
        try:
            data = self._coql(query)
        except ZohoAPIError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.code in ("SYNTAX_ERROR", "INVALID_QUERY"):
                raise ZohoAPIError(
                    f"this CRM's COQL refused the aggregate query ({exc.message}); summarize needs COQL aggregates"
                    f" (GROUP BY with COUNT/SUM/AVG/MIN/MAX). Query sent: {query}",
                    code=exc.code,
                    status=exc.status,
                    details=exc.details,
                ) from None
            raise
        groups = []
        for r in data.get("data") or []:
            keys = {re.sub(r"\s+", "", str(k)).lower(): k for k in r}
            row: dict[str, Any] = {}
            if group_by:
                row[group_by] = render.json_value(r.get(group_by))
            # Each aggregate under its text (COUNT(id)); failing that, the other keys in select order.
            rest = [k for k in r if k != group_by]
            for pos, (label, fn, name) in enumerate(columns):
                key = keys.get(f"{fn}({name})".lower())
                if key is None and len(rest) == len(columns):
                    key = rest[pos]
                row[label] = render.json_value(r.get(key)) if key is not None else None
            groups.append(row)
        kept, cut = render.fit_rows(groups)
        out: dict[str, Any] = {"module": module, "group_by": group_by, "groups": kept, "query": query}
        more = bool((data.get("info") or {}).get("more_records"))
        if more or cut:
            out["truncated"] = f"more groups than returned ({len(kept)}); raise limit or narrow where"
        return out

    def health(self) -> dict[str, Any]:
        """Check the connection: configuration, token store database, access token and the CRM API,
        each ok / error / skipped with the reason; and whether this server may write."""
        checks_df = self.crm.health()
        return {
            "api": self.crm.api_url,
            "writes": self.journal is not None,
            "journal": getattr(self.journal, "where", None),
            "checks": render.frame_rows(checks_df),
        }

    # -- account 360 (sergas_nb/_related.py, sergas_nb/health.py)
    def get_related(
        self,
        module: Module,
        id: RecordId,
        related_list: Annotated[
            str,
            Field(
                description="Related list API name, e.g. Contacts, Deals, Notes, Tasks, Events, Calls, Activities "
                "(open), Activities_History (closed). Lists of a module: GET /settings/related_lists.",
                pattern=_NAME,
            ),
        ],
        fields: Fields = None,
        limit: Limit = 50,
    ) -> dict[str, Any]:
        """Read the records related to one record (an account's contacts, deals, notes or activities),
        newest first, typed values as JSON. Read-only; at most limit rows."""
        module = self._module(module)
        df = self.crm.related(module, id, related_list, fields)
        rows, cut = render.fit_rows(render.frame_rows(df.head(min(limit, render.MAX_ROWS))))
        out: dict[str, Any] = {"module": module, "id": id, "related_list": related_list, "count": len(df), "rows": rows}
        if cut or len(df) > len(rows):
            out["truncated"] = f"{len(df)} related records, {len(rows)} returned; raise limit or ask for fewer fields"
        return out

    def account_overview(self, id: RecordId) -> dict[str, Any]:
        """One account at a glance: its key fields, health signals (days since its last activity, open
        pipeline and its age, deals won and lost in 12 months, contacts, overdue tasks) and the latest
        contacts, deals, activities (on the account or its deals) and notes (up to 5 each). Read-only:
        six CRM calls and two per deal."""
        from sergas_nb.health import account_health

        fields = ["Account_Name", "Industry", "Owner", "Annual_Revenue", "Account_Type", "Rating"]
        fields = [f for f in fields if f in self._fmap("Accounts")]
        account = self.crm.records_by_ids("Accounts", [id], fields)
        if not len(account):
            raise ZohoAPIError(f"Accounts record {id} not found", code="RECORD_NOT_FOUND", status=204)
        d = self.crm.account_details(id)
        signals = account_health(account, d["contacts"], d["deals"], d["activities"])
        keep = {
            "contacts": ["Full_Name", "Title", "Email"],
            "deals": ["Deal_Name", "Stage", "Amount", "Closing_Date"],
            "activities": ["when", "type", "subject", "Status"],
            "notes": ["Created_Time", "Note_Title", "Note_Content"],
        }
        latest = {
            k: render.frame_rows(d[k][[c for c in ["id", *cols] if c in d[k].columns]].head(5))
            for k, cols in keep.items()
        }
        rows, _ = render.fit_rows([render.frame_rows(account)[0]])
        return {
            "account": rows[0] if rows else {"id": id},
            "health": {k: v for k, v in render.frame_rows(signals)[0].items() if k != "id"},
            "counts": {k: int(len(d[k])) for k in keep},
            "latest": latest,
            "note": "activities are the account's and its deals' (as the health signals count them); "
            "see get_related for more",
        }

    # -- writes: plans only
    def plan_edit(
        self,
        module: Module,
        changes: Annotated[
            dict[str, Any],
            Field(
                description='Field API name -> new value for every selected record, e.g. {"Rating": "Hot"}; '
                "null clears the field; a lookup takes the target record id. Several fields may change together.",
                min_length=1,
            ),
        ],
        where: Where = None,
        ids: Annotated[
            list[Annotated[str, Field(pattern=r"^[0-9]{1,25}$")]] | None,
            Field(description="Record ids to edit (instead of where).", max_length=MAX_PLAN_RECORDS),
        ] = None,
    ) -> dict[str, Any]:
        """Plan an edit without sending anything: select records (where, or ids) and the change;
        answers a plan_id, counts (selected, to change, unchanged) and a sample of the diff (id, old,
        new). Every new value is checked against the field's metadata now. Nothing changes in the CRM
        until apply_plan(plan_id), which asks the user to approve first."""
        module = self._module(module)
        if (where is None or not where.strip()) == (ids is None):
            raise ToolInputError('give where or ids (to edit every record say so: where="id is not null")')
        self._check_fields(module, plan_adapter.fields_of(changes))
        needed = plan_adapter.fields_of(changes)
        if ids is not None:
            selected = self.crm.records_by_ids(module, ids, needed)
            found = set(selected["id"].astype(str))
            missing = [i for i in dict.fromkeys(ids) if i not in found]
            if missing:
                raise ZohoValidationError([Problem("ids", "no such record", None, i) for i in missing[:20]])
            selection = f"ids: {len(set(ids))} records"
        else:
            assert where is not None
            selected = self.crm.records(module, fields=needed, where=where, limit=MAX_PLAN_RECORDS + 1)
            if len(selected) > MAX_PLAN_RECORDS:
                raise ToolInputError(
                    f"where selects more than {MAX_PLAN_RECORDS} records: narrow it (or edit from a notebook)"
                )
            selection = f"where: {where}"
        plan = plan_adapter.build(self.crm, module, selected, dict(changes), selection)
        self.plans.put(plan)
        self.made.add(plan.plan_id)
        summary = {k: render.json_value(v) for k, v in plan.summary().items()}
        return {
            **summary,
            "diff_sample": render.frame_rows(plan.diff().head(plan_adapter.DIFF_SAMPLE)),
            "next_step": f"apply_plan(plan_id={plan.plan_id!r}) sends it; nothing has been sent",
        }

    def apply_plan(
        self, plan_id: Annotated[str, Field(description="plan_id from plan_edit.", min_length=1, max_length=200)]
    ) -> dict[str, Any]:
        """Send a plan made by plan_edit, after the user approves it (the host shows them the counts
        and the first changes; declined means nothing is sent). In batches of 100, each record
        journalled in PostgreSQL before it is sent. Answers counts and each record's outcome (success,
        error with Zoho's code, or skipped: already applied, already at the new value, changed since
        the plan). Applying twice sends nothing the second time. undo_plan(plan_id) restores the old
        values. A session may write a limited number of records."""
        return plan_adapter.outcomes(self.apply_result(plan_id))

    def apply_result(self, plan_id: str) -> Any:
        return plan_adapter.apply(self.crm, self.plans.get(plan_id), self.journal)

    def apply_preview(self, plan_id: str) -> Preview:
        """What apply_plan would send, for the person to approve."""
        plan = self.plans.get(plan_id)
        summary = plan.summary()
        values = ", ".join(f"{k}: {v}" for k, v in list(summary["by_new_value"].items())[:5])
        rows = [
            {"id": d["id"], "field": d["field"], "from": d["old"], "to": d["new"]}
            for d in render.frame_rows(plan.diff().head(SHOWN_ROWS))
        ]
        return Preview(
            tool="apply_plan",
            plan_id=plan_id,
            module=plan.module,
            records=int(summary["records_to_change"]),
            headline=f"change {summary['records_to_change']} {plan.module} records ({', '.join(plan.fields)};"
            f" new values: {values})",
            rows=rows,
        )

    def undo_plan(
        self, plan_id: Annotated[str, Field(description="plan_id of an applied plan.", min_length=1, max_length=200)]
    ) -> dict[str, Any]:
        """Restore the values a plan's apply replaced (from the journal), after the user approves
        it. Only plans made by this server's plan_edit. Records changed again since the apply are
        skipped and reported."""
        return plan_adapter.outcomes(self.undo_result(plan_id))

    def undo_result(self, plan_id: str) -> Any:
        self._own(plan_id)
        return plan_adapter.undo(self.crm, plan_id, self.journal)

    def _own(self, plan_id: str) -> None:
        if self.allow_undo_any or plan_id in self.made:
            return
        raise ToolInputError(
            f"plan_id: {plan_id!r} was not made by this server's plan_edit, so undo_plan will not touch it"
            " (a person's plans are theirs to undo, from a notebook); nothing was sent. A server started"
            " with --allow-undo-any undoes any journalled plan."
        )

    def undo_preview(self, plan_id: str) -> Preview:
        """What undo_plan would write back, from the journal, for the person to approve."""
        if self.journal.plan(plan_id) is None:
            raise ToolInputError(f"plan_id: no plan {plan_id!r} in the journal (nothing to undo)")
        self._own(plan_id)
        touched = self.journal.touched(plan_id)
        touched = touched[touched["undone_at"].isna()] if len(touched) else touched
        if not len(touched):
            raise ToolInputError(f"plan_id: {plan_id!r} has nothing applied that is not undone yet; nothing to undo")
        module = str(touched["module"].iloc[0])
        fields = sorted(set(touched["field"].astype(str)))
        rows = [
            {"id": r["record_id"], "field": r["field"], "from": r["new_value"], "to": r["old_value"]}
            for r in render.frame_rows(touched.head(SHOWN_ROWS)[["record_id", "field", "new_value", "old_value"]])
        ]
        records = int(touched["record_id"].nunique())
        return Preview(
            tool="undo_plan",
            plan_id=plan_id,
            module=module,
            records=records,
            headline=f"restore {records} {module} records to their values before the plan ({', '.join(fields)})",
            rows=rows,
        )

    def list_plans(self) -> dict[str, Any]:
        """The plans in the journal, newest first: module, field, planned, applied, failed, undone."""
        df = self.journal.plans().head(50)
        return {"plans": render.frame_rows(df)}

    def query_mirror(
        self,
        query: Annotated[
            str,
            Field(
                description="One SQL SELECT over the local mirror (DuckDB): tables are module names, "
                'columns their frame columns, dotted ones quoted, e.g. select a."Account_Name", '
                'sum(d."Amount") from Deals d join Accounts a on d."Account_Name.id" = a.id group by 1.',
                min_length=6,
                max_length=8000,
            ),
        ],
        limit: Limit = render.DEFAULT_ROWS,
    ) -> dict[str, Any]:
        """Run one read-only SQL SELECT over the local mirror (no CRM call, no API credits). The
        mirror is as fresh as its last sync; at most limit rows come back."""
        from sergas_nb.mirror import Mirror, MirrorError

        if not self.mirror_path:
            raise ToolInputError("no mirror is configured (set SERGAS_NB_MIRROR to a mirror's folder)")
        try:
            with Mirror(self.crm, self.mirror_path) as m:
                df = m.sql(f"select * from ({_read_only_select(query)}) as q limit {int(limit) + 1}")
        except (MirrorError, ValueError) as exc:
            raise ToolInputError(f"query: {exc}") from None
        except Exception as exc:  # DuckDB's own errors (unknown table or column) say what is wrong
            raise ToolInputError(f"query: {type(exc).__name__}: {exc}") from None
        rows = render.frame_rows(df.head(limit))
        kept, cut = render.fit_rows(rows)
        out: dict[str, Any] = {"returned": len(kept), "rows": kept, "more": len(df) > limit or cut}
        return out


def _read_only_select(query: str) -> str:
    """The query when it is one SELECT (a trailing ; allowed); ToolInputError for anything else."""
    text = query.strip()
    bare = re.sub(r"'(?:[^'\\]|\\.)*'", "''", text)  # literals cannot hide a statement
    if bare.endswith(";"):
        text, bare = text[:-1].rstrip(), bare[:-1].rstrip()
    if ";" in bare:
        raise ToolInputError("query: one statement only")
    if not re.match(r"select\s", bare, re.IGNORECASE):
        raise ToolInputError("query: read-only: only a COQL SELECT is accepted")
    return text


ToolFn = Callable[..., dict[str, Any]]
Kind = Literal["read", "plan", "write"]  # plan: sends nothing to the CRM, yet changes the server's state


def tool_table(tools: Tools, allow_writes: bool) -> list[tuple[ToolFn, Kind]]:
    """The tools to register, in the order a host lists them."""
    reads: list[tuple[ToolFn, Kind]] = [
        (tools.list_modules, "read"),
        (tools.describe_module, "read"),
        (tools.search_records, "read"),
        (tools.get_record, "read"),
        (tools.count_records, "read"),
        (tools.run_coql, "read"),
        (tools.summarize, "read"),
        (tools.health, "read"),
        (tools.get_related, "read"),
        (tools.account_overview, "read"),
    ]
    if tools.mirror_path:
        reads.append((tools.query_mirror, "read"))
    if not allow_writes:
        return reads
    return reads + [
        (tools.plan_edit, "plan"),  # not read-only: a host must not approve it unasked
        (tools.apply_plan, "write"),
        (tools.undo_plan, "write"),
        (tools.list_plans, "read"),
    ]
