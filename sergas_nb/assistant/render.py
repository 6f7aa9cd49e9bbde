"""Typed DataFrame values as JSON for an MCP host, within a size budget.

A host hands tool output to a model whose context is small and costly: every answer is bounded
in rows and in bytes, long text values are cut (and say so), and whatever was left out is named
in the answer (``truncated``) with a way to get the rest (a cursor), never silently dropped.

Values: pd.NA / NaN / NaT -> null; UTC datetimes -> ISO 8601 (``2024-03-01T04:00:00Z``); date
fields (naive datetime64) -> ``YYYY-MM-DD``; Int64/Float64/boolean -> numbers and booleans;
categories -> their string; multi-select lists -> lists; lookups stay flattened (``Owner.name``,
``Owner.id``) as the notebooks show them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from sergas_nb import _secrets

MAX_ROWS = 100  # rows a tool call may return
DEFAULT_ROWS = 20
MAX_BYTES = 60_000  # characters of JSON a tool call may return
MAX_TEXT = 1_000  # characters of one text value


def json_value(value: Any, *, date_only: bool = False) -> Any:
    """One cell as a JSON-native value."""
    if isinstance(value, str):
        return _cut(value)
    if isinstance(value, list | tuple | np.ndarray):
        return [json_value(v) for v in list(value)]
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            return None
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if date_only or value.tzinfo is None and value.time() == dt.time():
            return value.date().isoformat()
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool | int):
        return value
    return _cut(str(value))


def _cut(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    return text[:MAX_TEXT] + f"... [{len(text) - MAX_TEXT} more characters]"


def frame_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Every row of a typed frame as a JSON-native dict (date columns as dates)."""
    date_columns = {
        c
        for c in df.columns
        if pd.api.types.is_datetime64_dtype(df[c].dtype) and getattr(df[c].dtype, "tz", None) is None
    }
    records = df.to_dict("records")
    return [{str(k): json_value(v, date_only=k in date_columns) for k, v in r.items()} for r in records]


def size(value: Any) -> int:
    return len(dumps(value))


def dumps(value: Any) -> str:
    """Compact JSON, with any known secret or token-shaped value masked (defence in depth)."""
    return scrub(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str))


def scrub(text: str) -> str:
    """``text`` without registered secrets or token-shaped values. Narrower than ``_secrets.redact``:
    data such as ``"code: 42"`` in a description is left as the CRM holds it."""
    for secret in sorted(_secrets._known, key=len, reverse=True):
        text = text.replace(secret, _secrets.MASK)
    return _secrets._TOKEN_RE.sub(_secrets.MASK, text)


def fit_rows(rows: list[dict[str, Any]], budget: int = MAX_BYTES) -> tuple[list[dict[str, Any]], bool]:
    """The leading rows whose JSON fits ``budget`` characters (at least one); True when cut short."""
    used, kept = 2, list[dict[str, Any]]()
    for row in rows:
        cost = size(row) + 1
        if kept and used + cost > budget:
            return kept, True
        kept.append(row)
        used += cost
    return kept, False
