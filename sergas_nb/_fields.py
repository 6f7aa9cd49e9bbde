"""Field metadata as one object: fetched once per client and module, resolved from the names an
analyst gives, shown as a frame, and expanded into lookup columns. Reads, writes, Bulk Read and
the assistant (through the client) all use the one :class:`FieldMeta` of a client.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from sergas_nb import frames
from sergas_nb._pipeline import Pipeline
from sergas_nb.errors import Problem, ZohoAPIError, ZohoValidationError

# The field a lookup's "name" shows, per target module (COQL and Bulk Read read it through the lookup).
NAME_FIELDS = {
    "Accounts": "Account_Name",
    "Contacts": "Full_Name",
    "Leads": "Full_Name",
    "Deals": "Deal_Name",
    "Products": "Product_Name",
    "Vendors": "Vendor_Name",
    "Campaigns": "Campaign_Name",
    "Quotes": "Subject",
    "Sales_Orders": "Subject",
    "Purchase_Orders": "Subject",
    "Invoices": "Subject",
    "Cases": "Subject",
    "Solutions": "Solution_Title",
    "Price_Books": "Price_Book_Name",
}

_FRAME_FIRST = [
    "api_name",
    "field_label",
    "data_type",
    "json_type",
    "length",
    "read_only",
    "system_mandatory",
    "custom_field",
    "pick_list_values",
    "lookup",
]


def lookup_columns(name: str, field: Mapping[str, Any] | None) -> dict[str, str] | None:
    """For a lookup field read through COQL or Bulk Read: {column asked for: frame sub-column}
    (``Owner.full_name`` -> ``name``); ``{}`` for other fields; None when the lookup's target has
    no known name field."""
    kind = frames.kind_of(field or {})
    if kind == frames.USER:
        return {f"{name}.full_name": "name", f"{name}.email": "email"}
    if kind == frames.POLY:
        # What_Id / a note's Parent_Id: the module the link points into travels as $se_module.
        return {"$se_module": "module"}
    if kind == frames.LOOKUP:
        target = str((((field or {}).get("lookup") or {}).get("module") or {}).get("api_name"))
        sub = NAME_FIELDS.get(target)
        return None if sub is None else {f"{name}.{sub}": "name"}
    return {}


class FieldMeta:
    """The field metadata of every module one client reads or writes (fetched once each)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.p = pipeline
        self._meta: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def meta(self, module: str) -> list[dict[str, Any]]:
        """Field metadata of ``module``, fetched once per client."""
        if module not in self._meta:
            data = self.p.get("fields", "/crm/v8/settings/fields", {"module": module}, module)
            fields = (data or {}).get("fields")
            if not fields:
                raise ZohoAPIError(f"No field metadata for module {module!r}", code="INVALID_MODULE", status=None)
            with self._lock:
                self._meta[module] = fields
        return self._meta[module]

    def cached(self, module: str) -> bool:
        """Whether ``module``'s metadata is here already (no call to get it)."""
        return module in self._meta

    def field_map(self, module: str) -> dict[str, dict[str, Any]]:
        return frames.field_map(self.meta(module))

    def forget(self, module: str | None = None) -> None:
        with self._lock:
            if module is None:
                self._meta.clear()
            else:
                self._meta.pop(module, None)

    def resolve(self, module: str, fields: Iterable[str] | None) -> list[str]:
        """The fields to read: all when None; ``X.name``/``X.id`` mean lookup X; ``id`` is always
        read. Unknown names: one ZohoValidationError naming each (the one unknown-field check)."""
        meta = self.field_map(module)
        if fields is None:
            return list(meta)
        names = []
        unknown = []
        for f in [fields] if isinstance(fields, str) else fields:
            base = f.split(".", 1)[0] if f not in meta else f
            if base == "id":
                continue
            if base not in meta:
                unknown.append(f)
            names.append(base)
        if unknown:
            raise ZohoValidationError([Problem(f, "unknown field", None, None) for f in unknown])
        return list(dict.fromkeys(names))

    def frame(self, module: str) -> pd.DataFrame:
        """Field metadata as a DataFrame: api_name, field_label, data_type, read_only, ..., and the
        pandas ``dtype`` this toolkit gives the field's column(s)."""
        meta = self.meta(module)
        df = pd.DataFrame(meta)
        for col in _FRAME_FIRST:
            if col not in df:
                df[col] = None
        df = df[_FRAME_FIRST + [c for c in df.columns if c not in _FRAME_FIRST]]
        dtypes = frames.dtypes_for(meta)
        df.insert(
            3,
            "dtype",
            [
                ", ".join(
                    f"{c}: {d}" if c != f["api_name"] else d
                    for c, d in dtypes.items()
                    if c == f["api_name"] or c.startswith(f["api_name"] + ".")
                )
                for f in meta
            ],
        )
        df.insert(4, "writable", [not frames.is_read_only(f) for f in meta])
        return df.astype({"api_name": "string", "field_label": "string", "data_type": "string", "dtype": "string"})


def names_with_lookups(
    meta: Sequence[Mapping[str, Any]], names: Sequence[str]
) -> tuple[list[str], list[tuple[str, dict[str, str]]], str | None]:
    """Columns to ask COQL or Bulk Read for (each field, then its lookup columns), the lookups'
    {column: sub-column} maps, and the first lookup whose name field is unknown (its columns are
    left out) or None."""
    fmap = frames.field_map(meta)
    out: list[str] = []
    lookups: list[tuple[str, dict[str, str]]] = []
    missing: str | None = None
    for name in names:
        field = fmap.get(name) or {}
        out.append(name)
        cols = lookup_columns(name, field)
        if cols is None:
            if missing is None:
                target = ((field.get("lookup") or {}).get("module") or {}).get("api_name")
                missing = f"lookup {name} points to {target}, whose name field is not known"
            continue
        if cols:
            lookups.append((name, cols))
            out += list(cols)
    return out, lookups, missing


__all__ = ["FieldMeta", "NAME_FIELDS", "lookup_columns", "names_with_lookups"]
