"""The emulator's Bulk Read and Bulk Write jobs over HTTP, and the id index behind id-range COQL."""

from __future__ import annotations

import csv
import io
import time
import zipfile

import pytest
import requests

from sergas_nb.emulator.query.coql import run_coql
from sergas_nb.emulator.state import metadata as md
from sergas_nb.emulator.state.store import Store
from tests.fixtures.emulator import SESSION_ACCOUNTS, refresh_access_token


@pytest.fixture
def http(fresh_emulator):
    s = requests.Session()
    s.headers["Authorization"] = f"Zoho-oauthtoken {refresh_access_token(fresh_emulator)}"
    s.base = fresh_emulator.url  # type: ignore[attr-defined]
    yield s
    s.close()


def _schema(oas, doc, name):
    return oas.docs[doc]["components"]["schemas"][name]


def _unzip_csv(data: bytes) -> list[dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        (name,) = z.namelist()
        return list(csv.DictReader(io.StringIO(z.read(name).decode())))


def _wait(http, path, done, timeout=10.0):
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = http.get(http.base + path, timeout=10).json()
        seen.append(body)
        if done(body):
            return body, seen
        time.sleep(0.05)
    raise AssertionError(f"{path} never finished: {seen[-1]}")


def test_bulk_read_job_goes_through_its_states_to_a_zipped_csv(http, oas, fresh_emulator):
    r = http.post(
        http.base + "/crm/bulk/v8/read",
        json={
            "query": {
                "module": {"api_name": "Accounts"},
                "fields": ["Account_Name", "Owner", "Owner.email", "Employees"],
            }
        },
    )
    assert r.status_code == 201
    created = r.json()
    assert oas.check("bulk_read.json", _schema(oas, "bulk_read.json", "Success_Response"), created["data"][0]) == []
    job_id = created["data"][0]["details"]["id"]
    body, seen = _wait(http, f"/crm/bulk/v8/read/{job_id}", lambda b: b["data"][0]["state"] == "COMPLETED")
    states = [b["data"][0]["state"] for b in seen]
    order = ["ADDED", "QUEUED", "IN PROGRESS", "COMPLETED"]
    assert states[0] == "ADDED" and [order.index(s) for s in states] == sorted(order.index(s) for s in states)
    assert "QUEUED" in states or "IN PROGRESS" in states
    job = body["data"][0]
    assert job["result"]["count"] == SESSION_ACCOUNTS and job["result"]["per_page"] == 200_000
    assert job["result"]["more_records"] is False
    rows = _unzip_csv(http.get(http.base + job["result"]["download_url"]).content)
    assert len(rows) == SESSION_ACCOUNTS
    assert list(rows[0]) == ["id", "Account_Name", "Owner", "Owner.email", "Employees"]
    store = fresh_emulator.store
    first = store.get("Accounts", rows[0]["id"])
    assert rows[0]["Account_Name"] == first["Account_Name"]
    assert rows[0]["Owner"] == first["Owner"]["id"] and rows[0]["Owner.email"] == first["Owner"]["email"]
    assert rows[0]["Employees"] == ("" if first["Employees"] is None else str(first["Employees"]))


def test_bulk_read_criteria_and_bad_requests(http):
    r = http.post(
        http.base + "/crm/bulk/v8/read",
        json={
            "query": {
                "module": {"api_name": "Accounts"},
                "fields": ["Industry"],
                "criteria": {"field": {"api_name": "Industry"}, "comparator": "equal", "value": "Technology"},
            }
        },
    )
    job_id = r.json()["data"][0]["details"]["id"]
    body, _ = _wait(http, f"/crm/bulk/v8/read/{job_id}", lambda b: b["data"][0]["state"] == "COMPLETED")
    rows = _unzip_csv(http.get(http.base + body["data"][0]["result"]["download_url"]).content)
    assert rows and {r["Industry"] for r in rows} == {"Technology"}
    bad = http.post(
        http.base + "/crm/bulk/v8/read", json={"query": {"module": {"api_name": "Accounts"}, "fields": ["Nope"]}}
    )
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_DATA"
    missing = http.get(http.base + "/crm/bulk/v8/read/123")
    assert missing.status_code == 404 and missing.json()["code"] == "RESOURCE_NOT_FOUND"


def test_bulk_read_downloads_are_limited_to_ten_a_minute(http):
    r = http.post(
        http.base + "/crm/bulk/v8/read",
        json={"query": {"module": {"api_name": "Accounts"}, "fields": ["Account_Name"]}},
    )
    job_id = r.json()["data"][0]["details"]["id"]
    body, _ = _wait(http, f"/crm/bulk/v8/read/{job_id}", lambda b: b["data"][0]["state"] == "COMPLETED")
    url = http.base + body["data"][0]["result"]["download_url"]
    codes = [http.get(url).status_code for _ in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429


def _upload(http, fresh_emulator, rows, headers=None):
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("Accounts.csv", buf.getvalue())
    org = fresh_emulator.store.org()["zgid"]
    h = {"feature": "bulk-write", "X-CRM-ORG": org} if headers is None else headers
    return http.post(
        fresh_emulator.content_url + "/crm/v8/upload",
        headers=h,
        files={"file": ("a.zip", z.getvalue(), "application/zip")},
    )


def test_bulk_write_update_applies_rows_and_reports_each(http, oas, fresh_emulator):
    store = fresh_emulator.store
    ids = [r["id"] for r in store.select("Accounts")[:3]]
    up = _upload(
        http,
        fresh_emulator,
        [
            ["id", "Description", "Industry"],
            [ids[0], "one", "Retail"],
            [ids[1], "two", "Not an industry"],
            [ids[2], "", "Retail"],
        ],
    )
    assert up.status_code == 200
    assert oas.check("bulk_write.json", _schema(oas, "bulk_write.json", "Success_Response"), up.json()) == []
    file_id = up.json()["details"]["file_id"]
    mappings = [
        {"api_name": "id", "index": 0},
        {"api_name": "Description", "index": 1},
        {"api_name": "Industry", "index": 2},
    ]
    job = http.post(
        http.base + "/crm/bulk/v8/write",
        json={
            "operation": "update",
            "resource": [
                {
                    "type": "data",
                    "module": {"api_name": "Accounts"},
                    "file_id": file_id,
                    "find_by": "id",
                    "field_mappings": mappings,
                }
            ],
        },
    )
    assert job.status_code == 201
    job_id = job.json()["details"]["id"]
    body, _ = _wait(http, f"/crm/bulk/v8/write/{job_id}", lambda b: b["status"] == "COMPLETED")
    assert oas.check("bulk_write.json", _schema(oas, "bulk_write.json", "Bulk_Write_Response"), body) == []
    assert body["resource"][0]["file"]["updated_count"] == 2 and body["resource"][0]["file"]["skipped_count"] == 1
    result = _unzip_csv(http.get(body["result"]["download_url"]).content)  # absolute, on the download host
    assert [r["STATUS"] for r in result] == ["UPDATED", "SKIPPED", "UPDATED"]
    assert result[1]["ERRORS"] == "INVALID_DATA-Industry" and result[0]["RECORD_ID"] == ids[0]
    assert store.get("Accounts", ids[0])["Description"] == "one"
    assert store.get("Accounts", ids[2])["Description"] is None  # an empty cell clears (ignore_empty false)
    assert store.get("Accounts", ids[1])["Description"] != "two"  # the failed row changed nothing


def test_bulk_write_upload_needs_its_headers_and_a_zip(http, fresh_emulator):
    assert _upload(http, fresh_emulator, [["Account_Name"], ["x"]], headers={}).status_code == 400
    bad = http.post(
        fresh_emulator.content_url + "/crm/v8/upload",
        headers={"feature": "bulk-write", "X-CRM-ORG": fresh_emulator.store.org()["zgid"]},
        files={"file": ("a.csv", b"Account_Name\nx\n", "text/csv")},
    )
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_FILE"
    job = http.post(
        http.base + "/crm/bulk/v8/write",
        json={"operation": "insert", "resource": [{"module": {"api_name": "Accounts"}, "file_id": "42"}]},
    )
    assert job.status_code == 400


class _ScanCatalog:
    """The COQL catalog over a copy of the store's records, with no index: every query scans."""

    def __init__(self, store: Store) -> None:
        self._data = {m: {r["id"]: r for r in rows} for m, rows in store.snapshot().items()}

    def fields(self, module):
        canon = md.canonical_module(module)
        return md.field_map(canon) if canon else None

    def records(self, module):
        return self._data[module].values()

    def records_between(self, module, low, high):
        return self.records(module)  # the predicate still filters: a scan

    def get(self, module, id):
        return self._data[module].get(str(id))


def _ids(store: Store) -> list[int]:
    return sorted(int(r["id"]) for r in store.select("Accounts"))


@pytest.mark.parametrize(
    "where",
    [
        "id >= {a} and id < {b}",
        "((id >= {a} and id < {b}) and (Industry = 'Technology'))",
        "id between {a} and {b}",
        "id = {a}",
        "(id >= {a} or Industry = 'Retail')",
        "id > {b}",
    ],
)
def test_id_range_coql_from_the_index_answers_as_a_scan(where):
    store = Store(7, 3000)
    ids = _ids(store)
    a, b = ids[500], ids[1700]
    query = f"select Account_Name, Industry from Accounts where {where.format(a=a, b=b)} order by id desc limit 2000"

    scan = _ScanCatalog(store)
    assert store.coql(query) == run_coql(query, scan)


def test_the_index_follows_writes():
    store = Store(7, 300)
    last = _ids(store)[-1]
    q = f"select Account_Name from Accounts where id > {last} limit 10"
    assert store.coql(q)[0] == []
    res = store.insert("Accounts", [{"Account_Name": "After the index was built"}])
    rows, _ = store.coql(q)
    assert [r["id"] for r in rows] == [res[0]["details"]["id"]]
    store.delete("Accounts", [res[0]["details"]["id"]])
    assert store.coql(q)[0] == []
