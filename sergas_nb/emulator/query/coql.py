"""COQL (POST /crm/v8/coql): validate a parsed select query against field metadata, compile the
where clause into one Python predicate, then filter, sort and page the module's records.

Limits (Zoho's COQL-Overview and COQL-Limitations pages for v7/v8): 2,000 rows a call (default
200), LIMIT+OFFSET reach 100,000 rows, 50 selected fields, 25 criteria, 50 values in ``in``, 10
ORDER BY fields, 4 GROUP BY fields, 5 aggregates; a column repeated in ORDER BY, GROUP BY or the
aggregates is DUPLICATE_DATA; no multi-line fields in criteria.

Aggregates: ``COUNT`` (non-empty values), ``SUM`` and ``AVG`` (number fields), ``MIN`` and ``MAX``
(numbers, dates, datetimes). An answer row holds each aggregate under its alias, or its text as
written with the function in capitals (``"SUM(Annual_Revenue)"``), beside the grouped columns, and
no ``id``. With no GROUP BY the answer is one row. Groups come ordered by their keys unless ORDER BY
names a grouped column, an aggregate or an alias.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import sergas_nb.emulator.query.values as V
from sergas_nb.emulator.errors import EmulatorError
from sergas_nb.emulator.query.coql_grammar import NULL, Aggregate, Compare, Logic, Query, Ref, parse_query
from sergas_nb.emulator.query.id_range import conjuncts, id_bounds

Record = dict[str, Any]
Predicate = Callable[[Record], bool]

DEFAULT_LIMIT = 200
MAX_LIMIT = 2000
MAX_REACH = 100_000  # offset + limit
MAX_COLUMNS = 50
MAX_CRITERIA = 25
MAX_IN_VALUES = 50
MAX_ORDER_BY = 10
MAX_GROUP_BY = 4
MAX_AGGREGATES = 5

MSG_INVALID = "invalid query formed"
MSG_COLUMN = "column given seems to be invalid"
MSG_VALUE = "value given seems to be invalid for the column"
MSG_TYPE = "data type not supported"

_ORDERED = V.NUMERIC | V.DATE | V.DATETIME | frozenset({"id"})
_USER_INLINE = {"id": "id", "email": "email", "name": "name", "full_name": "name"}


class Catalog(Protocol):
    """What the query needs from the store: field metadata, a module's records, one record by id."""

    def fields(self, module: str) -> dict[str, dict] | None: ...

    def records(self, module: str) -> Iterable[dict]: ...

    def get(self, module: str, id: str) -> dict | None: ...

    def records_between(self, module: str, low: int | None, high: int | None) -> Iterable[dict]:
        """The module's records with ``low <= id <= high`` (None: unbounded), ascending id."""
        ...


@dataclass(frozen=True)
class Column:
    """A resolved column: how to read it from a base record and what type it is."""

    key: str  # key in the answer rows
    data_type: str
    get: Callable[[Record], Any]


MAX_SELECT_JOINS = 15
_FEW = 5000  # records modified since a time, below which that index beats an id range's


def _limit_exceeded(clause: str, limit: int, **extra: Any) -> EmulatorError:
    return EmulatorError("LIMIT_EXCEEDED", "limit exceeded", {"clause": clause, "limit": limit, **extra})


# ``$se_module`` as a COQL column: the module a record's multi-module lookup (What_Id of Tasks,
# Events and Calls; a note's Parent_Id) points into, answered as a top-level "$se_module" string
# beside the lookup's {"id"}. Zoho's COQL pages (COQL-Overview, COQL-Limitations,
# Get-Records-through-COQL-Query, v8) neither list nor exclude it; what we follow is how COQL
# clients use it against real orgs: several independent public codebases send
# "select ..., What_Id, $se_module from Calls where ..." (and "... from Events") and read
# row["$se_module"] back (GitHub code text; searched for "What_Id, $se_module" and
# "$se_module from", December 2026). Only modules with a multi-module lookup have the column.
_SE_MODULE = "$se_module"


