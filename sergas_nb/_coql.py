"""COQL text: the shape of a SELECT, aggregate answers as typed frames, and Zoho search criteria
translated to a COQL condition. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sergas_nb import frames
from sergas_nb.errors import Problem, ZohoValidationError

_COQL_SELECT = re.compile(r"^\s*select\s+(.+?)\s+from\s+([A-Za-z0-9_]+)", re.IGNORECASE | re.DOTALL)


def coql_shape(query: str) -> tuple[str, list[str] | None]:
    """(module, selected field names) of a COQL SELECT; names None when not plain fields."""
    m = _COQL_SELECT.match(query)
    if not m:
        raise ZohoValidationError(
            [Problem("query", "expected a COQL query: select <fields> from <module> ...", None, query)]
        )
    cols = [c.strip() for c in m.group(1).split(",")]
    names = None if any(not re.fullmatch(r"[A-Za-z0-9_.$]+", c) for c in cols) else cols
    return m.group(2), names


_AGGREGATE_ITEM = re.compile(
    r"^(?:(?P<func>count|sum|min|max|avg)\s*\(\s*(?P<arg>[A-Za-z0-9_.]+)\s*\)|(?P<field>[A-Za-z0-9_.]+))"
    r"(?:\s+as\s+(?P<alias>[A-Za-z0-9_]+))?$",
    re.IGNORECASE,
)
_GROUP_BY = re.compile(r"\bgroup\s+by\b", re.IGNORECASE)


@dataclass(frozen=True)
class SelectItem:
    """One column of an aggregate SELECT: the answer's key, the function (None for a grouped field), the field."""

    key: str
    func: str | None
    field: str


def aggregate_select(query: str) -> list[SelectItem] | None:
    """The select list of an aggregate query (COUNT/SUM/MIN/MAX/AVG or GROUP BY); None for a plain one.

    An aggregate's answer key is its alias, else its text with the function in capitals
    (``SUM(Annual_Revenue)``), as the answer rows carry it.
    """
    m = _COQL_SELECT.match(query)
    if not m:
        return None
    items: list[SelectItem] = []
    for raw in (c.strip() for c in m.group(1).split(",")):
        item = _AGGREGATE_ITEM.match(raw)
        if item is None:
            return None
        func, alias = item.group("func"), item.group("alias")
        if func:
            field = item.group("arg")
            items.append(SelectItem(alias or f"{func.upper()}({field})", func.upper(), field))
        else:
            items.append(SelectItem(alias or item.group("field"), None, item.group("field")))
    unquoted = re.sub(r"'(?:[^'\\]|\\.)*'", "''", query)
    if not any(i.func for i in items) and not _GROUP_BY.search(unquoted):
        return None
    return items


def aggregate_frame(
    rows: Sequence[Mapping[str, Any]], items: Sequence[SelectItem], meta: frames.FieldsMeta
) -> pd.DataFrame:
    """Aggregate answer rows as a typed frame, one column per select item (no ``id``):
    counts Int64, sums and averages Float64, MIN/MAX and grouped fields typed like their field."""
    columns: dict[str, Any] = {}
    for item in items:
        values = [_value(row, item.key) for row in rows]
        if item.func == "COUNT":
            columns[item.key] = pd.array(values, dtype="Int64")
        elif item.func in ("SUM", "AVG"):
            columns[item.key] = pd.array([None if v is None else float(v) for v in values], dtype="Float64")
        else:  # a grouped field, MIN or MAX: the field's own type (lookups answer {"id"}: their id)
            typed = frames.to_frame([{item.field: v} for v in values], meta, [item.field])
            if f"{item.field}.id" in typed.columns:
                columns[item.key if item.func else f"{item.key}.id"] = typed[f"{item.field}.id"].array
            else:
                columns[item.key] = typed[item.field].array
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))


def _value(row: Mapping[str, Any], key: str) -> Any:
    if key in row:
        return row[key]
    folded = key.casefold()
    return next((v for k, v in row.items() if k.casefold() == folded), None)


def has_limit(query: str) -> bool:
    """Whether the query has its own LIMIT (outside quoted literals)."""
    return re.search(r"\blimit\b", re.sub(r"'(?:[^'\\]|\\.)*'", "''", query), re.IGNORECASE) is not None


_CRIT_RE = re.compile(r"\(\s*([A-Za-z0-9_.]+)\s*:\s*([a-z_]+)\s*:\s*((?:[^()\\]|\\.)*)\)")
_OPS = {
    "equals": "=",
    "not_equal": "!=",
    "greater_than": ">",
    "greater_equal": ">=",
    "less_than": "<",
    "less_equal": "<=",
}
_NUMERIC = {frames.INT, frames.FLOAT}


def criteria_to_coql(where: str, fmap: Mapping[str, Mapping[str, Any]]) -> str:
    """A COQL condition from Zoho search criteria ``((A:equals:x)and(B:greater_than:5))``;
    anything not in that syntax is taken to be COQL already and returned as is."""
    text = where.strip()
    if not _CRIT_RE.search(text):
        return text
    problems: list[Problem] = []

    def one(m: re.Match[str]) -> str:
        name, op, raw = m.group(1), m.group(2), m.group(3)
        base = name.split(".", 1)[0]
        field = fmap.get(base)
        if field is None and name != "id":
            problems.append(Problem(name, "unknown field in criteria", None, raw))
            return "id is not null"
        values = [v.replace("\\,", ",").replace("\\(", "(").replace("\\)", ")") for v in re.split(r"(?<!\\),", raw)]
        numeric = field is not None and frames.kind_of(field) in _NUMERIC
        lit = [_literal(v, numeric) for v in values]
        column = (
            name
            if field is None or frames.kind_of(field) not in (frames.LOOKUP, frames.USER) or "." in name
            else f"{name}.id"
        )
        if op in _OPS:
            return f"{column} {_OPS[op]} {lit[0]}"
        if op == "starts_with":
            return f"{column} like {_literal(values[0] + '%', False)}"
        if op == "in":
            return f"{column} in ({', '.join(lit)})"
        if op == "between" and len(lit) == 2:
            return f"{column} between {lit[0]} and {lit[1]}"
        problems.append(Problem(name, f"operator {op!r} cannot be translated to COQL", None, raw))
        return "id is not null"

    out = _CRIT_RE.sub(lambda m: "(" + one(m) + ")", text)
    if problems:
        raise ZohoValidationError(problems)
    return re.sub(r"\)\s*(and|or)\s*\(", lambda m: f") {m.group(1).lower()} (", out, flags=re.IGNORECASE)


def _literal(value: str, numeric: bool) -> str:
    v = value.strip()
    if numeric and re.fullmatch(r"-?\d+(\.\d+)?", v):
        return v
    if v.lower() in ("true", "false"):
        return v.lower()
    return quote(v)


def quote(value: Any) -> str:
    """A COQL string literal (backslash and quote escaped): the one quoting rule for every query."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


_FROM = re.compile(r"\bfrom\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


def coql_module(query: str) -> str:
    """The module a COQL query reads (its ``from``); a ValueError (ZohoValidationError) if none."""
    match = _FROM.search(query)
    if not match:
        raise ZohoValidationError([Problem("query", "the COQL query has no 'from <Module>'", None, query)])
    return match.group(1)
