"""Field-type families and value parsing shared by the criteria and COQL compilers.

The store keeps records in API JSON shape: dates "YYYY-MM-DD", datetimes
"YYYY-MM-DDTHH:MM:SS+00:00" (UTC, so plain string comparison orders them correctly).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

NUMERIC = frozenset({"integer", "bigint", "double", "currency", "percent", "decimal", "long"})
INTEGRAL = frozenset({"integer", "bigint", "long"})
TEXT = frozenset({"text", "textarea", "email", "phone", "website", "autonumber"})
PICKLIST = frozenset({"picklist"})
MULTI_PICKLIST = frozenset({"multiselectpicklist"})
USER_LOOKUP = frozenset({"ownerlookup", "userlookup"})
LOOKUP = frozenset({"lookup"})
BOOLEAN = frozenset({"boolean"})
DATE = frozenset({"date"})
DATETIME = frozenset({"datetime"})

# The record id is not listed by /settings/fields but both languages accept it.
ID_FIELD: dict[str, Any] = {"api_name": "id", "data_type": "bigint", "json_type": "string"}

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def find_field(fields: dict[str, dict], name: str) -> dict[str, Any] | None:
    """The field called ``name`` (Zoho tolerates API names in another letter case), ``ID_FIELD``
    for the record id, or None."""
    found = fields.get(name)
    if found is None:
        lowered = name.lower()
        found = next((f for key, f in fields.items() if key.lower() == lowered), None)
        if found is None and lowered == "id":
            found = ID_FIELD
    return found


def utc_text(moment: datetime) -> str | None:
    """``moment`` in the store's datetime form (a naive one is read as UTC); None when the shift to
    UTC leaves the representable years (``0001-01-01T00:00:00+05:00``)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    except OverflowError:
        return None


def effective_type(field: dict[str, Any]) -> str:
    """The data type values are compared as: formulas and rollups by their return type."""
    data_type = str(field.get("data_type") or "text")
    if data_type in ("formula", "rollup_summary"):
        detail = field.get("formula") or field.get("rollup_summary") or {}
        return_type = detail.get("return_type") if isinstance(detail, dict) else None
        return str(return_type or "text")
    if field.get("api_name") == "id":
        return "id"
    return data_type


def lookup_module(field: dict[str, Any]) -> str | None:
    """API name of the module a lookup field points at (None if the metadata does not say)."""
    lookup = field.get("lookup") or {}
    module = lookup.get("module") if isinstance(lookup, dict) else None
    if isinstance(module, dict):
        return module.get("api_name")
    if isinstance(module, str):
        return module
    return None


def parse_number(text: str, data_type: str) -> int | float | None:
    """Parse a criteria/COQL number for a field of ``data_type``; None when it is not one."""
    text = text.strip()
    try:
        if data_type in INTEGRAL:
            return int(text)
        value = float(text)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):  # NaN / infinities are not data
        return None
    return value


def parse_date(text: str) -> str | None:
    """'YYYY-MM-DD' if ``text`` is a real calendar date, else None."""
    text = text.strip()
    if not _DATE_RE.match(text):
        return None
    try:
        date.fromisoformat(text)
    except ValueError:
        return None
    return text


def parse_datetime(text: str) -> str | None:
    """An ISO 8601 datetime normalised to the store's UTC form, else None.

    Zoho wants an offset (``2024-03-01T09:30:00+05:30``); a missing offset is read as UTC.
    A '+' that arrived as a space (un-encoded in a URL) is repaired.
    """
    text = text.strip()
    if "T" not in text:
        return None
    if len(text) > 19 and text[19] == " ":
        text = text[:19] + "+" + text[20:]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return utc_text(moment)


def parse_id(text: str) -> int | None:
    """A record id given as text; None unless ASCII digits (``"²".isdigit()`` is true, ``int("²")`` fails)."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def parse_boolean(text: str) -> bool | None:
    lowered = text.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return None


def id_key(value: Any) -> int:
    """Record ids are digit strings; compare them as integers so order matches creation."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


_ORDER_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def ordered(read: Callable[[dict[str, Any]], Any], op: str, value: Any) -> Callable[[dict[str, Any]], bool]:
    """``record -> read(record) <op> value`` (op: > >= < <=); a missing value never matches."""
    cmp = _ORDER_OPS[op]
    return lambda record: (x := read(record)) is not None and cmp(x, value)
