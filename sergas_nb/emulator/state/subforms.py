"""Subform writes: a subform field (the Deals subform ``Line_Items``) is written as an array of rows
on its parent record, in an insert, update or upsert of the parent.

What Zoho documents ("Update Subform Data",
https://www.zoho.com/crm/developer/docs/api/v7/update-subforms.html, the v8 page
https://www.zoho.com/crm/developer/docs/api/v8/update-subforms.html says the same; its notes and
sample inputs):

- a row with the ``id`` of an existing row of this record updates that row (only the keys sent
  change; ``{"id": ...}`` alone keeps it as it is);
- a row without ``id`` is appended as a new row with a new id;
- a row with ``id`` and the key ``"_delete": null`` removes that row;
- rows the request leaves out stay as they are (an update "appends the provided data with the
  existing data");
- an empty array, ``"Line_Items": []``, removes every row;
- a record's subform holds at most 100 rows (https://www.zoho.com/crm/developer/docs/api/v8/subforms.html,
  Enterprise edition limits).

Each stored row carries ``Parent_Id`` ``{"name", "id"}`` of its parent (as Zoho's Get Subform
Data sample answers it) and its own ``Created_Time`` / ``Modified_Time``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Row = dict[str, Any]
MAX_ROWS = 100
DELETE = "_delete"
# Keys of a row Zoho fills itself: sent values are ignored.
_SYSTEM = ("Parent_Id", "Created_Time", "Modified_Time")


class RowError(ValueError):
    """A subform row Zoho refuses; ``where`` is the JSON path below the field, ``code`` Zoho's code."""

    def __init__(self, message: str, where: str = "", code: str = "INVALID_DATA", **details: Any) -> None:
        super().__init__(message)
        self.where, self.code, self.details = where, code, details


def merge_rows(
    existing: list[Row] | None,
    value: Any,
    fields: dict[str, dict[str, Any]],
    coerce: Callable[[dict[str, Any], Any, str], Any],
    new_id: Callable[[], str],
    now: str,
) -> list[Row]:
    """The subform's rows after a write of ``value`` (the array sent for the field).

    ``fields``: the subform's own fields by API name; ``coerce(field, value, where)`` checks one
    cell and returns it in stored shape (raising the store's own error); ``new_id`` gives a row id.
    Raises RowError naming the row (``[i]``) and key."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise RowError("invalid data", "", expected_data_type="jsonarray")
    if not value:
        return []
    rows = [dict(r) for r in existing or []]
    by_id = {str(r["id"]): k for k, r in enumerate(rows)}
    dropped: set[str] = set()
    for i, item in enumerate(value):
        where = f"[{i}]"
        if not isinstance(item, dict):
            raise RowError("invalid data", where, expected_data_type="jsonobject")
        rid = item.get("id")
        if rid is not None:
            rid = str(rid)
            if rid not in by_id or rid in dropped:
                raise RowError("the id given seems to be invalid", where + ".id")
        if DELETE in item:
            if rid is None:
                raise RowError("the id given seems to be invalid", where + ".id")
            dropped.add(rid)
            continue
        cells: Row = {}
        for key, cell in item.items():
            if key in ("id", *_SYSTEM) or key not in fields:
                continue  # Zoho ignores keys that are not (writable) fields of the subform
            cells[key] = coerce(fields[key], cell, f"{where}.{key}")
        if rid is None:
            row: Row = {"id": new_id()}
            row.update((name, None) for name in fields if name not in _SYSTEM)
            row.update(cells)
            row.update({"Parent_Id": None, "Created_Time": now, "Modified_Time": now})
            by_id[row["id"]] = len(rows)
            rows.append(row)
        elif cells:
            k = by_id[rid]
            rows[k] = {**rows[k], **cells, "Modified_Time": now}
    out = [r for r in rows if str(r["id"]) not in dropped]
    if len(out) > MAX_ROWS:
        # One of the messages Zoho's v8 OpenAPI file (record.json, API_Exception) lists for this code.
        raise RowError("Record insertion limit has been exceeded.", "", code="LIMIT_EXCEEDED", limit=MAX_ROWS)
    return out


def attach(rows: list[Row], parent_id: str, parent_name: Any) -> list[Row]:
    """The rows with ``Parent_Id`` naming their parent (new rows, or a renamed parent)."""
    link = {"name": parent_name, "id": parent_id}
    return [r if r.get("Parent_Id") == link else {**r, "Parent_Id": link} for r in rows]