def _has_poly(fields: dict[str, dict]) -> bool:
    return any((f.get("multi_module_lookup") or {}).get("modules") for f in fields.values())


class _Resolver:
    """Resolves column references (with lookup dot paths) against the catalog's metadata."""

    def __init__(self, catalog: Catalog, module: str, base_fields: dict[str, dict]) -> None:
        self.catalog = catalog
        self.module = module
        self.base_fields = base_fields
        self._cache: dict[tuple[str, str], Record | None] = {}

    def _fetch(self, module: str, record_id: Any) -> Record | None:
        key = (module, str(record_id))
        if key not in self._cache:
            self._cache[key] = self.catalog.get(module, str(record_id))
        return self._cache[key]

    def column(self, ref: Ref) -> Column:
        getter, data_type, api = self._walk(ref, self.base_fields, ref.parts)
        key = api if len(ref.parts) == 1 else ref.text
        return Column(key, data_type, getter)

    def _walk(
        self, ref: Ref, fields: dict[str, dict], parts: tuple[str, ...]
    ) -> tuple[Callable[[Record], Any], str, str]:
        if parts[0].lower() == _SE_MODULE and len(parts) == 1 and _has_poly(fields):
            return (lambda record: record.get("$se_module")), "text", "$se_module"
        field = V.find_field(fields, parts[0])
        if field is None:
            raise EmulatorError("INVALID_QUERY", MSG_COLUMN, {"column_name": ref.text})
        api = str(field.get("api_name") or parts[0])
        data_type = V.effective_type(field)
        if len(parts) == 1:
            return (lambda record: record.get(api)), data_type, api
        if data_type not in V.LOOKUP | V.USER_LOOKUP:
            raise EmulatorError("INVALID_QUERY", MSG_COLUMN, {"column_name": ref.text})
        target = V.lookup_module(field)
        target_fields = self.catalog.fields(target) if target else None
        if target_fields is None and data_type in V.USER_LOOKUP:
            # Users are not a catalog module here: read the inline {"name","id","email"} of the owner.
            if len(parts) != 2 or parts[1].lower() not in _USER_INLINE:
                raise EmulatorError("INVALID_QUERY", MSG_COLUMN, {"column_name": ref.text})
            inner = _USER_INLINE[parts[1].lower()]
            inner_type = {"id": "id", "email": "email"}.get(inner, "text")
            return (
                (lambda record: ref_.get(inner) if isinstance(ref_ := record.get(api), dict) else None),
                inner_type,
                parts[1],
            )
        if target_fields is None:
            raise EmulatorError("INVALID_QUERY", MSG_COLUMN, {"column_name": ref.text})
        sub_get, sub_type, sub_api = self._walk(ref, target_fields, parts[1:])
        fetch = self._fetch
        target_module = str(target)

        def through(record: Record) -> Any:
            link = record.get(api)
            if not isinstance(link, dict) or link.get("id") is None:
                return None
            linked = fetch(target_module, link["id"])
            return sub_get(linked) if linked is not None else None

        return through, sub_type, sub_api


# --- where clause ------------------------------------------------------------------------------


def _count(node: Compare | Logic) -> int:
    return 1 if isinstance(node, Compare) else _count(node.left) + _count(node.right)


def _bad_value(col: Column, ref: Ref, value: Any) -> EmulatorError:
    return EmulatorError(
        "INVALID_QUERY", MSG_VALUE, {"column_name": ref.text, "expected_data_type": col.data_type, "value": str(value)}
    )


def _bad_operator(col: Column, ref: Ref, op: str) -> EmulatorError:
    return EmulatorError(
        "INVALID_QUERY",
        MSG_INVALID,
        {
            "column_name": ref.text,
            "operator": op.replace("_", " "),
            "data_type": col.data_type,
            "reason": "operator not supported for the field",
        },
    )


