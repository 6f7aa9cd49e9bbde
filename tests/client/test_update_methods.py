"""update() through a Bulk Write job: chosen automatically for large edits, the same outcome table as
batches, and, when the job's answer is lost, the CRM read back so nothing is sent twice or lost."""

from __future__ import annotations

import pandas as pd
import pytest

from sergas_nb import client as client_module
from sergas_nb.client import ZohoClient, connect
from sergas_nb.errors import ZohoValidationError

WRITE = "^/crm/bulk/v8/write$"
# A Bulk Write result on the download host (Zoho's path shape: /v2/crm/{org}/bulk-write/{job}/{job}.zip)
BULK_WRITE_RESULT = r"^/v2/crm/\d+/bulk-write/\d+/\d+\.zip$"


@pytest.fixture
def crm(fresh_emulator) -> ZohoClient:
    client = connect(emulator=fresh_emulator, env_file=None, backoff=0.01, retries=2)
    yield client
    client.close()


def _edit(crm: ZohoClient, n: int, score: int) -> pd.DataFrame:
    ids = list(crm.records("Accounts", fields=["Health_Score"], limit=n)["id"])
    return pd.DataFrame({"id": ids, "Health_Score": [score] * n})


def _scores(crm: ZohoClient, ids: list[str]) -> set[int]:
    return set(crm.records_by_ids("Accounts", ids, ["Health_Score"])["Health_Score"].astype(int))


def _puts(z) -> int:
    return int(z.control.stats()["requests"].get("PUT /crm/v8/Accounts", 0))


def _jobs(z) -> int:
    return int(z.control.stats()["requests"].get("POST /crm/bulk/v8/write", 0))


def test_bulk_write_and_batches_give_the_same_outcome_table(crm, fresh_emulator):
    edit = _edit(crm, 120, 61)
    edit.loc[5, "id"] = "6250853000999999999"  # no such record: Zoho's per-record error either way
    by_job = crm.update("Accounts", edit, method="bulk_write").records
    assert _puts(fresh_emulator) == 0 and _jobs(fresh_emulator) == 1
    edit["Health_Score"] = 62
    by_batches = crm.update("Accounts", edit, method="batches").records
    assert list(by_job.columns) == list(by_batches.columns)
    assert list(by_job["status"]) == list(by_batches["status"])
    assert (by_job["status"] == "error").sum() == 1 and by_job.loc[5, "status"] == "error"
    assert list(by_job["id"].astype(str)) == list(by_batches["id"].astype(str))
    assert _scores(crm, [i for i in edit["id"] if i != "6250853000999999999"]) == {62}


def test_auto_uses_one_job_for_a_large_update_and_says_so(crm, fresh_emulator, monkeypatch):
    monkeypatch.setattr(client_module, "BULK_WRITE_MIN", 100)
    small, large = _edit(crm, 99, 70), _edit(crm, 150, 71)
    assert crm.update("Accounts", small).succeeded == 99
    assert _jobs(fresh_emulator) == 0 and _puts(fresh_emulator) == 1
    result = crm.update("Accounts", large)
    assert result.succeeded == 150 and _jobs(fresh_emulator) == 1 and _puts(fresh_emulator) == 1
    m = crm.metrics()
    assert (m["kind"] == "write_method").sum() == 1
    # a trigger asks for workflows, which Bulk Write jobs do not run: batches then
    assert crm.update("Accounts", large.assign(Health_Score=72), trigger=["workflow"]).succeeded == 150
    assert _jobs(fresh_emulator) == 1


