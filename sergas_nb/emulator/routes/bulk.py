"""Bulk Read (/crm/bulk/v8/read) and Bulk Write (/crm/v8/upload, /crm/bulk/v8/write) routes.

Jobs live in ``state/bulk_jobs.py``; this module checks requests and answers in Zoho's shapes
(bulk_read.json, bulk_write.json, and the samples of Zoho's pages where they say more). Each route
belongs to one of Zoho's hosts (``hosts.py``):

- API host: Bulk Read create, status and result (``GET /crm/bulk/v8/read/{id}/result``, the
  relative ``download_url`` of Zoho's Bulk Read sample), Bulk Write create and status;
- file host: the upload (``POST /crm/v8/upload``); the API host refuses it;
- download host: Bulk Write results, at the absolute ``download_url`` the status answer gives.

Job creation costs credits like Zoho (a read 1, a write about 500).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sergas_nb.emulator.errors import EmulatorError
from sergas_nb.emulator.hosts import bulk_write_result_path
from sergas_nb.emulator.routes.common import crm, emulator, json_body, json_response
from sergas_nb.emulator.state import metadata as md
from sergas_nb.emulator.state.bulk_jobs import (
    READ_PAGE,
    WRITE_LIMIT,
    BulkJobs,
    ReadJob,
    WriteJob,
    _csv_rows,
    criteria_predicate,
)
from sergas_nb.emulator.state.seed import iso

WRITE_JOB_CREDITS = 500
_MAX_UPLOAD = 25 * 1024 * 1024


def jobs_of(emu: Any) -> BulkJobs:
    """The emulator's bulk jobs, made on first use and forgotten when the store is reset or
    reseeded (``Store.epoch`` moves then): jobs belong to the data they were made from."""
    jobs = emu.__dict__.get("bulk_jobs")
    if jobs is None or jobs.epoch != emu.store.epoch:
        jobs = emu.__dict__["bulk_jobs"] = BulkJobs()
        jobs.epoch = emu.store.epoch
    return jobs


def _module(name: Any) -> str:
    canon = md.canonical_module(str(name)) if isinstance(name, str) else None
    if canon is None:
        raise EmulatorError("INVALID_MODULE", "the module name given seems to be invalid", {"api_name": str(name)})
    return canon


def _not_found(job_id: str) -> EmulatorError:
    return EmulatorError("RESOURCE_NOT_FOUND", "the requested resource doesn't exist", {"id": job_id}, status=404)


def _user(emu: Any, grant: Any) -> dict[str, Any]:
    u = emu.store.current_user(getattr(grant, "user_email", None))
    return {"id": u["id"], "name": u["full_name"]}


# ------------------------------------------------------------------------------------- bulk read


@crm
async def create_read(request: Request) -> Response:
    emu, grant = emulator(request), request.state.grant
    body = await json_body(request)
    query = body.get("query") if isinstance(body, dict) else None
    if not isinstance(query, dict):
        raise EmulatorError("MANDATORY_NOT_FOUND", "required field not found", {"api_name": "query"})
    module = _module(
        (query.get("module") or {}).get("api_name") if isinstance(query.get("module"), dict) else query.get("module")
    )
    fmap = md.field_map(module)
    fields = query.get("fields") or [f["api_name"] for f in md.fields_for(module)]
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise EmulatorError("INVALID_DATA", "invalid data", {"api_name": "fields"})
    fields = [f for f in dict.fromkeys(fields) if f != "id"]
    for f in fields:  # unknown names fail now, not when the job runs
        base = f.split(".", 1)[0]
        if base not in fmap and f != "$se_module":
            raise EmulatorError("INVALID_DATA", "invalid data", {"api_name": f})
    page = query.get("page", 1) or 1
    if not isinstance(page, int) or page < 1:
        raise EmulatorError("INVALID_DATA", "invalid data", {"api_name": "page"})
    criteria = query.get("criteria")
    if criteria is not None:
        criteria_predicate(criteria, fmap)  # invalid criteria fail at creation, as Zoho's do
    emu.limits.charge(1)
    jobs = jobs_of(emu)
    job = ReadJob(
        id=jobs.new_id(),
        module=module,
        fields=fields,
        criteria=criteria,
        page=page,
        created_by=_user(emu, grant),
        created_time=iso(emu.store.clock()),
        started=jobs.clock(),
        query={
            # Zoho's job-details samples echo the module with its id
            # (https://www.zoho.com/crm/developer/docs/api/v7/bulk-read/job-details.html).
            "module": {"id": md.module_id(module), "api_name": module},
            "fields": fields,
            "page": page,
            **({"criteria": criteria} if criteria else {}),
        },
    )
    jobs.reads[job.id] = job
    await emu.faults.delay()
    details = {
        "id": job.id,
        "operation": "read",
        "state": "ADDED",
        "created_by": job.created_by,
        "created_time": job.created_time,
    }
    return json_response(
        {
            "data": [
                {
                    "status": "success",
                    "code": "ADDED_SUCCESSFULLY",
                    "message": "Added successfully.",
                    "details": details,
                }
            ]
        },
        status=201,
    )


def _read_job(emu: Any, job_id: str) -> ReadJob:
    job = jobs_of(emu).reads.get(job_id)
    if job is None:
        raise _not_found(job_id)
    return job


@crm
async def read_details(request: Request) -> Response:
    emu = emulator(request)
    job = _read_job(emu, request.path_params["job_id"])
    jobs = jobs_of(emu)
    state = jobs.state(job.started)
    emu.limits.charge(1)
    out: dict[str, Any] = {
        "id": job.id,
        "operation": "read",
        "state": state,
        "query": job.query,
        "created_by": job.created_by,
        "created_time": job.created_time,
        "file_type": "csv",
    }
    if state == "COMPLETED":
        jobs.export(job, emu.store)
        out["result"] = {
            "page": job.page,
            "per_page": READ_PAGE,
            "count": job.count,
            # Relative, on the API host: Zoho's Bulk Read job-details samples give
            # "/crm/bulk/v7/read/{job_id}/result", to be sent "with your api domain attached"
            # (https://www.zoho.com/crm/developer/docs/api/v7/bulk-read/job-details.html; v8 has no sample).
            "download_url": f"/crm/bulk/v8/read/{job.id}/result",
            "more_records": job.more,
        }
    await emu.faults.delay()
    return json_response({"data": [out]})


@crm
async def read_result(request: Request) -> Response:
    emu = emulator(request)
    job = _read_job(emu, request.path_params["job_id"])
    jobs = jobs_of(emu)
    if jobs.state(job.started) == "COMPLETED":
        jobs.export(job, emu.store)
    if job.result is None:
        raise EmulatorError("RESOURCE_NOT_FOUND", "the job has not completed yet", {"id": job.id}, status=400)
    jobs.take_download()
    await emu.faults.delay()  # one file: the per-record latency models JSON pages, not a download
    return Response(
        job.result,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{job.id}.zip"'},
    )


# ------------------------------------------------------------------------------------ bulk write


@crm
async def upload(request: Request) -> Response:
    emu, grant = emulator(request), request.state.grant
    if (request.headers.get("feature") or "").lower() != "bulk-write":
        raise EmulatorError("INVALID_DATA", "invalid data", {"header_name": "feature"})
    org = request.headers.get("x-crm-org")
    info = emu.store.org()
    if org not in (str(info.get("zgid")), str(info.get("id"))):
        raise EmulatorError("INVALID_DATA", "invalid data", {"header_name": "X-CRM-ORG"})
    form = await request.form(max_part_size=_MAX_UPLOAD)
    item = form.get("file")
    if item is None or isinstance(item, str):
        raise EmulatorError("MANDATORY_NOT_FOUND", "required field not found", {"param_name": "file"})
    data = await item.read()
    _csv_rows(data)  # a zip holding one CSV, or INVALID_FILE now
    jobs = jobs_of(emu)
    file_id = jobs.new_id()
    jobs.files[file_id] = data
    emu.limits.charge(1)
    await emu.faults.delay()
    return json_response(
        {
            "status": "success",
            "code": "FILE_UPLOAD_SUCCESS",
            "message": "file uploaded.",
            # bulk_write.json types file_id as int64 and requires id and created_by beside it.
            "details": {
                "file_id": int(file_id),
                "id": file_id,
                "created_by": _user(emu, grant),
                "created_time": iso(emu.store.clock()),
            },
        }
    )


@crm
async def create_write(request: Request) -> Response:
    emu, grant = emulator(request), request.state.grant
    body = await json_body(request)
    if not isinstance(body, dict):
        raise EmulatorError("INVALID_DATA", "body", {"expected_data_type": "jsonobject"})
    operation = body.get("operation")
    if operation not in ("insert", "update", "upsert"):
        raise EmulatorError("INVALID_DATA", "invalid data", {"api_name": "operation"})
    resources = body.get("resource")
    if not isinstance(resources, list) or len(resources) != 1 or not isinstance(resources[0], dict):
        raise EmulatorError("INVALID_DATA", "invalid data", {"api_name": "resource"})
    res = resources[0]
    module = _module(
        (res.get("module") or {}).get("api_name") if isinstance(res.get("module"), dict) else res.get("module")
    )
    jobs = jobs_of(emu)
    file_id = str(res.get("file_id") or "")
    if file_id not in jobs.files:
        raise EmulatorError("INVALID_DATA", "invalid data", {"api_name": "file_id"})
    header, rows = _csv_rows(jobs.files[file_id])
    if len(rows) > WRITE_LIMIT:
        raise EmulatorError("LIMIT_EXCEEDED", "limit exceeded", {"api_name": "file_id", "limit": WRITE_LIMIT})
    fmap = md.field_map(module)
    mappings = res.get("field_mappings")
    if not isinstance(mappings, list) or not mappings:
        raise EmulatorError("MANDATORY_NOT_FOUND", "required field not found", {"api_name": "field_mappings"})
    for m in mappings:
        name = m.get("api_name") if isinstance(m, dict) else None
        idx = m.get("index") if isinstance(m, dict) else None
        if not isinstance(idx, int) or idx < 0 or idx >= len(header) or (name != "id" and name not in fmap):
            raise EmulatorError("INVALID_DATA", "invalid data", {"api_name": str(name), "param_name": "field_mappings"})
    find_by = res.get("find_by")
    if operation == "update" and find_by != "id" and not any(m["api_name"] == "id" for m in mappings):
        raise EmulatorError("MANDATORY_NOT_FOUND", "required field not found", {"api_name": "find_by"})
    emu.limits.charge(WRITE_JOB_CREDITS)
    job = WriteJob(
        id=jobs.new_id(),
        operation=operation,
        module=module,
        file_id=file_id,
        mappings=mappings,
        find_by=find_by,
        ignore_empty=bool(body.get("ignore_empty", False)),
        created_by=_user(emu, grant),
        created_time=iso(emu.store.clock()),
        started=jobs.clock(),
        resource={
            "type": "data",
            "module": {"api_name": module, "id": md.module_id(module)},
            "file_id": file_id,
            "field_mappings": mappings,
            **({"find_by": find_by} if find_by else {}),
        },
    )
    jobs.writes[job.id] = job
    await emu.faults.delay()
    return json_response(
        {
            "status": "success",
            "code": "SUCCESS",
            "message": "success",
            "details": {"id": job.id, "created_by": job.created_by, "created_time": job.created_time},
        },
        status=201,
    )


def _write_job(emu: Any, job_id: str) -> WriteJob:
    job = jobs_of(emu).writes.get(job_id)
    if job is None:
        raise _not_found(job_id)
    return job


@crm
async def write_details(request: Request) -> Response:
    emu, grant = emulator(request), request.state.grant
    job = _write_job(emu, request.path_params["job_id"])
    jobs = jobs_of(emu)
    state = jobs.state(job.started)
    status = {"QUEUED": "ADDED"}.get(state, state)
    emu.limits.charge(1)
    if state == "COMPLETED":
        jobs.apply(job, emu.store, getattr(grant, "user_email", None))
    resource = dict(job.resource, status=status)
    if job.counts:
        resource["file"] = {"status": status, "name": f"{job.module}.csv", **job.counts}
    out: dict[str, Any] = {
        "status": status,
        "character_encoding": "UTF-8",
        "resource": [resource],
        "id": job.id,
        "created_by": job.created_by,
        "operation": job.operation,
        "created_time": job.created_time,
    }
    if job.result is not None:
        # Absolute, on the download host: Zoho's sample is
        # https://download-accl.zoho.com/v2/crm/6735/bulk-write/347706122009/347706122009.zip
        # (https://www.zoho.com/crm/developer/docs/api/v8/bulk-write/download-result.html).
        org = str(emu.store.org().get("zgid"))
        out["result"] = {"download_url": emu.download_url_getter() + bulk_write_result_path(org, job.id)}
    await emu.faults.delay()
    return json_response(out)


@crm
async def write_result(request: Request) -> Response:
    """The download host's answer for ``/v2/crm/{org}/bulk-write/{job_id}/{job_id}.zip``."""
    emu = emulator(request)
    job_id = request.path_params["job_id"]
    org = str(emu.store.org().get("zgid"))
    if request.path_params["org"] != org or request.path_params["name"] != f"{job_id}.zip":
        raise _not_found(job_id)
    job = _write_job(emu, job_id)
    if job.result is None:
        raise EmulatorError("RESOURCE_NOT_FOUND", "the job has not completed yet", {"id": job.id}, status=400)
    jobs_of(emu).take_download()
    await emu.faults.delay()
    return Response(job.result, media_type="application/zip")