def _coerce(col: Column, ref: Ref, value: Any) -> Any:
    """A literal in the where clause as the comparable form of the column's values."""
    if value is NULL:
        return NULL
    data_type = col.data_type
    if isinstance(value, bool) and data_type not in V.BOOLEAN:
        raise _bad_value(col, ref, value)
    text = value if isinstance(value, str) else str(value)
    parsed: Any
    if data_type == "id" or data_type in V.LOOKUP | V.USER_LOOKUP:
        parsed = V.parse_id(text)
    elif data_type in V.NUMERIC:
        parsed = value if isinstance(value, (int, float)) else V.parse_number(text, data_type)
        if parsed is not None and data_type in V.INTEGRAL and isinstance(parsed, float):
            parsed = parsed if parsed.is_integer() else None
    elif data_type in V.DATE:
        parsed = V.parse_date(text) if isinstance(value, str) else None
    elif data_type in V.DATETIME:
        parsed = V.parse_datetime(text) if isinstance(value, str) else None
    elif data_type in V.BOOLEAN:
        parsed = value if isinstance(value, bool) else V.parse_boolean(text)
    else:
        parsed = text.casefold()
    if parsed is None:
        raise _bad_value(col, ref, value)
    return parsed


def _reader(col: Column) -> Callable[[Record], Any]:
    """Reads a column in its comparable form (None when empty)."""
    get, data_type = col.get, col.data_type
    if data_type == "id":
        return lambda record: int(x) if isinstance(x := get(record), str) and x.isdigit() else None
    if data_type in V.LOOKUP | V.USER_LOOKUP:
        return lambda record: (
            int(x["id"]) if isinstance(x := get(record), dict) and str(x.get("id", "")).isdigit() else None
        )
    if data_type in V.MULTI_PICKLIST:
        return lambda record: ";".join(x).casefold() if isinstance(x := get(record), list) and x else None
    if data_type in V.NUMERIC:
        return lambda record: x if isinstance(x := get(record), (int, float)) and not isinstance(x, bool) else None
    if data_type in V.BOOLEAN:
        return lambda record: x if isinstance(x := get(record), bool) else None
    if data_type in V.DATE | V.DATETIME:
        return lambda record: x if isinstance(x := get(record), str) and x else None
    return lambda record: x.casefold() if isinstance(x := get(record), str) and x != "" else None


def _like_regex(pattern: str) -> re.Pattern[str]:
    # Zoho documents like for starts_with / ends_with / contains: '%' is the only wildcard.
    return re.compile(".*".join(re.escape(piece) for piece in pattern.split("%")), re.IGNORECASE | re.DOTALL)


