"""Zoho's asynchronous Bulk APIs: Bulk Read (export a module as zipped CSV) and Bulk Write
(import a zipped CSV), with the same typed results as the synchronous calls.

- ``bulk_read_chunks``: create a read job, poll it with backoff (ADDED, QUEUED, IN PROGRESS,
  COMPLETED or FAILURE), download the zip (at most 10 downloads a minute: a 429 is retried),
  parse the CSV into the same typed frame ``records()`` gives; 200,000 records a job page.
- ``write_payload``: rows checked as ``update()`` checks them (``_writes.prepare``, before anything
  is sent; ``_writes.Writer.bulk_write`` is the entry point) written as CSV, the zip uploaded to the
  content host (``feature: bulk-write``, ``X-CRM-ORG``), the job created with field mappings and
  polled, and the per-row result CSV (STATUS, RECORD_ID, ERRORS) read into the same ``WriteResult``
  table as ``update()``.

CSV cannot tell an empty text from a missing one: Bulk Read gives ``<NA>`` for both.
"""

from __future__ import annotations

import csv
import io
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from sergas_nb import frames
from sergas_nb._download import download_target
from sergas_nb._fields import names_with_lookups
from sergas_nb._pipeline import Pipeline
from sergas_nb.errors import (
    ZohoAPIError,
    ZohoConfigError,
    ZohoError,
    ZohoNotSentError,
    ZohoOutcomeUnknownError,
    ZohoValidationError,
)

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


class JobNotCreated(ZohoError):
    """No Bulk Write job exists for any of the rows: the upload failed (a file no job names is
    never applied), or Zoho refused the job's creation without applying it (a 429, a request
    never sent, a 4xx). The rows may be sent again in batches without reading them back."""

    def __init__(self, cause: ZohoError) -> None:
        super().__init__(cause.message, cause.details)
        self.cause = cause
        self.code = getattr(cause, "code", None)


def _surely_not_created(exc: ZohoError) -> bool:
    """Whether a failed job-creation call surely created no job: a refusal (4xx, 429) or a request
    never sent. A lost answer (reset, timeout, 5xx, an unreadable 200) may follow a job Zoho made."""
    if isinstance(exc, ZohoOutcomeUnknownError):
        return False
    if isinstance(exc, ZohoNotSentError):
        return True
    status = getattr(exc, "status", None)
    return isinstance(exc, ZohoAPIError) and status is not None and 400 <= status < 500


# ----------------------------------------------------------------------------------- raw calls


def _raw(
    p: Pipeline, operation: str, method: str, url: str, module: str | None, **kw: Any
) -> tuple[bytes, dict[str, Any] | None]:
    """One call answered by a file (or a JSON body), through the pipeline's one authorised
    exchange and its call wrapper: (raw bytes, the JSON object when the answer was JSON)."""
    return p.call(operation, lambda: p.file(method, url, **kw), idempotent=method == "GET", module=module)