async def upload_on_api_host(request: Request) -> Response:
    """An upload sent to the API host instead of the file host.

    Unconfirmed: what www.zohoapis.com answers to POST /crm/v8/upload is not documented. The
    upload-file page lists INVALID_URL_PATTERN (HTTP 404, "Please check if the URL trying to access
    is a correct one") for a wrong request URL
    (https://www.zoho.com/crm/developer/docs/api/v8/bulk-write/upload-file.html), so the emulator
    answers that, naming the host to use in ``details``.
    """
    return json_response(
        {
            "status": "error",
            "code": "INVALID_URL_PATTERN",
            "message": "Please check if the URL trying to access is a correct one",
            "details": {"expected_host": "file upload host (content.zohoapis.com and its data-centre counterparts)"},
        },
        status=404,
    )


def routes() -> list[Route]:
    """The API host's bulk routes (the upload is refused here: it belongs to the file host)."""
    return [
        Route("/crm/bulk/v8/read", create_read, methods=["POST"]),
        Route("/crm/bulk/v8/read/{job_id}", read_details, methods=["GET"]),
        Route("/crm/bulk/v8/read/{job_id}/result", read_result, methods=["GET"]),
        Route("/crm/v8/upload", upload_on_api_host, methods=["POST"]),
        Route("/crm/bulk/v8/write", create_write, methods=["POST"]),
        Route("/crm/bulk/v8/write/{job_id}", write_details, methods=["GET"]),
    ]


def file_routes() -> list[Route]:
    """The file host's one route: Bulk Write's upload."""
    return [Route("/crm/v8/upload", upload, methods=["POST"])]


def download_routes() -> list[Route]:
    """The download host's route: Bulk Write results, at the path of Zoho's sample URL."""
    return [Route("/v2/crm/{org}/bulk-write/{job_id}/{name}", write_result, methods=["GET"])]