def _compile_compare(node: Compare, resolver: _Resolver) -> Predicate:
    ref, op = node.ref, node.op
    col = resolver.column(ref)
    data_type = col.data_type
    if data_type == "textarea" and op not in ("is_null", "is_not_null"):
        raise EmulatorError("INVALID_QUERY", MSG_TYPE, {"column_name": ref.text, "data_type": data_type})
    read = _reader(col)
    if op in ("=", "!=") and node.values[0] is NULL:
        op = "is_null" if op == "=" else "is_not_null"
    if op == "is_null":
        return lambda record: read(record) is None
    if op == "is_not_null":
        return lambda record: read(record) is not None
    if op in ("like", "not_like"):
        if data_type not in V.TEXT | V.PICKLIST | V.MULTI_PICKLIST:
            raise _bad_operator(col, ref, op)
        raw = node.values[0]
        if not isinstance(raw, str):
            raise _bad_value(col, ref, raw)
        regex = _like_regex(raw.casefold())
        if op == "like":
            return lambda record: (x := read(record)) is not None and regex.fullmatch(x) is not None
        return lambda record: (x := read(record)) is not None and regex.fullmatch(x) is None
    if op in ("in", "not_in"):
        if len(node.values) > MAX_IN_VALUES:
            raise _limit_exceeded("where", MAX_IN_VALUES, operator=op.replace("_", " "), column_name=ref.text)
        if data_type in V.BOOLEAN:
            raise _bad_operator(col, ref, op)
        wanted = frozenset(_coerce(col, ref, v) for v in node.values if v is not NULL)
        if op == "in":
            return lambda record: (x := read(record)) is not None and x in wanted
        return lambda record: (x := read(record)) is not None and x not in wanted
    if op in ("between", "not_between"):
        if data_type not in _ORDERED:
            raise _bad_operator(col, ref, op)
        low, high = (_coerce(col, ref, v) for v in node.values)
        if low is NULL or high is NULL:
            raise _bad_value(col, ref, "null")
        if op == "between":
            return lambda record: (x := read(record)) is not None and low <= x <= high
        return lambda record: (x := read(record)) is not None and not (low <= x <= high)
    value = _coerce(col, ref, node.values[0])
    if op == "=":
        return lambda record: (x := read(record)) is not None and x == value
    if op == "!=":
        return lambda record: (x := read(record)) is not None and x != value
    if data_type not in _ORDERED:
        raise _bad_operator(col, ref, op)
    return V.ordered(read, op, value)


def _compile_where(node: Compare | Logic, resolver: _Resolver) -> Predicate:
    if isinstance(node, Compare):
        return _compile_compare(node, resolver)
    left = _compile_where(node.left, resolver)
    right = _compile_where(node.right, resolver)
    if node.op == "and":
        return lambda record: left(record) and right(record)
    return lambda record: left(record) or right(record)


# --- select, order, page -----------------------------------------------------------------------


def _output(col: Column) -> Callable[[Record], Any]:
    get = col.get
    if col.data_type in V.LOOKUP | V.USER_LOOKUP:
        # COQL answers lookups as {"id": ...} only (reference); follow a dot path for more.
        return lambda record: (
            {"id": x["id"]} if isinstance(x := get(record), dict) and x.get("id") is not None else None
        )
    return get


def _sort_key(col: Column) -> Callable[[Record], Any]:
    read = _reader(col)
    if col.data_type in V.LOOKUP | V.USER_LOOKUP:
        # Sort a lookup by the name the user sees.
        name = lambda record: (
            x["name"].casefold() if isinstance(x := col.get(record), dict) and isinstance(x.get("name"), str) else None
        )
        read = name
    return read


def _check_limits(query: Query) -> tuple[int, int]:
    if len(query.columns) > MAX_COLUMNS:
        raise _limit_exceeded("select", MAX_COLUMNS)
    if query.where is not None and _count(query.where) > MAX_CRITERIA:
        raise _limit_exceeded("where", MAX_CRITERIA)
    if len(query.order) > MAX_ORDER_BY:
        raise _limit_exceeded("order by", MAX_ORDER_BY)
    if len(query.group) > MAX_GROUP_BY:
        raise _limit_exceeded("group by", MAX_GROUP_BY)
    if sum(1 for item in query.columns if isinstance(item.expr, Aggregate)) > MAX_AGGREGATES:
        raise _limit_exceeded("select", MAX_AGGREGATES, reason="aggregate functions")
    limit = DEFAULT_LIMIT if query.limit is None else query.limit
    offset = query.offset or 0
    if limit < 1:
        raise EmulatorError("INVALID_QUERY", MSG_INVALID, {"clause": "limit", "reason": "limit must be at least 1"})
    if limit > MAX_LIMIT:
        raise _limit_exceeded("limit", MAX_LIMIT)
    if offset + limit > MAX_REACH:
        raise _limit_exceeded("offset", MAX_REACH)
    return limit, offset