def test_a_job_that_never_started_is_sent_in_batches(crm, fresh_emulator):
    edit = _edit(crm, 150, 73)
    fresh_emulator.control.add_fault("reset", path=WRITE, method="POST", count=5)  # job never created
    result = crm.update("Accounts", edit, method="bulk_write")
    assert result.succeeded == 150 and result.failed == 0
    assert _puts(fresh_emulator) == 2  # every record went in batches, once
    assert _scores(crm, list(edit["id"])) == {73}


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "reset", "after": True},
        {"kind": "status", "status": 502, "body": "html", "after": True},
        {"kind": "malformed", "after": True},
    ],
    ids=["reset", "502-html", "malformed"],
)
def test_a_lost_job_creation_answer_is_settled_at_once_and_says_so(crm, fresh_emulator, fault):
    # Zoho created the job but its answer (the job id) is lost: Bulk Write has no call that lists
    # jobs (crm-oas v8.0 bulk_write.json: upload, create, GET one job by id, download), so the
    # records are read back at once, never waited out, and those not applied go in batches.
    ids = list(crm.records("Accounts", fields=["id"], limit=150)["id"])
    edit = pd.DataFrame({"id": ids, "Description": "after a lost job answer"})  # a value no seed holds
    fresh_emulator.control.add_fault(path=WRITE, method="POST", **fault)
    result = crm.update("Accounts", edit, method="bulk_write")
    assert result.succeeded == 150 and result.failed == 0 and result.unknown == 0
    assert _jobs(fresh_emulator) == 1 and _puts(fresh_emulator) == 2  # once each, never twice
    assert set(result.records["resolution"]) == {"read back: not applied; sent again"}
    held = crm.records_by_ids("Accounts", ids, ["Description"])["Description"]
    assert set(held) == {"after a lost job answer"} and len(held) == 150


def test_a_job_zoho_refused_to_create_goes_in_batches_without_reading_back(crm, fresh_emulator):
    # 429 on every attempt at the job: surely no job, so nothing to read back or to call lost
    ids = list(crm.records("Accounts", fields=["id"], limit=150)["id"])
    edit = pd.DataFrame({"id": ids, "Description": "after a refused job"})
    z = fresh_emulator
    z.control.add_fault("429", path=WRITE, method="POST", count=10)
    before = z.control.stats()["requests"]
    result = crm.update("Accounts", edit, method="bulk_write")
    after = z.control.stats()["requests"]
    assert result.succeeded == 150 and result.failed == 0 and _puts(z) == 2
    assert result.records["resolution"].isna().all() and result.resolved == 0
    read_back = [k for k in ("GET /crm/v8/Accounts", "POST /crm/v8/coql") if after.get(k, 0) != before.get(k, 0)]
    assert read_back == []
    held = crm.records_by_ids("Accounts", ids, ["Description"])["Description"]
    assert set(held) == {"after a refused job"}


def test_a_job_applied_whose_result_was_lost_is_read_back_not_resent(crm, fresh_emulator):
    edit = _edit(crm, 150, 74)
    fresh_emulator.control.add_fault("status", path=BULK_WRITE_RESULT, method="GET", status=502, body="html", count=10)
    result = crm.update("Accounts", edit, method="bulk_write")
    assert result.succeeded == 150 and result.failed == 0 and _puts(fresh_emulator) == 0
    assert set(result.records["resolution"]) == {"applied by the Bulk Write job (read back)"}
    assert _scores(crm, list(edit["id"])) == {74}


def test_a_lost_job_that_cannot_be_read_back_is_unknown_never_resent(crm, fresh_emulator):
    edit = _edit(crm, 150, 76)
    z = fresh_emulator
    z.control.add_fault("status", path=BULK_WRITE_RESULT, method="GET", status=502, body="html", count=10)
    # Lost records are read back by id (GET /crm/v8/Accounts?ids=...), and by COQL before that.
    z.control.add_fault("status", path="^/crm/v8/Accounts$", method="GET", status=503, body="html", count=50)
    z.control.add_fault("status", path="^/crm/v8/coql$", method="POST", status=503, body="html", count=50)
    result = crm.update("Accounts", edit, method="bulk_write")
    assert result.unknown == 150 and result.succeeded == 0 and _puts(z) == 0
    assert set(result.records["resolution"]) == {"unresolved"}
    assert "may or may not have applied" in result.records["message"].iloc[0]


def test_bulk_write_refuses_what_a_job_cannot_do_before_sending(crm, fresh_emulator):
    edit = _edit(crm, 3, 75)
    ragged = [{"id": edit["id"][0], "Health_Score": None}, {"id": edit["id"][1], "Rating": "Active"}]
    with pytest.raises(ZohoValidationError, match="Bulk Write cannot both clear"):
        crm.update("Accounts", ragged, method="bulk_write")
    with pytest.raises(ZohoValidationError, match="trigger"):
        crm.update("Accounts", edit, method="bulk_write", trigger=["workflow"])
    with pytest.raises(ZohoValidationError, match="method"):
        crm.update("Accounts", edit, method="fastest")  # type: ignore[arg-type]
    assert _jobs(fresh_emulator) == 0 and _puts(fresh_emulator) == 0
