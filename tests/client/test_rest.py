"""Tier 3: crm.request / crm.paginate against the emulator: a read, a write, error answers, host
pinning, retries for reads only, page tokens past 2,000."""

from __future__ import annotations

import pytest

from sergas_nb.client import ZohoClient, connect
from sergas_nb.errors import ZohoAPIError, ZohoValidationError
from tests.fixtures.emulator import SESSION_ACCOUNTS


@pytest.fixture
def crm(fresh_emulator) -> ZohoClient:
    client = connect(emulator=fresh_emulator, env_file=None, backoff=0.01, retries=3)
    yield client
    client.close()


def _calls(crm: ZohoClient, operation: str):
    m = crm.metrics()
    return m[(m["kind"] == "call") & (m["operation"] == operation)]


def test_request_reads_an_endpoint_the_client_does_not_wrap(crm, fresh_emulator):
    users = crm.request("GET", "/crm/v8/users", params={"type": "AllUsers"})["users"]
    assert users and all("email" in u for u in users)
    org = crm.request("GET", "/crm/v8/org")["org"][0]
    assert org["company_name"]
    # an absolute URL on the configured host is the same call
    same = crm.request("GET", fresh_emulator.url + "/crm/v8/org")
    assert same["org"][0]["id"] == org["id"]
    assert len(_calls(crm, "request GET")) == 3


def test_request_writes_and_the_record_is_in_the_crm(crm, fresh_emulator):
    answer = crm.request("POST", "/crm/v8/Accounts", json={"data": [{"Account_Name": "Tier Three Ltd"}]})
    outcome = answer["data"][0]
    assert outcome["status"] == "success", outcome
    new_id = outcome["details"]["id"]
    assert crm.record("Accounts", new_id)["Account_Name"] == "Tier Three Ltd"
    changed = crm.request("PUT", f"/crm/v8/Accounts/{new_id}", json={"data": [{"Account_Name": "Tier 3 Ltd"}]})
    assert changed["data"][0]["status"] == "success"
    assert crm.record("Accounts", new_id)["Account_Name"] == "Tier 3 Ltd"


def test_request_error_answer_is_a_zoho_api_error(crm):
    with pytest.raises(ZohoAPIError) as err:
        crm.request("GET", "/crm/v8/settings/fields", params={"module": "NoSuchModule"})
    assert err.value.code == "INVALID_MODULE" and err.value.status == 400
    assert "GET /crm/v8/settings/fields" in str(err.value)
    assert _calls(crm, "request GET")["status"].iloc[-1] == "INVALID_MODULE"


def test_request_no_content_is_an_empty_dict(crm):
    assert crm.request("GET", "/crm/v8/Accounts/search", params={"word": "zzqqxxnothing"}) == {}


@pytest.mark.parametrize(
    "path",
    ["https://evil.example/crm/v8/org", "//evil.example/crm/v8/org", "@evil.example/crm/v8/org", "crm/v8/org"],
)
def test_request_never_leaves_the_api_host(crm, fresh_emulator, path):
    before = sum(fresh_emulator.control.stats()["requests"].values())
    with pytest.raises(ZohoValidationError) as err:
        crm.request("GET", path)
    assert "path" in str(err.value)
    assert sum(fresh_emulator.control.stats()["requests"].values()) == before  # nothing was sent


def test_request_bad_method_is_refused_before_sending(crm):
    with pytest.raises(ZohoValidationError, match="method"):
        crm.request("TRACE", "/crm/v8/org")


def test_request_retries_reads_but_not_writes(crm, fresh_emulator):
    crm.request("GET", "/crm/v8/org")  # token in hand
    fresh_emulator.control.add_fault("status", path="^/crm/v8/org$", method="GET", count=2, status=502, body="html")
    assert crm.request("GET", "/crm/v8/org")["org"]
    assert _calls(crm, "request GET")["retries"].iloc[-1] == 2

    fresh_emulator.control.add_fault("status", path="^/crm/v8/Accounts$", method="POST", count=1, status=502)
    with pytest.raises(ZohoAPIError) as err:
        crm.request("POST", "/crm/v8/Accounts", json={"data": [{"Account_Name": "Maybe Written"}]})
    assert err.value.status == 502
    assert fresh_emulator.control.requests_to("/crm/v8/Accounts", "POST") == 1  # sent once, never repeated


def test_paginate_follows_page_tokens_past_2000_records(crm):
    ids = [r["id"] for r in crm.paginate("/crm/v8/Accounts", params={"fields": "Account_Name"})]
    assert len(ids) == SESSION_ACCOUNTS == len(set(ids))
    pages = list(crm.paginate("/crm/v8/Accounts", params={"fields": "id"}, pages=True))
    assert len(pages) == -(-SESSION_ACCOUNTS // 200)
    assert any(p["info"].get("next_page_token") for p in pages)
    assert len(list(crm.paginate("/crm/v8/Accounts", params={"fields": "id"}, max_records=450))) == 450


def test_paginate_takes_the_one_list_of_other_answers(crm):
    users = list(crm.paginate("/crm/v8/users", params={"type": "AllUsers"}, key=None))
    assert users == crm.request("GET", "/crm/v8/users", params={"type": "AllUsers", "per_page": 200})["users"]


def test_paginate_refuses_bad_arguments_before_the_first_page(crm):
    with pytest.raises(ZohoValidationError, match="per_page"):
        crm.paginate("/crm/v8/Accounts", per_page=500)
    with pytest.raises(ZohoValidationError, match="path"):
        crm.paginate("https://evil.example/crm/v8/Accounts")
