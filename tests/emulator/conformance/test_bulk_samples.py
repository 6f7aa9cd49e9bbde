"""The emulator's Bulk Read and Bulk Write answers have the shapes of Zoho's documented samples
(shapes_bulk.py names each source), including the hosts each one lives on."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from urllib.parse import urlsplit

import pytest
import requests

from tests.emulator.conformance import shapes_bulk as S
from tests.emulator.conformance._shape import check_shape


@pytest.fixture
def http(fresh_emulator, access_token):
    s = requests.Session()
    s.headers["Authorization"] = f"Zoho-oauthtoken {access_token}"
    yield s
    s.close()


def _until(http, url, done):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        body = http.get(url, timeout=10).json()
        if done(body):
            return body
        time.sleep(0.05)
    raise AssertionError(f"{url} never finished")


def _csv(data: bytes) -> list[list[str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        (name,) = z.namelist()
        return list(csv.reader(io.StringIO(z.read(name).decode())))


def test_bulk_read_answers_have_the_sample_shapes(http, fresh_emulator):
    z = fresh_emulator
    created = http.post(
        z.url + "/crm/bulk/v8/read",
        json={"query": {"module": {"api_name": "Accounts"}, "fields": ["Account_Name", "Created_Time"]}},
        timeout=10,
    )
    assert created.status_code == 201
    assert check_shape(created.json(), S.READ_CREATED) == []
    job_id = created.json()["data"][0]["details"]["id"]
    early = http.get(f"{z.url}/crm/bulk/v8/read/{job_id}", timeout=10).json()
    assert check_shape(early, S.READ_DETAILS) == []
    done = _until(http, f"{z.url}/crm/bulk/v8/read/{job_id}", lambda b: b["data"][0]["state"] == "COMPLETED")
    assert check_shape(done, S.READ_DETAILS) == []
    result = done["data"][0]["result"]
    assert check_shape(result, S.READ_RESULT) == []
    assert result["download_url"].startswith("/crm/bulk/v8/read/")  # relative, on the API host
    rows = _csv(http.get(z.url + result["download_url"], timeout=10).content)
    assert rows[0][0] == S.READ_RESULT_FIRST_COLUMN
    assert "T" in rows[1][2] and rows[1][2][-6] in "+-"  # Created_Time as ISO 8601 with offset


def _upload(http, z, rows):
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr("Accounts.csv", buf.getvalue())
    return http.post(
        z.content_url + "/crm/v8/upload",
        headers={"feature": "bulk-write", "X-CRM-ORG": str(z.store.org()["zgid"])},
        files={"file": ("Accounts.zip", data.getvalue(), "application/zip")},
        timeout=10,
    )


def test_bulk_write_answers_have_the_sample_shapes(http, fresh_emulator):
    z = fresh_emulator
    ids = [r["id"] for r in z.store.select("Accounts")[:2]]
    up = _upload(http, z, [["id", "Industry", "Description"], [ids[0], "Retail", "a"], [ids[1], "Nope", "b"]])
    assert up.status_code == 200 and check_shape(up.json(), S.UPLOADED) == []
    job = http.post(
        z.url + "/crm/bulk/v8/write",
        json={
            "operation": "update",
            "resource": [
                {
                    "type": "data",
                    "module": {"api_name": "Accounts"},
                    "file_id": str(up.json()["details"]["file_id"]),
                    "find_by": "id",
                    "field_mappings": [
                        {"api_name": "id", "index": 0},
                        {"api_name": "Industry", "index": 1},
                        {"api_name": "Description", "index": 2},
                    ],
                }
            ],
        },
        timeout=10,
    )
    assert job.status_code == 201 and check_shape(job.json(), S.WRITE_CREATED) == []
    url = f"{z.url}/crm/bulk/v8/write/{job.json()['details']['id']}"
    assert check_shape(http.get(url, timeout=10).json(), S.WRITE_DETAILS) == []
    done = _until(http, url, lambda b: b["status"] == "COMPLETED")
    assert check_shape(done, S.WRITE_DETAILS) == []
    assert check_shape(done["resource"][0]["file"], S.WRITE_FILE) == []
    download = done["result"]["download_url"]
    parts, host = urlsplit(download), urlsplit(z.download_url)
    assert (parts.scheme, parts.netloc) == (host.scheme, host.netloc)  # absolute, on the download host
    org, job_id = str(z.store.org()["zgid"]), done["id"]
    assert parts.path == f"/v2/crm/{org}/bulk-write/{job_id}/{job_id}.zip"  # the path shape of Zoho's sample
    rows = _csv(http.get(download, timeout=10).content)
    assert tuple(rows[0][-3:]) == S.WRITE_RESULT_COLUMNS and rows[0][:3] == ["id", "Industry", "Description"]
    assert {r[-3] for r in rows[1:]} <= S.WRITE_RESULT_STATUSES
    errors = [r[-1] for r in rows[1:] if r[-1]]
    assert errors and all(e.split("-", 1)[0] in S.WRITE_RESULT_ERRORS for e in errors)


def test_the_shapes_can_fail():
    # What the emulator answered before issue 15: shapes that differ must be reported.
    assert check_shape({"data": [{"state": "DONE"}]}, S.READ_DETAILS) != []
    assert check_shape({"download_url": 5}, {"download_url": str}) != []
