"""COQL text: the shape of a SELECT, and Zoho search criteria translated to a COQL condition. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

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
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
