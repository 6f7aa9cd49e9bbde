"""Record writes as JSON built here, not by the SDK's converter: the body the SDK would send,
and Zoho's per-record answers read into the same ``RecordOutcome`` list.

Why: the SDK turns every payload row into a ``Record`` (``_sdk.to_sdk_record``), then its
JSONConverter walks each value (dateutil, reflection, its own field-metadata files): about 1 ms of
CPU a record under the GIL, several times the HTTP work of a 100-record batch. The payload rows
(``frames.to_payload``) are already checked and in the API's JSON shape, so the body is made
from them and the field metadata directly. The SDK stays the one boundary for auth, token storage
and metadata; the bytes go through the ``Pipeline`` (governor, retries, token refresh, metrics).

The JSON is the SDK's, value for value (tests/client/test_write_json.py captures both on the
wire): ids and lookup/user ids as integers, picklists as their value, dates ``YYYY-MM-DD``,
datetimes in the machine's local offset (the SDK's ``DataTypeConverter`` does
``astimezone(tzlocal()).isoformat()``), numbers as numbers, nulls kept (they clear a field);
``trigger`` and ``duplicate_check_fields`` only when given.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import requests

from sergas_nb import frames
from sergas_nb._http import parse_response
from sergas_nb._sdk import BATCH, RecordOutcome
from sergas_nb.errors import ZohoOutcomeUnknownError

# Zoho's record write endpoints (https://www.zoho.com/crm/developer/docs/api/v8/insert-records.html,
# update-records.html, upsert-records.html): the same paths the SDK's RecordOperations call.
ROUTES = {"insert": ("POST", ""), "update": ("PUT", ""), "upsert": ("POST", "/upsert")}


def _local(value: str) -> str:
    return dt.datetime.fromisoformat(value).astimezone().isoformat()


def _as_int(value: Any) -> int:
    return int(value)


def _ref(value: Any) -> dict[str, int]:
    return {"id": int(value["id"])}


# How each column kind's payload value becomes the SDK's JSON value (None: as it is).
_CONVERT: dict[str, Any] = {
    frames.INT: _as_int,
    frames.FLOAT: float,
    frames.DATETIME: _local,
    frames.LOOKUP: _ref,
    frames.USER: _ref,
    frames.MULTI: list,
}


def record_json(row: Mapping[str, Any], converters: Mapping[str, Any]) -> dict[str, Any]:
    """One payload row as the SDK would put it in ``data``."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if value is None:
            out[key] = None
        elif key == "id":
            out[key] = int(value)
        else:
            conv = converters.get(key)
            out[key] = conv(value) if conv is not None else value
    return out


def converters_for(fmap: Mapping[str, Mapping[str, Any]], keys: Sequence[str]) -> dict[str, Any]:
    return {k: _CONVERT.get(frames.kind_of(fmap.get(k))) for k in keys}


def body(
    rows: Sequence[Mapping[str, Any]],
    fmap: Mapping[str, Mapping[str, Any]],
    *,
    trigger: Sequence[str] | None = None,
    duplicate_check_fields: Sequence[str] | None = None,
) -> bytes:
    """The request body of one write call (at most 100 rows), as UTF-8 JSON."""
    if len(rows) > BATCH:
        raise ValueError(f"at most {BATCH} records a call")
    converters = converters_for(fmap, sorted({k for r in rows for k in r}))
    doc: dict[str, Any] = {"data": [record_json(r, converters) for r in rows]}
    if trigger is not None:
        doc["trigger"] = list(trigger)
    if duplicate_check_fields:
        doc["duplicate_check_fields"] = list(duplicate_check_fields)
    try:
        return orjson.dumps(doc)
    except TypeError:  # an integer past 64 bits (ids may have up to 25 digits): json copes
        return json.dumps(doc).encode("utf-8")


def _outcome_list(answer: Any, n: int) -> list[Mapping[str, Any]] | None:
    data = answer.get("data") if isinstance(answer, dict) else None
    if isinstance(data, list) and len(data) == n and all(isinstance(d, dict) and "status" in d for d in data):
        return data
    return None


def outcomes(resp: requests.Response, doing: str, token: str, ids: Sequence[str | None]) -> list[RecordOutcome]:
    """Zoho's answer to one write call, one outcome per record in input order. Whole-call
    failures raise as everywhere (401, 429, 4xx refusals, 5xx); an answer that cannot be read
    raises ZohoOutcomeUnknownError: the batch may have been applied."""
    status = resp.status_code
    if status in (401, 429):
        parse_response(resp, doing, token)  # raises: refused, nothing applied
    try:
        answer = orjson.loads(resp.content) if resp.content else None
    except orjson.JSONDecodeError:
        answer = None
    items = _outcome_list(answer, len(ids))
    if items is None:
        if status >= 500 or (400 <= status < 500 and isinstance(answer, dict)):
            parse_response(resp, doing, token)  # raises the mapped error
        data = answer.get("data") if isinstance(answer, dict) else None
        if isinstance(data, list):
            raise ZohoOutcomeUnknownError(
                f"Zoho answered {len(data)} outcomes for {len(ids)} records: the outcome of each is unknown",
                code="MALFORMED_RESPONSE",
                status=status,
            )
        what = "an unreadable answer" if answer is None else "an answer without outcomes"
        raise ZohoOutcomeUnknownError(
            f"The answer to this write was lost (HTTP {status}, {what}): the records may or may not have been written",
            code="MALFORMED_RESPONSE" if status < 500 else f"HTTP_{status}",
            status=status,
        )
    out = []
    for item, rid in zip(items, ids, strict=True):
        details = item.get("details")
        details = details if isinstance(details, dict) else {}  # orjson: a dict (no ABC check per record)
        got_id, field = details.get("id"), details.get("api_name")
        code, action = item.get("code"), item.get("action")
        out.append(
            RecordOutcome(
                str(got_id) if got_id is not None else rid,
                "success" if str(item.get("status") or "").lower() == "success" else "error",
                str(code) if code is not None else None,
                item.get("message"),
                str(field) if field else None,
                str(action) if action else None,
            )
        )
    return out


__all__ = ["ROUTES", "body", "outcomes", "record_json"]
