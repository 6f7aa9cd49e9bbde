"""Values as the API speaks them (JSON-native), and checks against field metadata: shared by the
core (a lost write is read back and compared here) and by bulk edits (``sergas_nb.edits.checks``
re-exports this module).

Validation reuses sergas_nb.frames (the rules the client's writes enforce), naming records by id.
A plan compares, journals and sends JSON-native values (the shape of records in API answers):
typed DataFrame cells (pd.NA, Timestamp, numpy scalars, categories) are turned into those first,
so "old == new" means what the CRM would consider equal, and the journal holds what the API returned.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from sergas_nb import frames
from sergas_nb.errors import Problem, ZohoValidationError

# Writable in the API but not as "one value per record" edits (files, subforms, multi-lookups).
NOT_EDITABLE_TYPES = frozenset({"fileupload", "imageupload", "subform", "multiselectlookup"})
LOOKUP_TYPES = frozenset({"lookup", "ownerlookup", "userlookup"})


is_missing = frames.is_missing  # None, pd.NA, NaN, NaT (not an empty list)


def is_lookup(meta: Mapping[str, Any]) -> bool:
    """Whether a field points at another record or a user (written by id)."""
    return str(meta.get("data_type")) in LOOKUP_TYPES


def to_json_value(value: Any, data_type: str | None = None) -> Any:
    """``value`` as the API's JSON would carry it for a field of ``data_type`` (None = guess)."""
    if isinstance(value, list | tuple | np.ndarray | pd.Series):
        items = [to_json_value(v) for v in list(value)]
        return sorted(items, key=str) if data_type == "multiselectpicklist" else items
    if is_missing(value):
        return None
    if isinstance(value, Mapping):
        if data_type in LOOKUP_TYPES:
            return {"id": str(value["id"])} if value.get("id") is not None else None
        return {str(k): to_json_value(v) for k, v in value.items()}
    if data_type in LOOKUP_TYPES:
        return {"id": str(value)}  # a bare id is how analysts name a lookup target
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if data_type == "date" or (data_type is None and value.tzinfo is None and value.time() == dt.time()):
            return value.date().isoformat()
        if value.tzinfo is None:  # naive datetimes are taken as UTC, like the typed frames' values
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).replace(microsecond=0).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if data_type in ("integer", "bigint") and isinstance(value, float) and value.is_integer():
        return int(value)
    if data_type in ("double", "currency", "percent") and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def answered_json_value(value: Any, field: Mapping[str, Any] | None) -> Any:
    """A value as an API answer carries it, made what :func:`to_json_value` gives for the same
    answer's typed-frame cell (lookups by id, datetimes in UTC, multi-selects sorted), without
    building the frame: a plan judges what the CRM holds against values taken from typed frames.
    ``tests/edits/test_answered_values.py`` holds the two ways equal for every field the emulator has."""
    data_type = field.get("data_type") if field else None
    kind = frames.kind_of(field)
    if value is None:
        return [] if kind == frames.MULTI else None  # the frame's multi-select cell: an empty list
    if kind in (frames.LOOKUP, frames.USER, frames.POLY):
        link = frames.sub_value(value, "id")  # the frame's "<field>.id" column
        return to_json_value(None if link is None else str(link), data_type)
    if kind in (frames.TEXT, frames.PICK) and not isinstance(value, list | dict):
        return to_json_value(value if isinstance(value, str) else str(value), data_type)
    if kind in (frames.DATE, frames.DATETIME):
        return to_json_value(pd.Timestamp(value), data_type)
    if kind == frames.MULTI and not isinstance(value, list | tuple):
        value = [value]
    return to_json_value(value, data_type)


def same_value(a: Any, b: Any) -> bool:
    """Equality of two JSON-native values the way the CRM sees them (lookups by id, lists unordered)."""
    if isinstance(a, dict) and isinstance(b, dict) and "id" in a and "id" in b:
        return str(a["id"]) == str(b["id"])
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(str, a)) == sorted(map(str, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=0, abs_tol=1e-9)
    return a == b


def field_map(fields: Any) -> dict[str, dict[str, Any]]:
    """Field metadata as {api_name: field dict}, from a client's fields() frame, a list or a dict."""
    if isinstance(fields, pd.DataFrame):
        # a frame fills absent keys with NaN, which would read as "true" (read_only, system_mandatory)
        fields = [
            {k: v for k, v in row.items() if not (is_missing(v) if not isinstance(v, list | dict) else False)}
            for row in fields.to_dict("records")
        ]
    return frames.field_map(fields)


def field_problems(module: str, field: str, fields: Mapping[str, Mapping[str, Any]]) -> list[Problem]:
    """Why ``field`` cannot be bulk-edited at all (unknown, read-only, a type this tool does not edit)."""
    meta = fields.get(field)
    if meta is None:
        return [Problem(field, f"unknown field for module {module}")]
    data_type = str(meta.get("data_type") or "")
    if frames.is_read_only(meta) or field == "id":
        return [Problem(field, f"read-only field ({data_type or 'system'}) cannot be edited")]
    if data_type in NOT_EDITABLE_TYPES:
        return [Problem(field, f"{data_type} fields are not supported by bulk edits")]
    return []


def check_ids(ids: Iterable[Any], *, unique: bool = False) -> list[str]:
    """Record ids as clean strings of digits, or one ZohoValidationError naming each bad one (by
    position); ``unique``: a repeated id is an error too."""
    problems, clean, seen = [], [], set()
    for pos, i in enumerate(ids):
        try:
            rid = frames._check_id(i)
        except frames._Bad as bad:
            problems.append(Problem("id", str(bad), pos, i))
            continue
        if unique and rid in seen:
            problems.append(Problem("id", "duplicate id", pos, i))
        seen.add(rid)
        clean.append(rid)
    if problems:
        raise ZohoValidationError(problems)
    return clean


def value_problems(field: str, meta: Mapping[str, Any], rows: Sequence[tuple[str, Any]]) -> list[Problem]:
    """Problems of (record id, JSON-native new value) pairs, by the same rules the client's writes use."""
    problems = [
        Problem(field, "mandatory field cannot be emptied", row=rid, value=None)
        for rid, value in rows
        if value is None and meta.get("system_mandatory")
    ]
    try:
        frames.to_payload([{"id": rid, field: value} for rid, value in rows], {field: meta}, "update")
    except ZohoValidationError as exc:
        # frames names rows by position; a bulk edit names them by record id.
        problems += [
            Problem(p.field, p.reason, row=rows[p.row][0] if isinstance(p.row, int) else p.row, value=p.value)
            for p in exc.problems
        ]
    return problems
