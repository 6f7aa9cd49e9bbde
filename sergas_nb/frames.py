"""Zoho records <-> typed pandas DataFrames, driven by the module's field metadata. Pure: no I/O.

Reading (``to_frame``): one column per field, typed from ``data_type`` in ``/settings/fields``:

    integer, bigint                      Int64
    currency, double, percent, decimal   Float64
    boolean                              boolean
    date                                 datetime64[us]        (midnight, no time zone)
    datetime                             datetime64[us, UTC]   (offsets applied; never machine-local)
    picklist                             category              (categories = the field's allowed values,
                                                                then any value seen but not allowed)
    multiselectpicklist                  object, a list per row ([] when empty)
    lookup                               X.name, X.id          (string)
    lookup over several modules          X.id, X.module        (string; What_Id of activities, a
      (multi_module_lookup)                                    note's Parent_Id: module from $se_module)
    ownerlookup, userlookup              X.name, X.id, X.email (string)
    formula, rollup_summary              typed by their return_type
    id and every text-like type          string
    anything else (subform, files, Tag   object, as the API returned it
    and other json_type jsonarray)

``id`` is always the first column; an empty answer gives an empty frame with the same columns
and dtypes as a full one.

Writing (``to_payload``): a DataFrame as read (or a list of dicts) becomes API JSON, one dict per
row, after checking every value against the metadata. All problems (row, field, value, reason)
are raised together in one ``ZohoValidationError`` before anything is sent. The rules:

- A missing value (None, pd.NA, NaN, NaT) means *clear the field* (``null``) with ``na="clear"``,
  the default, so a frame read, edited and written back stays equal to what is read next; with
  ``na="skip"`` missing values are left out and the CRM keeps what it has. To leave a field alone
  regardless, leave its column or key out.
- Lookups are written by id: column ``X.id`` (or key ``X`` as ``{"id": ...}`` or a bare id).
  ``X.name`` / ``X.email`` are views of the looked-up record and are not written.
- Read-only fields (``read_only`` in metadata, system fields, formula, autonumber, rollup):
  a DataFrame may carry them (it is what reads return) and they are left out; naming one in a
  dict is an error, since the caller meant to change it.
- ``id`` is required and unique for updates, optional (unique) for upserts, and left out of
  inserts from a DataFrame (an error in dicts).
- Timestamps go out as ISO 8601 in UTC (``2024-03-01T04:00:00+00:00``); naive datetimes are
  rejected (which zone would they be?). Dates go out as ``YYYY-MM-DD``.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any, Literal

import numpy as np
import pandas as pd

from sergas_nb.errors import Problem, ZohoValidationError

FieldsMeta = Mapping[str, Mapping[str, Any]] | Sequence[Mapping[str, Any]]

TEXT = "text"
INT = "int"
FLOAT = "float"
BOOL = "bool"
DATE = "date"
DATETIME = "datetime"
PICK = "picklist"
MULTI = "multi"
LOOKUP = "lookup"
POLY = "poly"  # one lookup over several modules (multi_module_lookup): What_Id, a note's Parent_Id
USER = "user"
OBJECT = "object"

_KINDS: dict[str, str] = {
    **dict.fromkeys(
        (
            "text",
            "textarea",
            "email",
            "phone",
            "website",
            "autonumber",
            "profileimage",
            "string",
            "encryptedtext",
            "autonumber_field",
        ),
        TEXT,
    ),
    **dict.fromkeys(("integer", "bigint", "long"), INT),
    **dict.fromkeys(("currency", "double", "percent", "decimal"), FLOAT),
    "boolean": BOOL,
    "date": DATE,
    "datetime": DATETIME,
    "picklist": PICK,
    "multiselectpicklist": MULTI,
    "lookup": LOOKUP,
    **dict.fromkeys(("ownerlookup", "userlookup"), USER),
}
# Kinds never written: the CRM computes them.
_COMPUTED_TYPES = {"formula", "autonumber", "rollup_summary", "profileimage"}
# System fields read-only in every module, even if an org's metadata forgets to say so.
SYSTEM_READ_ONLY = frozenset(
    {"Created_Time", "Modified_Time", "Created_By", "Modified_By", "Last_Activity_Time", "Tag"}
)
_DTYPES = {
    TEXT: "string",
    INT: "Int64",
    FLOAT: "Float64",
    BOOL: "boolean",
    DATE: "datetime64[us]",
    DATETIME: "datetime64[us, UTC]",
}
_SUBKEYS = {LOOKUP: ("name", "id"), USER: ("name", "id", "email"), POLY: ("id", "module")}
_ID_RE = re.compile(r"^[0-9]{1,25}$")
# Zoho's integer fields hold 32-bit values; bigint/long fields 64-bit.
_INT_RANGE = {"integer": 2**31, "bigint": 2**63, "long": 2**63}
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# ---------------------------------------------------------------- metadata helpers


def field_map(meta: FieldsMeta) -> dict[str, dict[str, Any]]:
    """``{api_name: field}`` from either shape (the API's list, or an existing map)."""
    if isinstance(meta, Mapping):
        return {k: dict(v) for k, v in meta.items()}
    return {f["api_name"]: dict(f) for f in meta}


def kind_of(field: Mapping[str, Any] | None) -> str:
    """Our column kind for a metadata field (formula/rollup typed by their return type)."""
    if field is None:
        return OBJECT
    data_type = str(field.get("data_type") or "")
    if field.get("json_type") == "jsonarray" and data_type not in ("multiselectpicklist",):
        return OBJECT  # e.g. Tag: data_type text, but the API answers a list
    if data_type in ("formula", "rollup_summary"):
        rt = (
            (field.get("formula") or {}).get("return_type")
            or (field.get("rollup_summary") or {}).get("return_type")
            or field.get("json_type")
        )
        return _KINDS.get(str(rt), {"double": FLOAT, "integer": INT, "boolean": BOOL}.get(str(rt), TEXT))
    if data_type == "lookup" and (field.get("multi_module_lookup") or {}).get("modules"):
        return POLY
    return _KINDS.get(data_type, OBJECT)


def is_read_only(field: Mapping[str, Any]) -> bool:
    """True when the CRM will not take a value for this field."""
    return (
        bool(field.get("read_only"))
        or field.get("data_type") in _COMPUTED_TYPES
        or field.get("api_name") in SYSTEM_READ_ONLY
    )


def picklist_values(field: Mapping[str, Any]) -> list[str]:
    """Allowed actual values, in metadata order, without duplicates."""
    seen: dict[str, None] = {}
    for v in field.get("pick_list_values") or []:
        value = v.get("actual_value", v.get("display_value"))
        if value is not None:
            seen.setdefault(str(value), None)
    return list(seen)


def columns_for(meta: FieldsMeta, fields: Iterable[str] | None = None) -> list[str]:
    """The frame's column names for these fields (all fields when None), lookups flattened."""
    fmap = field_map(meta)
    names = [n for n in (fields if fields is not None else fmap) if n != "id"]
    cols = ["id"]
    for name in names:
        k = kind_of(fmap.get(name))
        if k in _SUBKEYS:
            cols.extend(f"{name}.{s}" for s in _SUBKEYS[k])
        else:
            cols.append(name)
    return list(dict.fromkeys(cols))


def dtypes_for(meta: FieldsMeta, fields: Iterable[str] | None = None) -> dict[str, str]:
    """``{column: dtype name}`` a frame from ``to_frame`` has for these fields."""
    return {c: str(s.dtype) for c, s in to_frame([], meta, fields).items()}


# ---------------------------------------------------------------- records -> frame


def to_frame(
    records: Sequence[Mapping[str, Any]],
    meta: FieldsMeta,
    fields: Iterable[str] | None = None,
    *,
    aliases: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """A typed DataFrame of API records (see the module docstring for the dtype table).

    ``fields``: the API names asked for (their order is kept); None = every field in the
    metadata plus any other key the records carry (``$``-prefixed system keys excepted).
    Dotted names (COQL's ``Owner.email``) are taken as given. ``aliases``: the key a lookup's
    sub-column is read from when the records carry it flat (COQL's ``Owner.full_name`` for
    ``Owner.name``).
    """
    fmap = field_map(meta)
    if fields is None:
        names = list(fmap)
        extra = {k: None for r in records for k in r if k not in fmap and not k.startswith("$")}
        names.extend(extra)
    else:
        names = list(fields)
    columns = RecordColumns(meta, names, aliases=aliases)
    columns.add(records)
    return columns.frame()


class RecordColumns:
    """Records taken apart into one value list per key, a batch at a time, then typed as one
    frame: ``to_frame`` of all the batches' records at once, without keeping their dicts.

    A parsed record's dict weighs several times its values; a large read parses an answer a
    piece at a time (_json_rows) and adds each piece here, so one piece's dicts live at once
    instead of a whole answer's (2,000 records: about 10 MB). The keys to read are decided by
    the first record added, as ``to_frame`` decides them by the first record.
    """

    def __init__(self, meta: FieldsMeta, names: Sequence[str], *, aliases: Mapping[str, str] | None = None) -> None:
        self.fmap = field_map(meta)
        self.names = list(names)
        self.alias = aliases or {}
        self.keys: list[str] | None = None
        self.raw: dict[str, list[Any]] = {}
        self.rows = 0

    def __len__(self) -> int:
        return self.rows

    def add(self, records: Sequence[Mapping[str, Any]]) -> None:
        if not records:
            return
        if self.keys is None:
            self.keys = self._keys(records[0])
            self.raw = {k: [] for k in self.keys}
        for key, col in _transpose(records, self.keys).items():
            self.raw[key].extend(col)
        self.rows += len(records)

    def _keys(self, first: Mapping[str, Any]) -> list[str]:
        # Every key to read, then one C-level pass turns rows into columns (a .get per cell and
        # column in Python was most of the typing cost).
        keys = ["id"]
        for name in self.names:
            if name == "id":
                continue
            keys.append(name)
            field = self.fmap.get(name)
            k = kind_of(field)
            if k in _SUBKEYS:
                flat = [self.alias.get(f"{name}.{sub}", f"{name}.{sub}") for sub in _SUBKEYS[k]]
                keys += [key for key in flat if key in first]
            if k == POLY and "$se_module" in first:
                keys.append("$se_module")
            if field is None and "." in name and name.split(".", 1)[0] in first:
                keys.append(name.split(".", 1)[0])
        return list(dict.fromkeys(keys))

    def frame(self) -> pd.DataFrame:
        """The typed frame; the value lists are let go column by column as they are typed."""
        if self.keys is None:
            self.keys = self._keys({})
            self.raw = {k: [] for k in self.keys}
        raw, n = self.raw, self.rows
        self.raw = {}
        columns: dict[str, Any] = {"id": _text_array(raw["id"])}
        for name in self.names:
            if name == "id" or name in columns:
                continue
            field = self.fmap.get(name)
            k = kind_of(field)
            if k == POLY:
                links = raw[name]
                modules = raw.get("$se_module") or [None] * n
                columns[f"{name}.id"] = _text_array(_subs(links, "id"))
                columns[f"{name}.module"] = _text_array(
                    [_poly_module(se, link) for se, link in zip(modules, links, strict=True)]
                )
                continue
            if k in _SUBKEYS:
                links = raw[name]
                for sub in _SUBKEYS[k]:
                    col = f"{name}.{sub}"
                    flat_key = self.alias.get(col, col)
                    if flat_key in raw:  # COQL may return the dotted key itself
                        vals = raw[flat_key]
                        # a row without it (COQL's own null, or a list row typed with COQL rows:
                        # the mirror's changes) reads it from the link
                        if None in vals:
                            vals = [
                                v if v is not None else _sub(link, sub) for v, link in zip(vals, links, strict=False)
                            ]
                    else:
                        vals = _subs(links, sub)
                    columns[col] = _text_array(vals)
                continue
            if field is None and "." in name:
                base, sub = name.split(".", 1)
                direct, bases = raw[name], raw.get(base)
                vals = (
                    direct
                    if bases is None
                    else [v if v is not None else _sub(b, sub) for v, b in zip(direct, bases, strict=True)]
                )
                columns[name] = _column(vals, TEXT if sub in ("id", "name", "email") else OBJECT, None, name)
                continue
            columns[name] = _column(raw.pop(name), k, field, name)
        return pd.DataFrame(columns, index=pd.RangeIndex(n))


def _poly_module(se_module: Any, link: Any) -> str | None:
    """The module a polymorphic link points into: ``$se_module`` beside it, or the link's own ``module``."""
    if not isinstance(link, Mapping):
        return None
    module = se_module or link.get("module")
    return module.get("api_name") if isinstance(module, Mapping) else module


def _transpose(records: Sequence[Mapping[str, Any]], keys: list[str]) -> dict[str, list[Any]]:
    """``{key: [value per record]}``; a key a record lacks reads as None."""
    if not records:
        return {k: [] for k in keys}
    try:
        get = itemgetter(*keys)
        rows = [get(r) for r in records] if len(keys) > 1 else [(get(r),) for r in records]
    except (KeyError, TypeError):
        rows = [tuple(r.get(k) for k in keys) for r in records]
    return {k: list(col) for k, col in zip(keys, zip(*rows, strict=True), strict=True)}


def _subs(links: list[Any], sub: str) -> list[Any]:
    try:  # the common case: every link is a dict or None
        return [None if v is None else v[sub] for v in links]
    except (KeyError, TypeError, IndexError):
        return [_sub(v, sub) for v in links]


def _text_array(vals: list[Any]) -> Any:
    if not set(map(type, vals)) <= {str, type(None)}:
        vals = [None if v is None else str(v) for v in vals]
    return _strings(vals)


def _strings(vals: list[str | None]) -> Any:
    """``pd.array(vals, dtype="string")`` for a list of str/None; straight to Arrow when that is the
    string storage (2-3x faster: pandas would check every value again)."""
    if _ARROW_STRINGS:
        import pyarrow as pa

        return pd.arrays.ArrowStringArray(pa.array(vals, type=pa.large_string()))
    return pd.array(vals, dtype="string")


def _arrow_strings() -> bool:
    try:
        probe = pd.array(["x"], dtype="string")
        import pyarrow as pa

        return isinstance(probe, pd.arrays.ArrowStringArray) and probe._pa_array.type == pa.large_string()
    except (ImportError, AttributeError):
        return False


_ARROW_STRINGS = _arrow_strings()


def _id_str(v: Any) -> str | None:
    return None if v is None else str(v)


def sub_value(v: Any, key: str) -> Any:
    """One key of a lookup as its frame column holds it (a bare id stands for its own ``id``)."""
    return _sub(v, key)


def _sub(v: Any, key: str) -> Any:
    if v.__class__ is dict:  # the common case first: isinstance(Mapping) is an ABC check per value
        return v.get(key)
    if isinstance(v, Mapping):
        return v.get(key)
    return v if key == "id" and v is not None and not isinstance(v, (list, dict)) else None


def _column(vals: list[Any], kind: str, field: Mapping[str, Any] | None, name: str) -> Any:
    try:
        if kind == TEXT:
            types = set(map(type, vals))
            if types <= {str, type(None)}:
                return _strings(vals)
            if any(issubclass(t, (list, dict)) for t in types):
                kind = OBJECT  # e.g. Tag: declared text, answered as a list of tags
            else:
                return pd.array(
                    [None if v is None else v if isinstance(v, str) else str(v) for v in vals], dtype="string"
                )
        if kind in (INT, FLOAT, BOOL):
            return pd.array(vals, dtype=_DTYPES[kind])
        if kind == DATE:
            return pd.Series(pd.to_datetime(vals, format="%Y-%m-%d"), dtype="datetime64[us]").array
        if kind == DATETIME:
            return pd.Series(pd.to_datetime(vals, utc=True, format="ISO8601"), dtype="datetime64[us, UTC]").array
        if kind == PICK:
            allowed = picklist_values(field or {})
            if not set(map(type, vals)) <= {str, type(None)}:
                vals = [None if v is None else str(v) for v in vals]
            extra = sorted(set(vals) - set(allowed) - {None})
            return _categorical(vals, (*allowed, *extra))
        if kind == MULTI:
            out = np.empty(len(vals), dtype=object)
            out[:] = [list(v) if isinstance(v, (list, tuple)) else ([] if v is None else [v]) for v in vals]
            return out
    except (ValueError, TypeError) as exc:
        raise ValueError(f"field {name!r}: value not of its metadata type {kind}: {exc}") from exc
    out = np.empty(len(vals), dtype=object)
    out[:] = vals
    return out


@functools.lru_cache(maxsize=256)
def _category_codes(categories: tuple[str, ...]) -> tuple[pd.CategoricalDtype, dict[str, int]]:
    return pd.CategoricalDtype(list(categories)), {c: i for i, c in enumerate(categories)}


def _categorical(vals: list[str | None], categories: tuple[str, ...]) -> pd.Categorical:
    """``pd.Categorical(vals, categories=categories)`` for str/None values that are all among the
    categories: codes from a dict and one dtype per category list, not a hash table and a
    validated dtype per call (7x faster; a read types each picklist once per answer)."""
    dtype, code = _category_codes(categories)
    codes = np.array([-1 if v is None else code[v] for v in vals], dtype=np.int64)
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


def concat_frames(
    chunks: Sequence[pd.DataFrame], meta: FieldsMeta, fields: Iterable[str] | None = None
) -> pd.DataFrame:
    """One frame from typed chunks of ``to_frame`` (pages read one at a time), same dtypes as
    ``to_frame`` of all their records at once: picklist categories are the allowed values, then
    every other value seen in any chunk, sorted. Each column's chunks are let go as soon as the
    column is joined, so the peak is about one column beyond the result, not a second frame."""
    chunks = [c for c in chunks if len(c)] or list(chunks[:1])
    if not chunks:
        return to_frame([], meta, fields)
    if len(chunks) == 1:
        return chunks[0].reset_index(drop=True)
    fmap = field_map(meta)
    names = list(chunks[0].columns)
    pieces = [{k: c[k] for k in names} for c in chunks]  # Series views: the frames can go
    chunks = []
    out: dict[str, Any] = {}
    for col in names:
        parts = [p.pop(col) for p in pieces]
        if isinstance(parts[0].dtype, pd.CategoricalDtype):
            allowed = picklist_values(fmap.get(col) or {})
            known = set(allowed)
            extra = sorted({str(v) for p in parts for v in p.cat.categories if str(v) not in known})
            target = [*allowed, *extra]
            parts = [p if list(p.cat.categories) == target else p.cat.set_categories(target) for p in parts]
        out[col] = pd.concat(parts, ignore_index=True)
        del parts
    n = len(next(iter(out.values()))) if out else 0
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def from_text_columns(
    columns: Mapping[str, Sequence[str]], meta: FieldsMeta, fields: Iterable[str], *, multi_sep: str = ";"
) -> pd.DataFrame:
    """A typed frame, the same as ``to_frame`` gives, from columns of text (a Bulk Read CSV).

    Empty text is a missing value (CSV cannot tell "" from null); lookups come as ``X`` (the
    id) and ``X.name`` / ``X.email``; multi-select picklists as values joined by ``multi_sep``.
    """
    fmap = field_map(meta)
    n = len(columns["id"]) if "id" in columns else 0
    records: list[dict[str, Any]] = [{} for _ in range(n)]

    def put(name: str, vals: Iterable[Any]) -> None:
        for r, v in zip(records, vals, strict=False):
            r[name] = v

    put("id", [v or None for v in columns.get("id", [])])
    for name in fields:
        if name == "id":
            continue
        field = fmap.get(name)
        k = kind_of(field)
        if k in _SUBKEYS:
            ids = columns.get(name) or columns.get(f"{name}.id") or [""] * n
            subs = {s: columns.get(f"{name}.{s}") or [""] * n for s in _SUBKEYS[k] if s != "id"}
            put(
                name,
                [
                    None if not rid else {"id": rid, **{s: (subs[s][i] or None) for s in subs}}
                    for i, rid in enumerate(ids)
                ],
            )
            continue
        raw = columns.get(name)
        if raw is None:
            continue
        put(name, [_from_text(v, k) for v in raw])
    return to_frame(records, meta, list(fields))


def _from_text(v: str, kind: str) -> Any:
    if v is None or v == "":
        return [] if kind in (MULTI, OBJECT) else None  # OBJECT: list-valued fields such as Tag
    if kind == INT:
        return int(v)
    if kind == FLOAT:
        return float(v)
    if kind == BOOL:
        return v.strip().lower() == "true"
    if kind == MULTI:
        return v.split(";")
    if kind == OBJECT:
        return v.split(",") if v else []
    return v


# ---------------------------------------------------------------- frame / dicts -> payload

Operation = Literal["insert", "update", "upsert"]


class _Bad(Exception):
    """One value rejected: the reason."""


def is_missing(v: Any) -> bool:
    """None, pd.NA, NaN or NaT (not an empty list or string)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, (np.floating, np.datetime64, np.timedelta64)):
        return bool(np.isnat(v)) if not isinstance(v, np.floating) else bool(np.isnan(v))
    return False


def to_payload(
    data: pd.DataFrame | Sequence[Mapping[str, Any]],
    meta: FieldsMeta,
    operation: Operation = "update",
    *,
    na: Literal["clear", "skip"] = "clear",
) -> list[dict[str, Any]]:
    """API JSON records (ids as strings) for a DataFrame or dicts; raises ZohoValidationError.

    Every row is checked before any is returned: unknown field, read-only field (dicts only),
    wrong type, picklist value not allowed, missing/invalid id (updates), duplicate ids,
    mandatory field missing (inserts).
    """
    if operation not in ("insert", "update", "upsert"):
        raise ValueError(f"operation must be insert, update or upsert, not {operation!r}")
    if na not in ("clear", "skip"):
        raise ZohoValidationError([Problem("na", "na must be 'clear' or 'skip'", None, na)])
    fmap = field_map(meta)
    from_frame = isinstance(data, pd.DataFrame)
    if isinstance(data, pd.DataFrame):
        dupes = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
        if dupes:  # to_dict would keep one of them silently
            raise ZohoValidationError([Problem(c, "duplicate column name") for c in dupes])
        if data.index.has_duplicates:
            raise ZohoValidationError(
                [Problem(None, "duplicate index labels: results could not name rows (reset_index first)")]
            )
        labels: list[Any] = list(data.index)
        names, columns = _frame_columns(data)
        quick = _columns_payload(names, columns, fmap, operation)
        if quick is not None:
            return quick
        rows: list[Mapping[str, Any]] = list(_zip_rows(names, columns, len(labels)))
    else:
        if isinstance(data, Mapping):
            raise TypeError("give a list of dicts or a DataFrame, not a single dict")
        rows = list(data)
        labels = list(range(len(rows)))
        uniform = _dict_columns(rows)
        if uniform is not None:
            quick = _columns_payload(*uniform, fmap, operation)
            if quick is not None:
                return quick
    problems: list[Problem] = []
    payload: list[dict[str, Any]] = []
    seen_ids: dict[str, Any] = {}
    fast: dict[str, Any] = {}  # per field: a converter for the common, surely valid values
    # Inserts check these in every row: found once, not by a pass over every field per row.
    mandatory = [n for n, f in fmap.items() if f.get("system_mandatory") and not is_read_only(f)]
    for label, row in zip(labels, rows, strict=False):
        if not isinstance(row, Mapping):
            problems.append(Problem(None, f"expected a dict, got {type(row).__name__}", label))
            continue
        out, row_problems = _row_payload(row, label, fmap, operation, from_frame, na, fast, mandatory)
        problems.extend(row_problems)
        rid = out.get("id")
        if rid is not None:
            if rid in seen_ids:
                problems.append(Problem("id", f"duplicate id (also in row {seen_ids[rid]})", label, rid))
            else:
                seen_ids[rid] = label
        payload.append(out)
    if problems:
        raise ZohoValidationError(problems)
    return payload


def frame_rows(data: pd.DataFrame) -> list[dict[str, Any]]:
    """``data.to_dict("records")``, built column by column: the same values (Python scalars,
    missing values of extension columns as None), at a tenth of the cost on 2,000-row writes."""
    names, columns = _frame_columns(data)
    return _zip_rows(names, columns, len(data.index))


def _zip_rows(names: list[Any], columns: list[list[Any]], n: int) -> list[dict[str, Any]]:
    # Every column of a frame has one value per row: zip's length check (strict) is not needed,
    # and cost half the time of building the dicts.
    return (
        [dict(zip(names, row, strict=False)) for row in zip(*columns, strict=False)]
        if names
        else [{} for _ in range(n)]
    )


def _columns_payload(
    names: list[Any], columns: list[list[Any]], fmap: Mapping[str, Mapping[str, Any]], operation: Operation
) -> list[dict[str, Any]] | None:
    """The payload of a frame whose every cell is plainly valid (clean string ids, values each
    field's fast converter takes), checked a column at a time; None when any column or cell
    needs the row-by-row path, which words every problem. The same payload that path builds:
    keys in column order, one dict per row. A 200-record write spent a sixth of its client CPU
    on the per-row checks of cells a column pass settles."""
    if not names or not columns or not columns[0]:
        return None
    out_names: list[str] = []
    out_columns: list[list[Any]] = []
    for name, values in zip(names, columns, strict=True):
        if type(name) is not str:
            return None
        if name == "id":
            if operation == "insert":
                return None  # a frame's ids are dropped from inserts: the row path does that
            match = _ID_RE.fullmatch
            if not all(type(v) is str and match(v) for v in values) or len(set(values)) != len(values):
                return None  # missing, unclean or repeated ids: worded per row
            out_names.append(name)
            out_columns.append(values)
            continue
        field = fmap.get(name)
        if field is None or "." in name or is_read_only(field) or field.get("data_type") == "subform":
            return None
        conv = _fast_converter(field)
        if conv is None:
            return None
        converted = [conv(v) for v in values]
        if any(v is _SLOW for v in converted):
            return None
        out_names.append(name)
        out_columns.append(converted)
    has_id = "id" in out_names
    if operation == "update" and (not has_id or len(out_names) == 1):
        return None  # missing id, or nothing to change: worded per row
    if operation == "insert":
        mandatory = [n for n, f in fmap.items() if f.get("system_mandatory") and not is_read_only(f)]
        if any(n not in out_names for n in mandatory):
            return None
    return _zip_rows(out_names, out_columns, len(columns[0]))


def _dict_columns(rows: Sequence[Any]) -> tuple[list[Any], list[list[Any]]] | None:
    """Dicts that all have the same keys in the same order, as names and columns (for the column
    pass, which builds the same payload: keys in that order); None for anything else."""
    if not rows or type(rows[0]) is not dict:
        return None
    keys = list(rows[0])
    if not keys or not all(type(r) is dict and len(r) == len(keys) and list(r) == keys for r in rows):
        return None
    columns = _transpose(rows, keys)
    return keys, [columns[k] for k in keys]


def _frame_columns(data: pd.DataFrame) -> tuple[list[Any], list[list[Any]]]:
    """A frame's column names and each column's values as Python objects (``to_dict``'s)."""
    from pandas.core.dtypes.cast import maybe_box_native

    names = list(data.columns)
    columns: list[list[Any]] = []
    # The column's array, not a Series: ``iloc[:, k]`` built a Series per column, 70 us each, a
    # third of a 200-row update's payload (the array is the Series' ``_values``, its ``tolist``
    # the Series' own).
    column_array = getattr(data, "_get_column_array", None)
    for k in range(len(names)):
        arr = column_array(k) if column_array is not None else data.iloc[:, k]._values
        values = arr.tolist()
        if arr.dtype == object:
            values = [maybe_box_native(v) for v in values]
        elif isinstance(arr.dtype, pd.api.extensions.ExtensionDtype) and _has_missing(arr):
            values = [None if v is pd.NA else v for v in values]
        columns.append(values)
    return names, columns


def _has_missing(arr: Any) -> bool:
    """``hasnans`` of a column's array; for pyarrow-backed ones the array's own null count (``hasnans``
    goes through a boolean mask: a hundred times the cost on a 200-row write)."""
    # (pandas' isna of an Arrow-backed array is its null mask, so the two always agree)
    nulls = getattr(getattr(arr, "_pa_array", None), "null_count", None)
    return nulls > 0 if isinstance(nulls, int) else bool(pd.isna(arr).any())


def _row_payload(
    row: Mapping[str, Any],
    label: Any,
    fmap: Mapping[str, Mapping[str, Any]],
    operation: Operation,
    from_frame: bool,
    na: str,
    fast: dict[str, Any] | None = None,
    mandatory: Sequence[str] | None = None,
) -> tuple[dict[str, Any], list[Problem]]:
    problems: list[Problem] = []
    fast = {} if fast is None else fast
    out: dict[str, Any] = {}
    lookup_cols = {}
    for key, value in row.items():
        key = str(key)
        if key == "id":
            if type(value) is str and _ID_RE.fullmatch(value):  # the common case, clean already
                out["id"] = value
                continue
            if is_missing(value):
                continue
            try:
                out["id"] = _check_id(value)
            except _Bad as bad:
                problems.append(Problem("id", str(bad), label, value))
            continue
        if "." in key and key.split(".", 1)[0] in fmap and kind_of(fmap[key.split(".", 1)[0]]) in _SUBKEYS:
            lookup_cols[key] = value
            continue
        conv = fast.get(key)
        if conv is not None:
            got = conv(value)
            if got is not _SLOW:
                out[key] = got
                continue
        field = fmap.get(key)
        if field is None:
            problems.append(Problem(key, "unknown field", label, None if is_missing(value) else value))
            continue
        if is_read_only(field):
            if not from_frame:
                problems.append(Problem(key, "read-only field", label, value))
            continue
        if field.get("data_type") == "subform":
            # Subform rows are records of their own: the toolkit reads them (crm.subform) but does
            # not write them, rather than send a shape neither the SDK nor our writer checks.
            if not is_missing(value) and not from_frame:
                problems.append(
                    Problem(key, "subform rows cannot be written (read them with crm.subform)", label, None)
                )
            continue
        if key not in fast:
            fast[key] = _fast_converter(field)
        _put(out, key, value, field, label, na, problems)
    # Flattened lookups: X.id is written; X.name / X.email only describe the looked-up record.
    for key, value in lookup_cols.items():
        base, sub = key.split(".", 1)
        field = fmap[base]
        if is_read_only(field):
            if not from_frame:
                problems.append(Problem(key, "read-only field", label, value))
            continue
        if sub == "id":
            _put(out, base, value, field, label, na, problems)
        elif sub == "module" and kind_of(field) == POLY:
            if not is_missing(value):  # Zoho takes the module of What_Id / Parent_Id as $se_module
                out["$se_module"] = str(value)
        elif not from_frame and f"{base}.id" not in lookup_cols and base not in row:
            problems.append(Problem(key, f"lookups are written by id: give {base}.id", label, value))
        elif sub not in _SUBKEYS[kind_of(field)]:
            problems.append(Problem(key, "unknown field", label, value))
    if operation == "update" and "id" not in out and not any(p.field == "id" for p in problems):
        problems.append(Problem("id", "missing id (updates need the record id)", label))
    if operation == "update" and "id" in out and len(out) == 1 and not problems:
        # an id with nothing to change would be reported a success and bump Modified_Time
        problems.append(Problem(None, "nothing to update: the row has only an id (no field to change)", label))
    if operation == "insert" and "id" in out:
        if from_frame:
            del out["id"]  # a frame as read carries ids; inserting it creates new records
        else:
            problems.append(Problem("id", "an insert cannot set the id", label, out["id"]))
    if operation == "insert":
        if mandatory is None:
            mandatory = [n for n, f in fmap.items() if f.get("system_mandatory") and not is_read_only(f)]
        for name in mandatory:
            if out.get(name) is None:
                problems.append(Problem(name, "mandatory field missing", label))
    return out, problems


def _put(
    out: dict[str, Any], key: str, value: Any, field: Mapping[str, Any], label: Any, na: str, problems: list[Problem]
) -> None:
    if is_missing(value):
        if na == "clear":
            if field.get("system_mandatory"):
                problems.append(Problem(key, "mandatory field cannot be emptied (use na='skip' to leave it)", label))
                return
            out[key] = [] if kind_of(field) == MULTI else None
        return
    try:
        out[key] = to_api_value(value, field)
    except _Bad as bad:
        problems.append(Problem(key, str(bad), label, value))


_SLOW = object()  # a fast converter's "not sure: take the full path" (which words every error)


def _fast_converter(field: Mapping[str, Any]) -> Any:
    """For a writable field: a function returning the API value of a plainly valid value (the
    result ``to_api_value`` gives) or ``_SLOW``; None when every value takes the full path. Saves
    the per-cell kind and type dispatch on 100-to-5,000-row writes."""
    k = kind_of(field)
    if k == TEXT:
        length = field.get("length")
        limit = length if isinstance(length, int) and length > 0 else None
        if limit is None:
            return lambda v: v if type(v) is str else _SLOW
        return lambda v: v if type(v) is str and len(v) <= limit else _SLOW
    if k == INT:
        bound = _INT_RANGE.get(str(field.get("data_type")), 2**63)
        return lambda v: v if type(v) is int and -bound <= v < bound else _SLOW
    if k == FLOAT:
        return lambda v: v if type(v) is float and math.isfinite(v) else float(v) if type(v) is int else _SLOW
    if k == BOOL:
        return lambda v: v if type(v) is bool else _SLOW
    if k == PICK:
        allowed = frozenset(picklist_values(field))
        if not allowed:
            return lambda v: v if type(v) is str else _SLOW
        return lambda v: v if type(v) is str and v in allowed else _SLOW
    return None


def check_write_payload(
    payload: Sequence[Mapping[str, Any]],
    fmap: Mapping[str, Mapping[str, Any]],
    operation: Operation,
    *,
    key: str | None = None,
    duplicate_check_fields: Sequence[str] | None = None,
) -> None:
    """Checks across rows of a write: the insert ``key`` (known, given in every row, unique) and
    upsert ``duplicate_check_fields`` (known fields). Raises ZohoValidationError."""
    problems: list[Problem] = []
    if key is not None:
        if operation != "insert":
            problems.append(Problem("key", f"key= applies to inserts only, not {operation}", None, key))
        elif not isinstance(key, str) or key not in fmap:
            problems.append(Problem("key", "unknown field", None, key))
        elif is_read_only(fmap[key]) or kind_of(fmap[key]) not in (TEXT, INT, PICK):
            problems.append(Problem("key", "the key must be a writable text or number field", None, key))
        else:
            seen: dict[str, int] = {}
            for pos, row in enumerate(payload):
                value = row.get(key)
                if value is None or (isinstance(value, str) and not value.strip()):
                    problems.append(Problem(key, "the key field must be given in every row", pos))
                elif str(value) in seen:
                    problems.append(Problem(key, f"duplicate key value (also in row {seen[str(value)]})", pos, value))
                else:
                    seen[str(value)] = pos
    if duplicate_check_fields is not None:
        if isinstance(duplicate_check_fields, str) or not duplicate_check_fields:
            problems.append(
                Problem("duplicate_check_fields", "give a non-empty list of field names", None, duplicate_check_fields)
            )
        else:
            for name in duplicate_check_fields:
                if name not in fmap:
                    problems.append(Problem("duplicate_check_fields", "unknown field", None, name))
    if problems:
        raise ZohoValidationError(problems)


def _check_id(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        raise _Bad("id must be a string of digits")
    if isinstance(value, (int, np.integer)):
        value = str(int(value))
    if isinstance(value, float) and value.is_integer():
        raise _Bad("id as float loses digits: read ids as strings")
    if not isinstance(value, str) or not _ID_RE.match(value.strip()):
        raise _Bad("id must be a string of digits")
    return value.strip()


def to_api_value(value: Any, field: Mapping[str, Any]) -> Any:
    """One non-missing value as the API's JSON value for this field, or _Bad(reason)."""
    k = kind_of(field)
    if k == TEXT:
        if not isinstance(value, str):
            raise _Bad(f"expected text, got {type(value).__name__}")
        length = field.get("length")
        if isinstance(length, int) and length > 0 and len(value) > length:
            raise _Bad(f"longer than {length} characters")
        return value
    if k == INT:
        if isinstance(value, (bool, np.bool_)):
            raise _Bad("expected an integer, got a boolean")
        whole = isinstance(value, (float, np.floating, Decimal)) and math.isfinite(value) and float(value).is_integer()
        if not (isinstance(value, (int, np.integer)) or whole):
            raise _Bad(f"expected an integer, got {type(value).__name__}")
        number = int(value)
        bound = _INT_RANGE.get(str(field.get("data_type")), 2**63)
        if not -bound <= number < bound:
            raise _Bad(f"out of range for a {field.get('data_type')} field (at most {bound - 1})")
        return number
    if k == FLOAT:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating, Decimal)):
            raise _Bad(f"expected a number, got {type(value).__name__}")
        f = float(value)
        if not math.isfinite(f):
            raise _Bad("expected a finite number")
        return f
    if k == BOOL:
        if not isinstance(value, (bool, np.bool_)):
            raise _Bad(f"expected true or false, got {type(value).__name__}")
        return bool(value)
    if k == DATE:
        return _date_value(value)
    if k == DATETIME:
        return _datetime_value(value)
    if k == PICK:
        if not isinstance(value, str):
            raise _Bad(f"expected a picklist value (text), got {type(value).__name__}")
        allowed = picklist_values(field)
        if allowed and value not in allowed:
            raise _Bad(
                f"not an allowed value (allowed: {', '.join(allowed[:12])}{', ...' if len(allowed) > 12 else ''})"
            )
        return value
    if k == MULTI:
        if isinstance(value, str) or not isinstance(value, (list, tuple, np.ndarray, pd.Series, set)):
            raise _Bad(f"expected a list of picklist values, got {type(value).__name__}")
        items = list(value)
        permitted = set(picklist_values(field))
        bad = [v for v in items if not isinstance(v, str) or (permitted and v not in permitted)]
        if bad:
            raise _Bad(f"values not allowed: {bad!r}")
        return items
    if k in (LOOKUP, USER, POLY):
        raw = value.get("id") if isinstance(value, Mapping) else value
        if is_missing(raw):
            raise _Bad("a lookup needs the id of the record it points to")
        return {"id": _check_id(raw)}
    return value


def _date_value(value: Any) -> str:
    if isinstance(value, str):
        if not _DATE_RE.match(value):
            raise _Bad("expected a date as YYYY-MM-DD")
        try:
            dt.date.fromisoformat(value)
        except ValueError as exc:
            raise _Bad(f"not a valid date: {exc}") from None
        return value
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, dt.datetime):  # includes pd.Timestamp
        if (value.hour, value.minute, value.second, value.microsecond) != (0, 0, 0, 0):
            raise _Bad("a date field takes a date; this value has a time of day")
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise _Bad(f"expected a date, got {type(value).__name__}")


def _datetime_value(value: Any) -> str:
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _Bad("expected an ISO 8601 datetime with offset") from None
        value = parsed
    if isinstance(value, np.datetime64):
        raise _Bad("naive datetime: give a time zone (e.g. tz_localize('UTC'))")
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise _Bad("naive datetime: give a time zone (e.g. tz_localize('UTC'))")
        # Zoho keeps whole seconds; the fraction is dropped.
        utc = value.astimezone(dt.UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    raise _Bad(f"expected a datetime, got {type(value).__name__}")