def filter_sort_slice(
    records: Iterable[Record],
    predicate: Predicate,
    order: list[tuple[Callable[[Record], Any], bool]],
    offset: int,
    limit: int,
) -> tuple[list[Record], bool]:
    """The records matching ``predicate`` in ``order`` (ascending id last), ``offset``..+``limit``,
    and whether more match. One function, so an index lookup (ids in a range) can replace it."""
    matches = [record for record in records if predicate(record)]
    # Default order is ascending id (COQL-Overview); it is also the final tie-break.
    matches.sort(key=lambda record: V.id_key(record.get("id")))
    matches = _ordered(matches, order)
    return matches[offset : offset + limit], len(matches) > offset + limit


def _modified_from(where: Compare | Logic | None, resolver: _Resolver) -> str | None:
    """The lowest Modified_Time a top-level ``and`` of the where clause allows (``Modified_Time >
    / >= / = '...'``, as an incremental read asks), as the text records hold; None: not bounded.
    The predicate still runs on each record from there, so the answer is exactly a scan's."""
    low: str | None = None
    for node in conjuncts(where):
        if not isinstance(node, Compare) or node.op not in (">", ">=", "=") or len(node.ref.parts) != 1:
            continue
        col = resolver.column(node.ref)
        if col.key != "Modified_Time" or col.data_type not in V.DATETIME or len(node.values) != 1:
            continue
        bound = _coerce(col, node.ref, node.values[0])
        if isinstance(bound, str) and (low is None or bound > low):
            low = bound
    return low


def _ordered(items: list[Any], order: list[tuple[Callable[[Any], Any], bool]]) -> list[Any]:
    """Stable multi-key sort; nulls first ascending, last descending (as MySQL, which COQL follows)."""
    for key, descending in reversed(order):
        present = [r for r in items if key(r) is not None]
        missing = [r for r in items if key(r) is None]
        present.sort(key=key, reverse=descending)  # Python's sort is stable, also in reverse
        items = present + missing if descending else missing + present
    return items


def run_coql(select_query: str, catalog: Catalog) -> tuple[list[dict], bool]:
    """Run one COQL select; returns (rows, more_records). Raises EmulatorError like Zoho."""
    query = parse_query(select_query)
    limit, offset = _check_limits(query)
    fields = catalog.fields(query.module)
    if fields is None:
        raise EmulatorError("INVALID_QUERY", MSG_INVALID, {"module": query.module, "reason": "invalid module"})
    resolver = _Resolver(catalog, query.module, fields)
    predicate = _compile_where(query.where, resolver) if query.where is not None else (lambda record: True)
    if query.group or any(isinstance(item.expr, Aggregate) for item in query.columns):
        return _run_aggregate(query, resolver, catalog.records(query.module), predicate, limit, offset)

    # Zoho's v8 COQL limits: at most 15 joins (lookups followed) in the SELECT column
    # (https://zoho.com/crm/developer/docs/api/v8/COQL-Limitations.html).
    joins = {
        ref.parts[:k] for item in query.columns if isinstance(ref := item.expr, Ref) for k in range(1, len(ref.parts))
    }
    if len(joins) > MAX_SELECT_JOINS:
        raise _limit_exceeded("select", MAX_SELECT_JOINS, reason="joins")
    columns: list[Column] = []
    seen: set[str] = set()
    for item in query.columns:
        assert isinstance(item.expr, Ref)
        col = resolver.column(item.expr)
        if col.key not in seen:
            seen.add(col.key)
            columns.append(col)

    order: list[tuple[Callable[[Record], Any], bool]] = []
    ordered_keys: set[str] = set()
    for expr, descending in query.order:
        if not isinstance(expr, Ref):
            raise EmulatorError(
                "INVALID_QUERY", MSG_INVALID, {"clause": "order by", "reason": "aggregate without group by"}
            )
        col = resolver.column(expr)
        if col.key in ordered_keys:
            raise _duplicate("order by", expr.text)
        ordered_keys.add(col.key)
        order.append((_sort_key(col), descending))

    low, high = id_bounds(query.where)
    since = _modified_from(query.where, resolver)
    narrow = getattr(catalog, "records_modified_from", None) if since is not None else None
    if narrow is not None and (low is not None or high is not None):
        # Both bounds: the index that leaves fewer records to test. A mirror's read of changes in
        # id ranges asks for the few changed records of a wide range (and right after the edits,
        # when the id index, dropped by every write, would first be rebuilt: a sort of the module).
        size = getattr(catalog, "modified_from_size", None)
        if size is None or size(query.module, since) > _FEW:
            narrow = None
    if narrow is not None:
        assert since is not None
        records = narrow(query.module, since)
    elif low is not None or high is not None:
        records = catalog.records_between(query.module, low, high)
    else:
        records = catalog.records(query.module)
    page, more = filter_sort_slice(records, predicate, order, offset, limit)
    readers = [(col.key, _output(col)) for col in columns]
    rows = []
    for record in page:
        row = {key: read(record) for key, read in readers}
        row["id"] = record.get("id")
        rows.append(row)
    return rows, more


