"""Shapes of Zoho's documented Bulk Read and Bulk Write samples (shapes only, never Zoho's text).

Shape language: tests/emulator/conformance/_shape.py. Each shape names the page it was read from.
Where the pages and zoho/crm-oas disagree, the comment says which one is followed and why.
"""

from __future__ import annotations

ID = str  # Zoho's record and job ids are JSON strings in every sample
USER = {"id": ID, "name": str}
READ_STATES = frozenset({"ADDED", "QUEUED", "IN PROGRESS", "COMPLETED", "FAILURE"})
WRITE_STATES = frozenset({"ADDED", "IN PROGRESS", "COMPLETED", "FAILED"})

# POST /crm/bulk/v8/read -> 201: data[0] with status/code/message/details{id, operation, state,
# created_by, created_time}, as ../shared/reference/zoho-crm-v8.md records it from Zoho's Bulk Read
# create-job page, and zoho/crm-oas bulk_read.json Success_Response (no page sample was re-read here).
READ_CREATED = {
    "data": [
        {
            "status": "success",
            "code": "ADDED_SUCCESSFULLY",
            "message": str,
            "details": {
                "id": ID,
                "operation": "read",
                "state": "ADDED",
                "created_by": USER,
                "created_time": str,
            },
        }
    ]
}

# GET /crm/bulk/v8/read/{id}, COMPLETED: https://www.zoho.com/crm/developer/docs/api/v7/bulk-read/job-details.html
# ("Sample Response: For Job COMPLETED"). download_url is relative: "send a GET request with your
# api domain attached to the download URL". next_page_token only comes with more_records true.
READ_RESULT = {
    "page": int,
    "per_page": int,
    "count": int,
    "download_url": str,
    "more_records": bool,
    "next_page_token?": str,
}
READ_DETAILS = {
    "data": [
        {
            "id": ID,
            "operation": "read",
            "state": READ_STATES,
            "result?": READ_RESULT,
            "query": {"module": {"id": ID, "api_name": str}, "page": int, "fields?": [str], "criteria?": dict},
            "created_by": USER,
            "created_time": str,
            "file_type": frozenset({"csv", "ics"}),
        }
    ]
}

# POST {file host}/crm/v8/upload: https://www.zoho.com/crm/developer/docs/api/v2/bulk-write/upload-file.html
# (sample response: status/code FILE_UPLOAD_SUCCESS/message/details{file_id, created_time}). The
# samples give file_id as a string; zoho/crm-oas bulk_write.json types it int64. The emulator keeps
# the OAS integer (tests/emulator/test_bulk.py checks the OAS schema); both are accepted here and
# the client reads either (str(file_id)). Unresolved: which one real Zoho sends today.
UPLOADED = {
    "status": "success",
    "code": "FILE_UPLOAD_SUCCESS",
    "message": "file uploaded.",
    "details": {"file_id": (str, int), "created_time": str},
}

# POST /crm/bulk/v8/write -> 201: status "success", code "SUCCESS", message, details{id, created_by}
# from zoho/crm-oas bulk_write.json (unconfirmed against a page sample: none was found in the search).
WRITE_CREATED = {"status": "success", "code": "SUCCESS", "message": str, "details": {"id": ID, "created_by": USER}}

# GET /crm/bulk/v8/write/{id}: https://www.zoho.com/crm/developer/docs/api/bulk-write/job-details.html
# (response structure: status, character_encoding, id, result{download_url}, created_by, operation,
# created_time, resource[{status, type, module{api_name, id}, field_mappings, file{status, name,
# added_count, skipped_count, updated_count, total_count}}]). The result's download_url is absolute
# on the download host: https://download-accl.zoho.com/v2/crm/6735/bulk-write/347706122009/347706122009.zip
# (https://www.zoho.com/crm/developer/docs/api/v8/bulk-write/download-result.html).
WRITE_FILE = {
    "status": WRITE_STATES,
    "name": str,
    "added_count": int,
    "skipped_count": int,
    "updated_count": int,
    "total_count": int,
}
WRITE_DETAILS = {
    "status": WRITE_STATES,
    "character_encoding": str,
    "id": ID,
    "result?": {"download_url": str},
    "created_by": USER,
    "operation": frozenset({"insert", "update", "upsert"}),
    "created_time": str,
    "resource": [
        {
            "status": WRITE_STATES,
            "type": "data",
            "module": {"api_name": str, "id": ID},
            "field_mappings": [{"api_name": str, "index": int}],
            "file?": WRITE_FILE,
        }
    ],
}

# The Bulk Write result CSV: https://www.zoho.com/crm/developer/docs/api/v8/bulk-write/download-result.html
# ("the first three mapped columns from the uploaded file, and three more columns": STATUS,
# RECORD_ID, ERRORS; STATUS is added, skipped, updated or unprocessed; ERRORS "<errorCode>-<column_header>").
WRITE_RESULT_COLUMNS = ("STATUS", "RECORD_ID", "ERRORS")
WRITE_RESULT_STATUSES = frozenset({"ADDED", "SKIPPED", "UPDATED", "UNPROCESSED"})
WRITE_RESULT_ERRORS = frozenset(
    {
        "MANDATORY_NOT_FOUND",
        "INVALID_DATA",
        "DUPLICATE_DATA",
        "NOT_APPROVED",
        "BLOCKED_RECORD",
        "CANNOT_PROCESS",
        "LIMIT_EXCEEDED",
        "RESOURCE_NOT_FOUND",
    }
)
# The Bulk Read result CSV: https://www.zoho.com/crm/developer/docs/api/v7/bulk-read/download-result.html
# ("The id column is added by default"; datetimes ISO 8601).
READ_RESULT_FIRST_COLUMN = "id"
