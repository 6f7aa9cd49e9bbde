"""Inserts are safe without ``key=``: a lost answer is read back by the module's duplicate-check
field (Account_Name for Accounts, from the field metadata's ``unique``), the ids are recovered and
no twin is made; where no key is possible the outcome says so and names the fix (real SDK, real
HTTP, the emulator with faults)."""

from __future__ import annotations

import pytest

from sergas_nb import frames
from sergas_nb._writes import duplicate_check_field
from sergas_nb.client import ZohoClient, connect

POST = "^/crm/v8/Accounts$"


@pytest.fixture
def crm(fresh_emulator) -> ZohoClient:
    client = connect(emulator=fresh_emulator, env_file=None, backoff=0.01, retries=2)
    yield client
    client.close()


def test_the_duplicate_check_field_comes_from_the_field_metadata(crm):
    fmap = frames.field_map(crm.field_metadata("Accounts"))
    assert duplicate_check_field(fmap, [{"Account_Name": "A"}]) == "Account_Name"
    contacts = frames.field_map(crm.field_metadata("Contacts"))
    assert duplicate_check_field(contacts, [{"Last_Name": "B", "Email": "b@example.com"}]) == "Email"
    assert duplicate_check_field(contacts, [{"Last_Name": "B"}]) is None  # the rows do not carry it


def test_a_thousand_row_insert_whose_answers_come_too_late_is_recovered_without_key(fresh_emulator):
    z = fresh_emulator
    rows = [{"Account_Name": f"Late Insert {n}", "Employees": n} for n in range(1000)]
    with connect(emulator=z, env_file=None, timeout=(2.0, 1.0), backoff=0.01) as crm:
        # 8 of the 10 batches are applied, then answered after the client's 1 s read timeout
        z.control.add_fault("stall", path=POST, method="POST", after=True, seconds=2.5, count=8)
        result = crm.insert("Accounts", rows, progress=False)
        assert result.total == 1000 and result.ok and result.unknown == 0, result.records["status"].value_counts()
        assert result.records["id"].notna().all() and result.records["id"].is_unique
        recovered = result.records["resolution"] == "read back by Account_Name: applied"
        assert recovered.sum() == 800  # the outcome table says which key found them
        got = crm.records("Accounts", fields=["Account_Name"], where="Account_Name like 'Late Insert %'")
        assert len(got) == 1000  # each created once
        assert set(got["id"]) == set(result.records["id"])


def test_a_lost_insert_of_a_name_that_already_existed_is_not_taken_for_ours(crm, fresh_emulator):
    z = fresh_emulator
    taken = crm.records("Accounts", fields=["Account_Name"], limit=1).iloc[0]
    z.control.add_fault("reset", path=POST, method="POST", after=True)
    result = crm.insert("Accounts", [{"Account_Name": taken["Account_Name"]}, {"Account_Name": "Brand New Name"}])
    first, second = result.records.iloc[0], result.records.iloc[1]
    # the existing record was made before this write: the row is sent again and Zoho refuses it
    assert first["status"] == "error" and first["code"] == "DUPLICATE_DATA"
    assert second["status"] == "success" and second["resolution"] == "read back by Account_Name: applied"
    got = crm.records("Accounts", fields=["Account_Name"], where="Account_Name = 'Brand New Name'")
    assert list(got["id"]) == [second["id"]]


def test_rows_repeating_the_key_value_stay_unknown_and_name_the_fix(crm, fresh_emulator):
    z = fresh_emulator
    z.control.add_fault("status", path=POST, method="POST", status=502, body="html", after=True)
    result = crm.insert("Accounts", [{"Account_Name": "Twice"}, {"Account_Name": "Twice"}, {"Account_Name": "Once"}])
    status = list(result.records["status"])
    assert status[:2] == ["unknown", "unknown"] and status[2] == "success"
    assert result.records["message"].iloc[0].endswith("Give key= a field unique per row")
    assert "Account_Name" in result.records["message"].iloc[0]


def test_without_any_key_the_message_names_the_fix(crm, fresh_emulator):
    z = fresh_emulator
    z.control.add_fault("status", path="^/crm/v8/Contacts$", method="POST", status=502, body="html", after=True)
    result = crm.insert("Contacts", [{"Last_Name": "No Email"}])
    message = result.records["message"].iloc[0]
    assert result.unknown == 1
    assert "duplicate-check field" in message and "key=" in message