def _poll(p: Pipeline, path: str, module: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """GET ``path`` until ``done(answer)``, waiting 0.2 s, then 1.5x longer each time (5 s at most)."""
    wait, deadline = POLL_FIRST, time.monotonic() + POLL_TIMEOUT
    while True:
        data = p.get("bulk_status", path, None, module) or {}
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
    out, lookups, _ = names_with_lookups(meta, names)
    rename = {key: f"{name}.{sub}" for name, cols in lookups for key, sub in cols.items() if key != f"{name}.{sub}"}
    return out, rename


def bulk_read_chunks(
    p: Pipeline,
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
        created = p.call(
            "bulk_read",
            lambda b=body: p.http("POST", "/crm/bulk/v8/read", json_body=b),  # type: ignore[misc]
            idempotent=False,
            module=module,
        )
        job_id = str(((created or {}).get("data") or [{}])[0].get("details", {}).get("id") or "")
        if not job_id:
            raise ZohoAPIError("bulk read: no job id in the answer", code="MALFORMED_RESPONSE")
        job = _poll(
            p,
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
        url = download_target(p.endpoints, result.get("download_url"), f"/crm/bulk/v8/read/{job_id}/result")
        text = _csv_from_zip(_raw(p, "bulk_read_download", "GET", url, module)[0], f"bulk read {job_id}")
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


def unsuitable(payload: Sequence[Mapping[str, Any]]) -> str | None:
    """Why these rows cannot go as one Bulk Write file (None when they can)."""
    columns = {k for row in payload for k in row}
    clears = any(v is None or v == [] for row in payload for v in row.values())
    if clears and any(len(row) != len(columns) for row in payload):
        return "Bulk Write cannot both clear fields and leave others alone: give every row every column"
    return None


def write_payload(
    p: Pipeline,
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
        try:
            rows += _write_file(p, module, operation, part, columns, fmap, labels[start:], find_by, not clears)
        except JobNotCreated as exc:
            if start == 0:
                raise
            raise exc.cause from None  # earlier files' jobs ran: the caller reads every row back
    return rows


def _write_file(
    p: Pipeline,
    module: str,
    operation: str,
    payload: list[dict[str, Any]],
    columns: list[str],
    fmap: Mapping[str, Mapping[str, Any]],
    labels: Sequence[Any],
    find_by: str | None,
    ignore_empty: bool,
) -> list[dict[str, Any]]:
    if not p.endpoints.upload_url:  # the emulator's file host was not given: never the API host instead
        raise ZohoConfigError(
            {"ZOHO_SDK_LOCAL_CONTENT_URL": "required for a Bulk Write against the emulator (its file upload host)"}
        )
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in payload:
        w.writerow([_cell(row.get(c)) for c in columns])
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{module}.csv", buf.getvalue().encode("utf-8"))
    try:
        _, upload = _raw(
            p,
            "bulk_upload",
            "POST",
            p.endpoints.content_url.rstrip("/") + "/crm/v8/upload",
            module,
            headers={"feature": "bulk-write", "X-CRM-ORG": p.org_id()},
            files={"file": (f"{module}.zip", zipped.getvalue(), "application/zip")},
        )
    except (ZohoConfigError, ZohoValidationError):
        raise  # a setting or input problem: the caller sees it as it is
    except ZohoError as exc:
        raise JobNotCreated(exc) from None
    file_id = str(((upload or {}).get("details") or {}).get("file_id") or "")
    if not file_id:
        raise JobNotCreated(ZohoAPIError("bulk write: the upload answered no file_id", code="MALFORMED_RESPONSE"))
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
    try:
        created = p.call(
            "bulk_write",
            lambda: p.http("POST", "/crm/bulk/v8/write", json_body=body),
            idempotent=False,
            module=module,
        )
    except ZohoError as exc:
        # Zoho lists no Bulk Write jobs (crm-oas v8.0 bulk_write.json: upload, create, one job by
        # id, download): a job whose id was lost cannot be found, so its rows are read back.
        raise JobNotCreated(exc) if _surely_not_created(exc) else exc from None
    job_id = str(((created or {}).get("details") or {}).get("id") or "")
    if not job_id:
        raise ZohoAPIError("bulk write: no job id in the answer", code="MALFORMED_RESPONSE")
    job = _poll(p, f"/crm/bulk/v8/write/{job_id}", module, lambda d: d.get("status") in ("COMPLETED", "FAILED"))
    if job.get("status") == "FAILED":
        raise ZohoAPIError(f"bulk write job {job_id} failed", code="BULK_WRITE_FAILURE", details={"job": job_id})
    url = download_target(
        p.endpoints, (job.get("result") or {}).get("download_url"), f"/crm/bulk/v8/write/{job_id}/result"
    )
    text = _csv_from_zip(_raw(p, "bulk_write_download", "GET", url, module)[0], f"bulk write {job_id}")
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
