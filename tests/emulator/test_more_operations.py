"""Round two of the emulator's operations: typed counts, deleted records, users count, operations it
answers as unsupported, and error codes as Zoho's OpenAPI enums spell them."""

from __future__ import annotations

import jsonschema
import pytest

from tests.fixtures.emulator import SESSION_ACCOUNTS

# What a strictly typed client generated from Zoho's current Record Count spec expects.
STRICT_COUNT = {
    "type": "object",
    "properties": {"count": {"type": "integer"}},
    "required": ["count"],
    "additionalProperties": False,
}


def test_record_count_is_an_integer_for_a_strictly_typed_client(api):
    body = api.get("/Accounts/actions/count").json()
    jsonschema.validate(body, STRICT_COUNT)
    assert isinstance(body["count"], int) and body["count"] == SESSION_ACCOUNTS
    filtered = api.get("/Accounts/actions/count", params={"criteria": "(Industry:equals:Technology)"}).json()
    jsonschema.validate(filtered, STRICT_COUNT)
    assert 0 < filtered["count"] < SESSION_ACCOUNTS


def test_users_count_follows_users_json(api, oas):
    r = api.get("/users/actions/count")
    assert r.status_code == 200 and oas.errors(r) == []
    assert r.json()["count"] == str(len(api.get("/users").json()["users"]))  # users.json types it a string
    assert api.get("/users/actions/count", params={"type": "CurrentUser"}).json() == {"count": "1"}
    assert api.get("/users/actions/count", params={"type": "Nobody"}).json()["code"] == "INVALID_DATA"


def test_deleted_records_list_what_a_sync_needs(api, oas, fresh_emulator):
    ids = [row["id"] for row in api.get("/Accounts", params={"fields": "Account_Name", "per_page": 3}).json()["data"]]
    names = {
        row["id"]: row["Account_Name"]
        for row in api.get("/Accounts", params={"fields": "Account_Name", "ids": ",".join(ids)}).json()["data"]
    }
    assert api.get("/Accounts/deleted").status_code == 204  # nothing deleted yet
    assert api.delete("/Accounts", params={"ids": ",".join(ids[:2])}).status_code == 200
    assert api.delete(f"/Accounts/{ids[2]}").status_code == 200
    for kind in ("all", "recycle"):
        r = api.get("/Accounts/deleted", params={"type": kind})
        assert r.status_code == 200 and oas.errors(r) == []
        body = r.json()
        assert {d["id"] for d in body["data"]} == set(ids)
        assert body["info"]["count"] == 3 and body["info"]["more_records"] is False
        entry = body["data"][0]
        assert entry["id"] == ids[2]  # newest first
        assert entry["display_name"] == names[ids[2]] and entry["type"] == "recycle"
        assert entry["deleted_by"]["id"] and entry["created_by"]["id"] and entry["deleted_time"].endswith("+00:00")
    assert api.get("/Accounts/deleted", params={"type": "permanent"}).status_code == 204
    assert api.get("/Contacts/deleted").status_code == 204  # per module
    page = api.get("/Accounts/deleted", params={"per_page": 2}).json()
    assert len(page["data"]) == 2 and page["info"]["more_records"] is True
    assert api.get("/Accounts/deleted", params={"type": "gone"}).json()["code"] == "INVALID_DATA"
    assert api.get("/Widgets/deleted").json()["code"] == "INVALID_MODULE"
    later = "2999-01-01T00:00:00+00:00"
    assert api.get("/Accounts/deleted", headers={"If-Modified-Since": later}).status_code == 304


UNSUPPORTED = [
    ("POST", "/users"),
    ("PUT", "/users"),
    ("PUT", "/users/6250853000000200001"),
    ("DELETE", "/users/6250853000000200001"),
    ("GET", "/org/photo"),
    ("DELETE", "/org/photo"),
    ("PUT", "/settings/modules"),
    ("POST", "/Accounts/actions/mass_update"),
    ("POST", "/Accounts/6250853000000302524/actions/clone"),
]


@pytest.mark.parametrize(("method", "path"), UNSUPPORTED)
def test_operations_the_emulator_does_not_implement_are_unsupported_never_a_module(api, oas, method, path):
    r = api.request(method, path, json={"data": [{}]})
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "API_NOT_SUPPORTED" and body["code"] != "INVALID_MODULE"
    assert oas.errors(r) == []


def test_unsupported_calls_still_need_a_token(fresh_emulator):
    import requests

    r = requests.post(fresh_emulator.url + "/crm/v8/users", json={}, timeout=10)
    assert r.status_code == 401 and r.json()["code"] == "INVALID_TOKEN"


def test_module_messages_are_spelled_as_each_operation_s_enum(api, oas):
    listing = api.get("/Widgets", params={"fields": "Name"})
    count = api.get("/Widgets/actions/count")
    assert listing.json()["message"] == "The module name given seems to be invalid"  # record.json
    assert count.json()["message"] == "the module name given seems to be invalid"  # record_count.json
    assert oas.errors(listing) == [] and oas.errors(count) == []


@pytest.mark.parametrize("per_page", ["0", "201", "x", "-3"])
def test_search_with_a_bad_per_page_is_invalid_request(api, oas, per_page):
    r = api.get("/Accounts/search", params={"word": "Retail", "per_page": per_page})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_REQUEST" and oas.errors(r) == []


def test_search_with_unknown_fields_is_invalid_query(api, oas):
    r = api.get("/Accounts/search", params={"word": "Retail", "fields": "Account_Name,No_Such"})
    assert r.status_code == 400 and oas.errors(r) == []
    assert r.json()["code"] == "INVALID_QUERY" and r.json()["details"]["api_name"] == "No_Such"


def test_count_rejects_cvid_with_search_params(api, oas):
    r = api.get("/Accounts/actions/count", params={"cvid": "1", "word": "Retail"})
    assert r.status_code == 400 and r.json()["code"] == "AMBIGUITY_DURING_PROCESSING" and oas.errors(r) == []
