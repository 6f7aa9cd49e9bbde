"""Zoho's asynchronous Bulk APIs: Bulk Read (export a module as zipped CSV) and Bulk Write
(import a zipped CSV), with the same typed results as the synchronous calls.

- ``bulk_read_chunks``: create a read job, poll it with backoff (ADDED, QUEUED, IN PROGRESS,
  COMPLETED or FAILURE), download the zip (at most 10 downloads a minute: a 429 is retried),
  parse the CSV into the same typed frame ``records()`` gives; 200,000 records a job page.
- ``bulk_write``: validate the frame exactly as ``update()`` does (``frames.to_payload``, before
  anything is sent), write it as CSV, upload the zip (``feature: bulk-write``, ``X-CRM-ORG``),
  create the job with field mappings, poll it, and read the per-row result CSV (STATUS,
  RECORD_ID, ERRORS) into the same ``WriteResult`` table as ``update()``.

CSV cannot tell an empty text from a missing one: Bulk Read gives ``<NA>`` for both.
"""

from __future__ import annotations

import csv
import io
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import requests

from sergas_nb import frames
from sergas_nb._http import parse_response, transport_error
from sergas_nb._reads import NAME_FIELDS
from sergas_nb.errors import Problem, ZohoAPIError, ZohoValidationError

if TYPE_CHECKING:
    from sergas_nb.client import WriteResult, ZohoClient

WRITE_FILE_ROWS = 25_000  # rows per Bulk Write file (Zoho's limit)
POLL_FIRST, POLL_MAX, POLL_TIMEOUT = 0.2, 5.0, 3600.0
_MESSAGES = {
    "INVALID_DATA": "invalid data",
    "MANDATORY_NOT_FOUND": "required field not found",
    "DUPLICATE_DATA": "duplicate data",
    "NOT_APPROVED": "record not approved",
    "BLOCKED_RECORD": "record blocked",
    "CANNOT_PROCESS": "cannot process the record",
    "LIMIT_EXCEEDED": "limit exceeded",
    "RESOURCE_NOT_FOUND": "the record was not found",
}


# ----------------------------------------------------------------------------------- raw calls


def _raw(
    client: ZohoClient, operation: str, method: str, url: str, module: str | None, **kw: Any
) -> tuple[bytes, dict[str, Any] | None]:
    """One call answered by a file (or a JSON body), through the governor and ``_call``:
    (raw bytes, the JSON object when the answer was JSON). Error answers raise as usual."""
    extra = kw.pop("headers", {})

    def once() -> tuple[bytes, dict[str, Any] | None]:
        token = client._sdk.access_token()
        headers = {"Authorization": f"Zoho-oauthtoken {token}", **extra}
        try:
            with client.governor.slot(sub=False):
                resp = client._session.request(method, url, headers=headers, **kw)
                client.governor.observe(resp)
        except requests.exceptions.RequestException as exc:
            raise transport_error(exc, f"{method} {url}") from None
        if resp.status_code != 200 or resp.headers.get("Content-Type", "").startswith("application/json"):
            return resp.content, parse_response(resp, f"{method} {url}", token)  # raises for errors
        return resp.content, None

    return client._call(operation, once, idempotent=method == "GET", module=module)


