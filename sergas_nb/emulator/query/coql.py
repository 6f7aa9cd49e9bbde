"""COQL (POST /crm/v8/coql): validate a parsed select query against field metadata, compile the
where clause into one Python predicate, then filter, sort and page the module's records.

Limits (COQL-Limitations v8 and /work/shared/reference/zoho-crm-v8.md): 2,000 rows a call
(default 200), LIMIT+OFFSET reach 100,000 rows, 50 selected fields, 25 criteria, 50 values in
``in``, 10 ORDER BY fields (duplicates are DUPLICATE_DATA), no multi-line fields in criteria.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sergas_nb.emulator.errors import EmulatorError
from sergas_nb.emulator.query import values as V
from sergas_nb.emulator.query.coql_grammar import NULL, Compare, Logic, Query, Ref, parse_query
from sergas_nb.emulator.state.index import candidates  # id-range where clauses: bisect, not scan

Record = dict[str, Any]
Predicate = Callable[[Record], bool]

DEFAULT_LIMIT = 200
MAX_LIMIT = 2000
MAX_REACH = 100_000  # offset + limit
MAX_COLUMNS = 50
MAX_CRITERIA = 25
MAX_IN_VALUES = 50
MAX_ORDER_BY = 10

MSG_INVALID = "invalid query formed"
MSG_COLUMN = "column given seems to be invalid"
MSG_VALUE = "value given seems to be invalid for the column"
MSG_TYPE = "data type not supported"

_ORDERED = V.NUMERIC | V.DATE | V.DATETIME | frozenset({"id"})
_USER_INLINE = {"id": "id", "email": "email", "name": "name", "full_name": "name"}


class Catalog(Protocol):
    """What the query needs from the store (contract in /work/contracts.md)."""

    def fields(self, module: str) -> dict[str, dict] | None: ...

    def records(self, module: str) -> Iterable[dict]: ...

    def get(self, module: str, id: str) -> dict | None: ...


@dataclass(frozen=True)
class Column:
    """A resolved column: how to read it from a base record and what type it is."""

    key: str  # key in the answer rows
    data_type: str
    get: Callable[[Record], Any]


def _limit_exceeded(clause: str, limit: int, **extra: Any) -> EmulatorError:
    return EmulatorError("LIMIT_EXCEEDED", "limit exceeded", {"clause": clause, "limit": limit, **extra})


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
    limit = DEFAULT_LIMIT if query.limit is None else query.limit
    offset = query.offset or 0
    if limit < 1:
        raise EmulatorError("INVALID_QUERY", MSG_INVALID, {"clause": "limit", "reason": "limit must be at least 1"})
    if limit > MAX_LIMIT:
        raise _limit_exceeded("limit", MAX_LIMIT)
    if offset + limit > MAX_REACH:
        raise _limit_exceeded("offset", MAX_REACH)
    return limit, offset


def run_coql(select_query: str, catalog: Catalog) -> tuple[list[dict], bool]:
    """Run one COQL select; returns (rows, more_records). Raises EmulatorError like Zoho."""
    query = parse_query(select_query)
    limit, offset = _check_limits(query)
    fields = catalog.fields(query.module)
    if fields is None:
        raise EmulatorError("INVALID_QUERY", MSG_INVALID, {"module": query.module, "reason": "invalid module"})
    resolver = _Resolver(catalog, query.module, fields)

    columns: list[Column] = []
    seen: set[str] = set()
    for ref in query.columns:
        col = resolver.column(ref)
        if col.key not in seen:
            seen.add(col.key)
            columns.append(col)

    order: list[tuple[Column, bool]] = []
    ordered_keys: set[str] = set()
    for ref, descending in query.order:
        col = resolver.column(ref)
        if col.key in ordered_keys:
            raise EmulatorError("DUPLICATE_DATA", "duplicate data", {"clause": "order by", "column_name": ref.text})
        ordered_keys.add(col.key)
        order.append((col, descending))

    predicate = _compile_where(query.where, resolver) if query.where is not None else (lambda record: True)
    matches = [record for record in candidates(catalog, query.module, query.where) if predicate(record)]

    # Default order is ascending id (COQL-Overview); it is also the final tie-break.
    matches.sort(key=lambda record: V.id_key(record.get("id")))
    for col, descending in reversed(order):
        key = _sort_key(col)
        present = [r for r in matches if key(r) is not None]
        missing = [r for r in matches if key(r) is None]
        present.sort(key=key, reverse=descending)  # Python's sort is stable, also in reverse
        # Nulls first ascending, last descending (as MySQL, which COQL is modelled on).
        matches = present + missing if descending else missing + present

    page = matches[offset : offset + limit]
    more = len(matches) > offset + limit
    readers = [(col.key, _output(col)) for col in columns]
    rows = []
    for record in page:
        row = {key: read(record) for key, read in readers}
        row["id"] = record.get("id")
        rows.append(row)
    return rows, more
