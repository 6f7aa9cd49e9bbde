"""Records, deleted records and record count against the shapes of Zoho's documented samples.

Each shape below is recorded from the sample response of the page cited beside it (v7 pages where
v8 shows none: Zoho says the shapes are the same). Zoho's text is not copied, only key names,
nesting, value types, keys always present (null included), status codes and codes/messages.
"""

from __future__ import annotations

from typing import Any

from tests.emulator.conformance._shape import check_shape

ID = str  # record and user ids are strings of digits
USER_REF = {"name": str, "id": ID}  # Created_By / Modified_By / deleted_by in write and deleted answers
NULLABLE_STR = (str, None)

# https://www.zoho.com/crm/developer/docs/api/v7/get-records.html ("Response to the First API Call"):
# every pagination key is always in `info`, the tokens and their expiry as null when there is none.
# (The sample also shows `call` and `email` booleans whose meaning no page documents: not required.)
GET_RECORDS = {
    "data": [{"id": ID}],
    "info": {
        "per_page": int,
        "count": int,
        "page": int,
        "sort_by": str,
        "sort_order": frozenset({"asc", "desc"}),
        "more_records": bool,
        "next_page_token": NULLABLE_STR,
        "previous_page_token": NULLABLE_STR,
        "page_token_expiry": NULLABLE_STR,
    },
}
# Same page, "Sample Response for Fetching a Specific Record": `data` holds one record, no `info`;
# owner lookups carry name, id and email.
GET_RECORD = {"data": [{"id": ID, "Owner": {"name": str, "id": ID, "email": str}}]}

# https://www.zoho.com/crm/developer/docs/api/v7/update-records.html (sample response) and, for
# "record added", https://www.zoho.com/crm/developer/docs/api/insertRecords-diff.html (the v2 insert
# sample: the same entry): one entry per input record.
WRITE_DETAILS = {"Modified_Time": str, "Modified_By": USER_REF, "Created_Time": str, "id": ID, "Created_By": USER_REF}
INSERTED = {"code": "SUCCESS", "details": WRITE_DETAILS, "message": "record added", "status": "success"}
UPDATED = {"code": "SUCCESS", "details": WRITE_DETAILS, "message": "record updated", "status": "success"}
# https://www.zoho.com/crm/developer/docs/api/v7/upsert-records.html: `duplicate_field` is always there,
# null when the record was inserted.
UPSERT_UPDATED = {**UPDATED, "action": "update", "duplicate_field": str}
UPSERT_INSERTED = {**INSERTED, "action": "insert", "duplicate_field": None}
# https://www.zoho.com/crm/developer/docs/api/v7/delete-records.html: details hold the id only.
DELETED = {"code": "SUCCESS", "details": {"id": ID}, "message": "record deleted", "status": "success"}
# Same page, possible errors: a record already deleted is INVALID_DATA "record not deleted" (400).
NOT_DELETED = {"code": "INVALID_DATA", "details": {"id": ID}, "message": "record not deleted", "status": "error"}

# https://www.zoho.com/crm/developer/docs/api/v7/get-deleted-records.html: every key present; for
# permanently deleted records the names are null; `info` without tokens.
DELETED_LIST = {
    "data": [
        {
            "deleted_by": (USER_REF, None),
            "id": ID,
            "display_name": NULLABLE_STR,
            "type": frozenset({"recycle", "permanent"}),
            "created_by": (USER_REF, None),
            "deleted_time": str,
        }
    ],
    "info": {"per_page": int, "count": int, "page": int, "more_records": bool},
}

# zoho/crm-oas v8.0/record_count.json (Zoho's current v8 spec; no doc page sample was found):
# {"count": <integer>}.
RECORD_COUNT = {"count": int}


def _first_id(api: Any) -> str:
    return api.get("/Accounts", params={"fields": "Account_Name", "per_page": 1}).json()["data"][0]["id"]


def test_a_list_page_has_every_pagination_key_on_every_page(api):
    first = api.get("/Accounts", params={"fields": "Account_Name,Owner", "per_page": 5})
    assert first.status_code == 200
    assert check_shape(first.json(), GET_RECORDS) == []
    assert first.json()["info"]["previous_page_token"] is None
    token = first.json()["info"]["next_page_token"]
    nxt = api.get("/Accounts", params={"fields": "Account_Name,Owner", "per_page": 5, "page_token": token})
    assert check_shape(nxt.json(), GET_RECORDS) == []
    last = api.get("/Accounts", params={"fields": "Account_Name", "ids": _first_id(api)})
    assert check_shape(last.json(), GET_RECORDS) == []
    info = last.json()["info"]
    assert info["more_records"] is False and info["next_page_token"] is None and info["page_token_expiry"] is None


def test_one_record_is_a_one_item_data_array_without_info(api):
    r = api.get(f"/Accounts/{_first_id(api)}")
    assert r.status_code == 200
    assert check_shape(r.json(), GET_RECORD) == [] and "info" not in r.json()


def test_insert_update_and_delete_answer_one_entry_per_record(api):
    ins = api.post("/Accounts", json={"data": [{"Account_Name": "Conformance Alpha"}]})
    assert ins.status_code == 201, ins.text
    assert check_shape(ins.json(), {"data": [INSERTED]}) == []
    rid = ins.json()["data"][0]["details"]["id"]
    upd = api.put("/Accounts", json={"data": [{"id": rid, "Phone": "555-0101"}]})
    assert upd.status_code == 200 and check_shape(upd.json(), {"data": [UPDATED]}) == []
    one = api.put(f"/Accounts/{rid}", json={"data": [{"Phone": "555-0102"}]})
    assert one.status_code == 200 and check_shape(one.json(), {"data": [UPDATED]}) == []
    gone = api.delete("/Accounts", params={"ids": rid})
    assert gone.status_code == 200 and check_shape(gone.json(), {"data": [DELETED]}) == []


def test_deleting_a_record_twice_says_record_not_deleted(api):
    rid = _first_id(api)
    api.delete("/Accounts", params={"ids": rid})
    again = api.delete("/Accounts", params={"ids": rid})
    assert again.status_code == 400
    assert check_shape(again.json(), {"data": [NOT_DELETED]}) == []


def test_upsert_always_names_the_duplicate_field_null_on_insert(api):
    name = api.get(f"/Accounts/{_first_id(api)}").json()["data"][0]["Account_Name"]
    r = api.post("/Accounts/upsert", json={"data": [{"Account_Name": name}, {"Account_Name": "Conformance Beta"}]})
    assert r.status_code == 200, r.text
    assert check_shape(r.json(), {"data": [(UPSERT_UPDATED, UPSERT_INSERTED)]}) == []
    assert [d["action"] for d in r.json()["data"]] == ["update", "insert"]
    assert check_shape(r.json()["data"][1], UPSERT_INSERTED) == []


def test_deleted_records_list_every_documented_key(api):
    api.delete("/Accounts", params={"ids": _first_id(api)})
    r = api.get("/Accounts/deleted", params={"type": "all"})
    assert r.status_code == 200 and check_shape(r.json(), DELETED_LIST) == []
    assert api.get("/Leads/deleted", params={"type": "all"}).status_code == 204  # none: No Content


def test_record_count_is_an_integer(api):
    r = api.get("/Accounts/actions/count")
    assert r.status_code == 200 and check_shape(r.json(), RECORD_COUNT) == []