def _poll(client: ZohoClient, path: str, module: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """GET ``path`` until ``done(answer)``, waiting 0.2 s, then 1.5x longer each time (5 s at most)."""
    wait, deadline = POLL_FIRST, time.monotonic() + POLL_TIMEOUT
    while True:
        data = client._get("bulk_status", path, None, module) or {}
        if done(data):
            return data
        if time.monotonic() > deadline:
            raise ZohoAPIError(f"{path}: the bulk job did not finish within {POLL_TIMEOUT:.0f} s", code="TIMEOUT")
        time.sleep(wait)
        wait = min(POLL_MAX, wait * 1.5)


def _csv_from_zip(data: bytes, what: str) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = [n for n in z.namelist() if n.lower().endswith(".csv")]
            if not names:
                raise ValueError("no CSV inside")
            return z.read(names[0]).decode("utf-8-sig")
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ZohoAPIError(f"{what}: the result is not a zipped CSV ({exc})", code="MALFORMED_RESPONSE") from None


# ----------------------------------------------------------------------------------- bulk read


def read_fields(meta: Sequence[Mapping[str, Any]], names: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Fields to ask a Bulk Read for, and CSV column -> frame column renames (lookup names)."""
    fmap = frames.field_map(meta)
    out: list[str] = []
    rename: dict[str, str] = {}
    for name in names:
        field = fmap.get(name) or {}
        kind = frames.kind_of(field)
        out.append(name)
        if kind == frames.USER:
            out += [f"{name}.full_name", f"{name}.email"]
            rename[f"{name}.full_name"] = f"{name}.name"
        elif kind == frames.POLY:
            # What_Id / Parent_Id: the CSV gives the id; the module it points into is $se_module.
            out.append("$se_module")
            rename["$se_module"] = f"{name}.module"
        elif kind == frames.LOOKUP:
            target = str(((field.get("lookup") or {}).get("module") or {}).get("api_name"))
            sub = NAME_FIELDS.get(target)
            if sub is not None:
                out.append(f"{name}.{sub}")
                rename[f"{name}.{sub}"] = f"{name}.name"
    return out, rename


def bulk_read_chunks(
    client: ZohoClient,
    module: str,
    names: list[str],
    meta: Sequence[Mapping[str, Any]],
    on_total: Callable[[int | None], None] | None = None,
) -> Iterator[pd.DataFrame]:
    """Typed frames of the whole module, one per Bulk Read page (200,000 records)."""
    fields, rename = read_fields(meta, names)
    page = 1
    while True:
        body = {"query": {"module": {"api_name": module}, "fields": fields, "page": page}, "file_type": "csv"}
        created = client._call(
            "bulk_read",
            lambda b=body: client._http("POST", "/crm/bulk/v8/read", json_body=b),  # type: ignore[misc]
            idempotent=False,
            module=module,
        )
        job_id = str(((created or {}).get("data") or [{}])[0].get("details", {}).get("id") or "")
        if not job_id:
            raise ZohoAPIError("bulk read: no job id in the answer", code="MALFORMED_RESPONSE")
        job = _poll(
            client,
            f"/crm/bulk/v8/read/{job_id}",
            module,
            lambda d: (d.get("data") or [{}])[0].get("state") in ("COMPLETED", "FAILURE"),
        )["data"][0]
        if job.get("state") == "FAILURE":
            reason = (job.get("result") or {}).get("error_message") or "no reason given"
            raise ZohoAPIError(f"bulk read job {job_id} failed: {reason}", code="BULK_READ_FAILURE")
        result = job.get("result") or {}
        if on_total is not None and page == 1:
            on_total(int(result.get("count") or 0) if not result.get("more_records") else None)
        url = client.api_url + str(result.get("download_url") or f"/crm/bulk/v8/read/{job_id}/result")
        text = _csv_from_zip(_raw(client, "bulk_read_download", "GET", url, module)[0], f"bulk read {job_id}")
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False)
        columns = {rename.get(c, c): raw[c].tolist() for c in raw.columns}
        del raw, text
        yield frames.from_text_columns(columns, meta, names)
        if not result.get("more_records"):
            return
        page += 1


# ---------------------------------------------------------------------------------- bulk write


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Mapping):
        return str(v.get("id") or "")
    if isinstance(v, list):
        return ";".join(str(x) for x in v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _org_id(client: ZohoClient) -> str:
    cached = client.__dict__.get("_org_zgid")
    if cached is None:
        data = client._get("org", "/crm/v8/org", None, None) or {}
        org = (data.get("org") or [{}])[0]
        cached = str(org.get("zgid") or org.get("id") or "")
        client.__dict__["_org_zgid"] = cached
    return str(cached)


def bulk_write(
    client: ZohoClient,
    module: str,
    data: pd.DataFrame | Sequence[Mapping[str, Any]],
    operation: Literal["insert", "update", "upsert"] = "update",
    *,
    find_by: str | None = None,
    na: Literal["clear", "skip"] = "clear",
) -> WriteResult:
    """Write ``data`` through Bulk Write jobs (25,000 rows a file); one outcome row per input row,
    the same table ``update()`` returns. ``find_by``: upserts match on this field (default: the
    module's duplicate check)."""
    from sergas_nb.client import WriteResult, _result_frame

    meta = client._fields_meta(module)
    fmap = frames.field_map(meta)
    payload = frames.to_payload(data, meta, operation, na=na)  # raises before anything is sent
    labels = list(data.index) if isinstance(data, pd.DataFrame) else list(range(len(payload)))
    blocker = unsuitable(payload)
    if blocker:
        raise ZohoValidationError([Problem(None, blocker)])
    rows = write_payload(client, module, operation, payload, fmap, labels, find_by=find_by)
    return WriteResult(operation, module, _result_frame(rows))


def unsuitable(payload: Sequence[Mapping[str, Any]]) -> str | None:
    """Why these rows cannot go as one Bulk Write file (None when they can)."""
    columns = {k for row in payload for k in row}
    clears = any(v is None or v == [] for row in payload for v in row.values())
    if clears and any(len(row) != len(columns) for row in payload):
        return "Bulk Write cannot both clear fields and leave others alone: give every row every column"
    return None


def write_payload(
    client: ZohoClient,
    module: str,
    operation: str,
    payload: Sequence[Mapping[str, Any]],
    fmap: Mapping[str, Mapping[str, Any]],
    labels: Sequence[Any],
    *,
    find_by: str | None = None,
) -> list[dict[str, Any]]:
    """Checked API-shaped rows through Bulk Write jobs (one per 25,000 rows): one outcome row each.
    Raises ZohoError when a job does not finish or its answer is lost (its rows may be applied)."""
    columns = list(dict.fromkeys(k for row in payload for k in row))
    clears = any(v is None or v == [] for row in payload for v in row.values())
    rows: list[dict[str, Any]] = []
    for start in range(0, len(payload), WRITE_FILE_ROWS):
        part = [dict(row) for row in payload[start : start + WRITE_FILE_ROWS]]
        rows += _write_file(client, module, operation, part, columns, fmap, labels[start:], find_by, not clears)
    return rows


def _write_file(
    client: ZohoClient,
    module: str,
    operation: str,
    payload: list[dict[str, Any]],
    columns: list[str],
    fmap: Mapping[str, Mapping[str, Any]],
    labels: Sequence[Any],
    find_by: str | None,
    ignore_empty: bool,
) -> list[dict[str, Any]]:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in payload:
        w.writerow([_cell(row.get(c)) for c in columns])
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{module}.csv", buf.getvalue().encode("utf-8"))
    _, upload = _raw(
        client,
        "bulk_upload",
        "POST",
        client.endpoints.upload_url.rstrip("/") + "/crm/v8/upload",
        module,
        headers={"feature": "bulk-write", "X-CRM-ORG": _org_id(client)},
        files={"file": (f"{module}.zip", zipped.getvalue(), "application/zip")},
    )
    file_id = str(((upload or {}).get("details") or {}).get("file_id") or "")
    if not file_id:
        raise ZohoAPIError("bulk write: the upload answered no file_id", code="MALFORMED_RESPONSE")
    mappings = []
    for i, c in enumerate(columns):
        m: dict[str, Any] = {"api_name": c, "index": i}
        if frames.kind_of(fmap.get(c)) in (frames.LOOKUP, frames.USER):
            m["find_by"] = "id"
        mappings.append(m)
    resource: dict[str, Any] = {
        "type": "data",
        "module": {"api_name": module},
        "file_id": file_id,
        "field_mappings": mappings,
    }
    if operation == "update":
        resource["find_by"] = "id"
    elif operation == "upsert" and find_by:
        resource["find_by"] = find_by
    body = {"operation": operation, "ignore_empty": ignore_empty, "resource": [resource]}
    created = client._call(
        "bulk_write",
        lambda: client._http("POST", "/crm/bulk/v8/write", json_body=body),
        idempotent=False,
        module=module,
    )
    job_id = str(((created or {}).get("details") or {}).get("id") or "")
    if not job_id:
        raise ZohoAPIError("bulk write: no job id in the answer", code="MALFORMED_RESPONSE")
    job = _poll(client, f"/crm/bulk/v8/write/{job_id}", module, lambda d: d.get("status") in ("COMPLETED", "FAILED"))
    if job.get("status") == "FAILED":
        raise ZohoAPIError(f"bulk write job {job_id} failed", code="BULK_WRITE_FAILURE", details={"job": job_id})
    url = client.api_url + str((job.get("result") or {}).get("download_url") or f"/crm/bulk/v8/write/{job_id}/result")
    text = _csv_from_zip(_raw(client, "bulk_write_download", "GET", url, module)[0], f"bulk write {job_id}")
    result = list(csv.DictReader(io.StringIO(text)))
    if len(result) != len(payload):
        raise ZohoAPIError(
            f"bulk write {job_id}: {len(result)} result rows for {len(payload)} records",
            code="MALFORMED_RESPONSE",
            details={"job": job_id},
        )
    out = []
    for k, (row, sent) in enumerate(zip(result, payload, strict=False)):
        status = (row.get("STATUS") or "").upper()
        ok = status in ("ADDED", "UPDATED")
        action = ("insert" if status == "ADDED" else "update") if ok and operation == "upsert" else None
        code, _, field = (row.get("ERRORS") or "").split(":")[0].partition("-")
        out.append(
            {
                "row": labels[k],
                "id": row.get("RECORD_ID") or sent.get("id") or None,
                "status": "success" if ok else "error",
                "code": "SUCCESS" if ok else (code or status or None),
                "message": ("record added" if status == "ADDED" else "record updated")
                if ok
                else _MESSAGES.get(code, code.replace("_", " ").lower() or "not processed"),
                "field": None if ok or not field else field,
                "action": action,
            }
        )
    return out