# --- aggregates --------------------------------------------------------------------------------


def _duplicate(clause: str, column: str) -> EmulatorError:
    return EmulatorError("DUPLICATE_DATA", "duplicate data", {"clause": clause, "column_name": column})


_AGG_TYPES = {
    "SUM": V.NUMERIC,
    "AVG": V.NUMERIC,
    "MIN": _ORDERED - frozenset({"id"}),
    "MAX": _ORDERED - frozenset({"id"}),
}


@dataclass(frozen=True)
class _AggColumn:
    key: str  # the answer's key: the alias, else e.g. "SUM(Annual_Revenue)"
    text: str  # canonical text, to match ORDER BY and to find duplicates
    compute: Callable[[list[Record]], Any]


def _aggregate_column(agg: Aggregate, alias: str | None, resolver: _Resolver) -> _AggColumn:
    col = resolver.column(agg.ref)
    allowed = _AGG_TYPES.get(agg.func)
    if allowed is not None and col.data_type not in allowed:
        raise EmulatorError(
            "INVALID_QUERY", MSG_TYPE, {"column_name": agg.ref.text, "data_type": col.data_type, "function": agg.func}
        )
    get = col.get
    compute: Callable[[list[Record]], Any]
    if agg.func == "COUNT":
        compute = lambda records: sum(1 for r in records if get(r) not in (None, "", []))
    else:
        read = _reader(col) if col.data_type in V.NUMERIC else (lambda r: x if isinstance(x := get(r), str) else None)
        func = agg.func

        def compute(records: list[Record]) -> Any:
            values: list[Any] = [x for r in records if (x := read(r)) is not None]
            if not values:
                return None
            if func == "SUM":
                total = sum(values)
                return round(total, 2) if isinstance(total, float) else total
            if func == "AVG":
                return round(sum(values) / len(values), 2)
            return min(values) if func == "MIN" else max(values)

    text = f"{agg.func}({col.key})"
    return _AggColumn(alias or agg.text, text.casefold(), compute)


