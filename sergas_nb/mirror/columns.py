"""Typed frames (``crm.records`` dtypes) to DuckDB columns and back, without losing a dtype.

Each frame dtype has one storage type; the frame's dtypes are kept beside the table (the module's
field metadata), so a read gives back exactly what ``crm.records`` gives:

    string                  VARCHAR
    Int64                   BIGINT
    Float64                 DOUBLE
    boolean                 BOOLEAN
    datetime64[us]          TIMESTAMP
    datetime64[us, UTC]     TIMESTAMPTZ
    category (picklists)    VARCHAR      (categories: the field's values, then others seen, sorted)
    object (lists, Tag)     VARCHAR      (JSON text)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa

from sergas_nb import frames
from sergas_nb._gc import gc_paused

SQL_TYPES = {
    "string": "VARCHAR",
    "Int64": "BIGINT",
    "Float64": "DOUBLE",
    "boolean": "BOOLEAN",
    "datetime64[us]": "TIMESTAMP",
    "datetime64[us, UTC]": "TIMESTAMPTZ",
    "category": "VARCHAR",
    "object": "VARCHAR",
}
_ARROW = {
    "string": pa.large_string(),
    "Int64": pa.int64(),
    "Float64": pa.float64(),
    "boolean": pa.bool_(),
    "datetime64[us]": pa.timestamp("us"),
    "datetime64[us, UTC]": pa.timestamp("us", tz="UTC"),
    "category": pa.large_string(),
    "object": pa.large_string(),
}


_DTYPES: dict[bytes, dict[str, str]] = {}


def dtypes_for(meta: Sequence[Mapping[str, Any]], fields: Sequence[str] | None = None) -> dict[str, str]:
    """``frames.dtypes_for``, remembered per metadata: it builds an empty typed frame (a tenth of a
    second), and every sync and ``frame()`` asks for the same few."""
    key = orjson.dumps([meta, fields], default=str)
    got = _DTYPES.get(key)
    if got is None:
        if len(_DTYPES) > 256:
            _DTYPES.clear()
        got = _DTYPES[key] = frames.dtypes_for(meta, fields)
    return dict(got)


def sql_type(dtype: str) -> str:
    return SQL_TYPES.get(dtype, "VARCHAR")


def quote(name: str) -> str:
    """A SQL identifier (column names carry dots: ``Owner.id``)."""
    return '"' + name.replace('"', '""') + '"'


def _json(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS).decode()


def to_arrow(df: pd.DataFrame, dtypes: Mapping[str, str]) -> pa.Table:
    """The frame's columns named in ``dtypes`` as an Arrow table of their storage types. Typed
    columns go through Arrow as they are (pyarrow strings are not copied, categoricals are cast
    from their dictionary); only list/dict columns are turned into JSON text value by value."""
    arrays = []
    for col, dtype in dtypes.items():
        kind = dtype if dtype in _ARROW else "object"
        if col not in df:
            arrays.append(pa.nulls(len(df), type=_ARROW[kind]))
        elif kind == "object":
            arrays.append(pa.array([_json(v) for v in df[col].tolist()], type=pa.large_string()))
        else:
            arrays.append(pa.array(df[col], from_pandas=True).cast(_ARROW[kind]))
    return pa.Table.from_arrays(arrays, names=list(dtypes))


_MAPPER = {pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype(), pa.bool_(): pd.BooleanDtype()}


def from_arrow(table: pa.Table, dtypes: Mapping[str, str], meta: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """A frame with exactly ``dtypes`` (in that order) from a table ``to_arrow`` wrote; a column
    the table lacks reads as missing values."""
    fmap = frames.field_map(meta)
    n = table.num_rows
    out: dict[str, Any] = {}
    for col, dtype in dtypes.items():
        if col in table.column_names:
            arr = table.column(col)
        else:
            arr = pa.chunked_array([pa.nulls(n, type=_ARROW.get(dtype, pa.large_string()))])
        out[col] = _column(arr, dtype, fmap.get(col) or {}, n)
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def _column(arr: pa.ChunkedArray, dtype: str, field: Mapping[str, Any], n: int) -> Any:
    if dtype == "string":
        if frames._ARROW_STRINGS:
            return pd.arrays.ArrowStringArray(arr.cast(pa.large_string()).combine_chunks())
        return pd.array(arr.to_pylist(), dtype="string")
    if dtype in ("Int64", "Float64", "boolean"):
        return pd.array(arr.to_pandas(types_mapper=_MAPPER.get), dtype=dtype)
    if dtype == "datetime64[us]":
        return pd.Series(arr.cast(pa.timestamp("us")).to_pandas(), dtype="datetime64[us]").array
    if dtype == "datetime64[us, UTC]":
        return pd.Series(arr.cast(pa.timestamp("us", tz="UTC")).to_pandas()).astype("datetime64[us, UTC]").array
    if dtype == "category":
        return _categorical(arr, frames.picklist_values(field))
    return _objects(arr, n)


def _objects(arr: pa.ChunkedArray, n: int) -> np.ndarray:
    """JSON texts back to their values, parsed once per distinct text: most are the same few
    (``[]`` in every Tag), and parsing 100,000 of them was half of ``frame()``. Rows never share
    a list or dict (changing one row's value must not change another's): empty ones are made
    anew per row, others are parsed per row."""
    enc = arr.cast(pa.large_string()).combine_chunks().dictionary_encode()
    texts = enc.dictionary.to_pylist()
    values = orjson.loads("[" + ",".join(texts) + "]") if texts else []
    # per distinct text: 0 a value rows may share (text, number, null), 1 an empty list/dict, 2 another
    kind = np.array([_sharing(v) for v in values] + [0], dtype=np.int8)
    idx = enc.indices.fill_null(len(values)).to_numpy(zero_copy_only=False)
    shared = np.empty(len(values) + 1, dtype=object)
    shared[: len(values)] = [v if k == 0 else None for v, k in zip(values, kind[:-1].tolist(), strict=True)]
    out = shared[idx]
    row_kind = kind[idx]
    with gc_paused():  # many new containers, none of them cyclic (see sergas_nb._gc)
        for j in np.flatnonzero(kind == 1).tolist():  # each distinct empty value: [] or {}
            rows = np.flatnonzero(idx == j)
            out[rows] = np.fromiter(map(type(values[j]), repeat((), len(rows))), dtype=object, count=len(rows))
        other = np.flatnonzero(row_kind == 2)
        if len(other):
            rows = enc.indices.take(pa.array(other)).to_pylist()
            parsed = orjson.loads("[" + ",".join(texts[i] for i in rows) + "]")
            out[other] = np.fromiter(parsed, dtype=object, count=len(other))
    return out


def _sharing(v: Any) -> int:
    if not isinstance(v, (list, dict)):
        return 0
    return 2 if v else 1


def _categorical(arr: pa.ChunkedArray, allowed: list[str]) -> pd.Categorical:
    """The picklist's values first, then any others seen (sorted), as ``crm.records`` orders them;
    built from the column's dictionary (its distinct values), not value by value."""
    enc = arr.cast(pa.large_string()).combine_chunks().dictionary_encode()
    seen = enc.dictionary.to_pylist()
    known = set(allowed)
    cats = allowed + sorted({v for v in seen if v not in known})
    pos = {v: i for i, v in enumerate(cats)}
    mapping = np.array([pos[v] for v in seen] + [-1], dtype=np.int64)
    idx = enc.indices.fill_null(len(seen)).to_numpy(zero_copy_only=False)
    return pd.Categorical.from_codes(mapping[idx], categories=cats)