def _run_aggregate(
    query: Query,
    resolver: _Resolver,
    records: Iterable[Record],
    predicate: Predicate,
    limit: int,
    offset: int,
) -> tuple[list[dict], bool]:
    """Filter, group by the GROUP BY columns, aggregate each group, order the groups, slice."""
    group_cols: list[Column] = []
    for ref in query.group:
        col = resolver.column(ref)
        if col.data_type in ("textarea",) or col.data_type in V.MULTI_PICKLIST:
            raise EmulatorError("INVALID_QUERY", MSG_TYPE, {"column_name": ref.text, "data_type": col.data_type})
        if any(c.key == col.key for c in group_cols):
            raise _duplicate("group by", ref.text)
        group_cols.append(col)
    group_keys = {c.key for c in group_cols}

    outputs: list[tuple[str, str, Callable[[list[Record]], Any]]] = []  # (answer key, match text, compute)
    aliases: set[str] = set()
    seen_aggs: set[str] = set()
    for item in query.columns:
        if item.alias is not None:
            if item.alias.casefold() in aliases:
                raise EmulatorError("DUPLICATE_ALIAS", "duplicate alias", {"alias": item.alias})
            aliases.add(item.alias.casefold())
        if isinstance(item.expr, Aggregate):
            agg = _aggregate_column(item.expr, item.alias, resolver)
            if agg.text in seen_aggs:
                raise _duplicate("select", item.expr.text)
            seen_aggs.add(agg.text)
            outputs.append((agg.key, agg.text, agg.compute))
            continue
        col = resolver.column(item.expr)
        if col.key not in group_keys:
            raise EmulatorError(
                "INVALID_QUERY",
                MSG_INVALID,
                {"column_name": item.expr.text, "reason": "a selected column must be in the group by clause"},
            )
        outputs.append((item.alias or col.key, col.key.casefold(), _first(_output(col))))

    groups: dict[tuple[Any, ...], list[Record]] = {}
    readers = [_reader(c) for c in group_cols]
    for record in records:
        if predicate(record):
            groups.setdefault(tuple(read(record) for read in readers), []).append(record)
    if not group_cols and not groups:
        groups[()] = []  # an aggregate over no rows is still one answer row (COUNT 0), as in SQL

    rows: list[Group] = []
    for members in groups.values():
        rows.append(({key: compute(members) for key, _text, compute in outputs}, members))

    order: list[tuple[Callable[[Any], Any], bool]] = []
    ordered: set[str] = set()
    by_text = {text: key for key, text, _compute in outputs}
    by_alias = {key.casefold(): key for key, _text, _compute in outputs}
    for expr, descending in query.order:
        if isinstance(expr, Aggregate):
            agg = _aggregate_column(expr, None, resolver)
            text, name = agg.text, by_text.get(agg.text)
            if name is None:  # ordered by an aggregate not selected: compute it per group
                order.append((_by_members(agg.compute), descending))
        else:
            name = by_alias.get(expr.text.casefold())
            if name is None:
                col = resolver.column(expr)
                if col.key not in group_keys:
                    raise EmulatorError(
                        "INVALID_QUERY",
                        MSG_INVALID,
                        {"column_name": expr.text, "reason": "order by a column that is not grouped"},
                    )
                name = by_text.get(col.key.casefold())
                if name is None:
                    order.append((_by_first(_sort_key(col)), descending))
            text = (name or expr.text).casefold()
        if text in ordered:
            raise _duplicate("order by", expr.text)
        ordered.add(text)
        if name is not None:
            order.append((_by_answer(name), descending))
    if not query.order:  # groups in the order of their keys
        order = [(_by_first(read), False) for read in readers]
    rows = _ordered(rows, order)
    page = rows[offset : offset + limit]
    return [row for row, _members in page], len(rows) > offset + limit


Group = tuple[dict[str, Any], list[Record]]  # (answer row, the records in the group)


def _first(read: Callable[[Record], Any]) -> Callable[[list[Record]], Any]:
    return lambda members: read(members[0])


def _by_first(read: Callable[[Record], Any]) -> Callable[[Group], Any]:
    return lambda group: read(group[1][0])


def _by_members(compute: Callable[[list[Record]], Any]) -> Callable[[Group], Any]:
    return lambda group: _sortable(compute(group[1]))


def _by_answer(name: str) -> Callable[[Group], Any]:
    return lambda group: _sortable(group[0][name])


def _sortable(value: Any) -> Any:
    """An answer value as a sort key: lookups by their id, text ignoring case."""
    if isinstance(value, dict):
        return str(value.get("id"))
    if isinstance(value, str):
        return value.casefold()
    return value
