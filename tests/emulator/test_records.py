"""Records API over real HTTP: listing and its paging limits, single reads, writes and their validation."""

from __future__ import annotations

import json
import time
from email.utils import formatdate, parsedate_to_datetime

import pytest

from tests.fixtures.emulator import SESSION_ACCOUNTS

FIELDS = "Account_Name,Industry,Annual_Revenue,Owner,Parent_Account,Health_Score,Account_Status,Created_Time"


def _all_ids(api, **params):
    """Walk a full listing the way a client must: page 1..10, then next_page_token."""
    ids, page, token = [], 1, None
    while True:
        q = {"fields": "Account_Name", "per_page": 200, **params}
        q.update({"page_token": token} if token else {"page": page})
        r = api.get("/Accounts", params=q)
        assert r.status_code == 200, r.text
        body = r.json()
        ids += [row["id"] for row in body["data"]]
        if not body["info"]["more_records"]:
            return ids
        page += 1
        token = body["info"]["next_page_token"] if page > 10 else None


def test_list_returns_requested_fields_in_zoho_shape(api, oas):
    r = api.get("/Accounts", params={"fields": FIELDS, "per_page": 5})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert oas.errors(r) == []
    assert body["info"]["count"] == 5 and body["info"]["per_page"] == 5 and body["info"]["more_records"] is True
    row = body["data"][0]
    assert set(row) == {"id", *FIELDS.split(",")}
    assert len(row["id"]) == 19 and row["id"].isdigit()
    assert set(row["Owner"]) == {"name", "id", "email"}
    assert isinstance(row["Annual_Revenue"], float)
    assert row["Created_Time"].endswith("+00:00")


def test_fields_parameter_is_required_and_capped_at_50(api, oas):
    r = api.get("/Accounts")
    assert r.status_code == 400 and r.json()["code"] == "REQUIRED_PARAM_MISSING"
    r = api.get("/Accounts", params={"fields": ",".join(f"F{i}" for i in range(51))})
    assert r.status_code == 400 and r.json()["code"] == "LIMIT_EXCEEDED"
    r = api.get("/Accounts", params={"fields": "Account_Name,No_Such_Field"})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"
    assert oas.errors(r) == []


def test_per_page_is_at_most_200(api):
    assert api.get("/Accounts", params={"fields": "Account_Name", "per_page": 201}).json()["code"] == "INVALID_DATA"
    assert api.get("/Accounts", params={"fields": "Account_Name", "per_page": 0}).status_code == 400
    assert api.get("/Accounts", params={"fields": "Account_Name", "per_page": "x"}).status_code == 400


def test_page_reaches_2000_records_then_page_token_takes_over(api):
    last = api.get("/Accounts", params={"fields": "Account_Name", "page": 10})
    assert last.status_code == 200 and last.json()["info"]["more_records"] is True
    beyond = api.get("/Accounts", params={"fields": "Account_Name", "page": 11})
    assert beyond.status_code == 400 and beyond.json()["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
    token = last.json()["info"]["next_page_token"]
    nxt = api.get("/Accounts", params={"fields": "Account_Name", "page_token": token})
    assert nxt.status_code == 200
    assert nxt.json()["data"][0]["id"] not in {row["id"] for row in last.json()["data"]}


def test_a_full_walk_sees_every_record_once_in_id_order(api):
    ids = _all_ids(api)
    assert len(ids) == len(set(ids)) == SESSION_ACCOUNTS
    assert ids == sorted(ids, key=int, reverse=True)  # default sort: id descending
    asc = _all_ids(api, sort_order="asc")
    assert asc == ids[::-1]


def test_page_token_is_bound_to_its_parameters(api):
    first = api.get("/Accounts", params={"fields": "Account_Name", "per_page": 200}).json()
    token = first["info"]["next_page_token"]
    r = api.get("/Accounts", params={"fields": "Account_Name,Industry", "page_token": token})
    assert r.status_code == 400 and r.json()["code"] == "TOKEN_BOUND_DATA_MISMATCH"
    r = api.get("/Accounts", params={"fields": "Account_Name", "page_token": token, "page": 2})
    assert r.status_code == 400 and r.json()["code"] == "AMBIGUITY_DURING_PROCESSING"
    r = api.get("/Accounts", params={"fields": "Account_Name", "page_token": token[:-3] + "abc"})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"
    r = api.get("/Accounts", params={"fields": "Account_Name", "page_token": token[:-3] + "\u00e9bc"})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"  # not a 500


def test_page_token_continues_after_concurrent_inserts(api):
    first = api.get("/Accounts", params={"fields": "Account_Name", "per_page": 50}).json()
    api.post("/Accounts", data=json.dumps({"data": [{"Account_Name": "Inserted Meanwhile Ltd"}]}))
    second = api.get(
        "/Accounts", params={"fields": "Account_Name", "per_page": 50, "page_token": first["info"]["next_page_token"]}
    ).json()
    assert int(second["data"][0]["id"]) < int(first["data"][-1]["id"])  # no repeat, no gap
    assert {r["id"] for r in first["data"]}.isdisjoint(r["id"] for r in second["data"])


def test_sort_by_modified_time_and_bad_sort_params(api):
    rows = api.get(
        "/Accounts",
        params={"fields": "Modified_Time", "sort_by": "Modified_Time", "sort_order": "asc", "per_page": 200},
    ).json()["data"]
    times = [r["Modified_Time"] for r in rows]
    assert times == sorted(times)
    assert (
        api.get("/Accounts", params={"fields": "Account_Name", "sort_by": "Industry"}).json()["code"] == "INVALID_DATA"
    )
    assert api.get("/Accounts", params={"fields": "Account_Name", "sort_order": "up"}).json()["code"] == "INVALID_DATA"


def test_ids_filter_and_unknown_ids(api):
    ids = [r["id"] for r in api.get("/Accounts", params={"fields": "Account_Name", "per_page": 3}).json()["data"]]
    r = api.get("/Accounts", params={"fields": "Account_Name", "ids": ",".join([ids[2], ids[0], "1"])})
    assert [row["id"] for row in r.json()["data"]] == [ids[2], ids[0]]
    assert api.get("/Accounts", params={"fields": "Account_Name", "ids": "1,2"}).status_code == 204


def test_every_answer_carries_the_time_it_was_sent_as_its_date(api):
    """An origin server's ``Date`` (RFC 9110 6.6.1), as Zoho's answers carry it: the time the
    answer left, to the second, even on a busy loop (the mirror times its reads by it)."""
    for _ in range(3):
        before = int(time.time())
        r = api.get("/Accounts", params={"fields": "Account_Name", "per_page": 1})
        after = time.time()
        sent = parsedate_to_datetime(r.headers["Date"]).timestamp()
        assert before <= sent <= after, (before, r.headers["Date"], after)
        time.sleep(0.4)


def test_if_modified_since_returns_only_newer_records_or_304(api):
    since = formatdate(time.time() - 5, usegmt=True)
    assert (
        api.get("/Accounts", params={"fields": "Account_Name"}, headers={"If-Modified-Since": since}).status_code == 304
    )
    r = api.post("/Accounts", data=json.dumps({"data": [{"Account_Name": "Fresh Account Inc"}]}))
    new_id = r.json()["data"][0]["details"]["id"]
    r = api.get("/Accounts", params={"fields": "Account_Name"}, headers={"If-Modified-Since": since})
    assert r.status_code == 200 and [row["id"] for row in r.json()["data"]] == [new_id]
    r = api.get(
        "/Accounts", params={"fields": "Account_Name"}, headers={"If-Modified-Since": "0001-01-01T00:00:00+05:00"}
    )  # before year 1 in UTC
    assert r.status_code == 400 and r.json()["details"] == {"param_name": "If-Modified-Since"}


def test_empty_module_answers_204(api, fresh_emulator):
    fresh_emulator.control.reseed(accounts=0)
    r = api.get("/Accounts", params={"fields": "Account_Name"})
    assert r.status_code == 204 and r.content == b""


def test_unknown_module_and_unknown_path(api, oas):
    r = api.get("/Widgets", params={"fields": "Name"})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_MODULE"
    assert oas.errors(r) == []
    r = api.get("/Accounts/1/photo/x")
    assert r.status_code == 404 and r.json()["code"] == "INVALID_URL_PATTERN"
    r = api.patch("/Accounts", data="{}")
    assert r.status_code == 405 and r.json()["code"] == "INVALID_REQUEST_METHOD"


def test_get_one_record(api, oas):
    rid = api.get("/Accounts", params={"fields": "Account_Name", "per_page": 1}).json()["data"][0]["id"]
    r = api.get(f"/Accounts/{rid}")
    assert r.status_code == 200 and oas.errors(r) == []
    rec = r.json()["data"][0]
    assert rec["id"] == rid and "Health_Score" in rec and "Billing_City" in rec
    assert api.get("/Accounts/1234567890123456789").status_code == 204
    assert api.get("/Accounts/not-an-id").json()["code"] == "INVALID_DATA"


def test_insert_reports_each_record_in_order(api, oas, fresh_emulator):
    # The SDK sends no Content-Type and ids as numbers: both must be accepted.
    owner = fresh_emulator.store.users()[2]["id"]
    parent = api.get("/Accounts", params={"fields": "Account_Name", "per_page": 1}).json()["data"][0]
    body = {
        "data": [
            {
                "Account_Name": "Good One Ltd",
                "Owner": {"id": int(owner)},
                "Parent_Account": {"id": int(parent["id"])},
                "Annual_Revenue": 1200,
                "Health_Score": 77,
                "Account_Status": "At Risk",
                "Last_Engagement_Date": "2025-01-31",
            },
            {"Account_Name": "Bad Score Ltd", "Health_Score": "high"},
            {"Industry": "Technology"},
            {"Account_Name": parent["Account_Name"].upper()},
            {"Account_Name": "Bad Status Ltd", "Account_Status": "Sleeping"},
            {"Account_Name": "Bad Parent Ltd", "Parent_Account": {"id": "1234567890123456789"}},
            {"Account_Name": "Bad Date Ltd", "Last_Engagement_Date": "31/01/2025"},
            {"Account_Name": "Read Only Ltd", "Created_Time": "2020-01-01T00:00:00+00:00"},
        ]
    }
    r = api.post("/Accounts", data=json.dumps(body))  # no Content-Type header
    assert r.status_code == 207, r.text
    assert oas.errors(r) == []
    out = r.json()["data"]
    assert [o["code"] for o in out] == [
        "SUCCESS",
        "INVALID_DATA",
        "MANDATORY_NOT_FOUND",
        "DUPLICATE_DATA",
        "INVALID_DATA",
        "INVALID_DATA",
        "INVALID_DATA",
        "INVALID_DATA",
    ]
    assert out[0]["message"] == "record added" and set(out[0]["details"]) >= {
        "id",
        "Modified_Time",
        "Modified_By",
        "Created_Time",
        "Created_By",
    }
    assert out[1]["details"] == {
        "api_name": "Health_Score",
        "json_path": "$.data[1].Health_Score",
        "expected_data_type": "integer",
    }
    assert out[2]["details"]["api_name"] == "Account_Name"
    assert out[3]["details"]["duplicate_record"]["id"] == parent["id"]
    assert out[4]["details"]["api_name"] == "Account_Status"
    assert out[5]["details"]["api_name"] == "Parent_Account"
    assert out[7]["details"]["api_name"] == "Created_Time"
    new = api.get(f"/Accounts/{out[0]['details']['id']}").json()["data"][0]
    assert new["Owner"]["id"] == owner and new["Parent_Account"] == {"name": parent["Account_Name"], "id": parent["id"]}
    assert new["Annual_Revenue"] == 1200.0 and new["Account_Status"] == "At Risk"
    assert new["Created_By"]["email"] == fresh_emulator.user_email
    count = api.get("/Accounts/actions/count").json()["count"]
    assert int(count) == SESSION_ACCOUNTS + 1


def test_all_good_insert_is_201_and_all_bad_is_400(api):
    assert api.post("/Leads", data=json.dumps({"data": [{"Last_Name": "Ng", "Company": "Acme"}]})).status_code == 201
    r = api.post("/Leads", data=json.dumps({"data": [{"Company": "Acme"}]}))
    assert r.status_code == 400 and r.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"


def test_update_maintains_modified_fields_and_rejects_unknown_ids(api):
    rows = api.get("/Accounts", params={"fields": "Modified_Time,Health_Score", "per_page": 2}).json()["data"]
    r = api.put(
        "/Accounts",
        data=json.dumps(
            {
                "data": [
                    {"id": int(rows[0]["id"]), "Health_Score": 12},
                    {"id": "1234567890123456789", "Health_Score": 13},
                    {"Health_Score": 14},
                    {"id": rows[1]["id"], "Account_Name": None},
                ]
            }
        ),
    )
    assert r.status_code == 207
    out = r.json()["data"]
    assert [o["code"] for o in out] == ["SUCCESS", "INVALID_DATA", "MANDATORY_NOT_FOUND", "MANDATORY_NOT_FOUND"]
    assert out[0]["message"] == "record updated"
    assert out[1]["details"]["api_name"] == "id"
    rec = api.get(f"/Accounts/{rows[0]['id']}").json()["data"][0]
    assert rec["Health_Score"] == 12 and rec["Modified_Time"] > rows[0]["Modified_Time"]
    assert api.get(f"/Accounts/{rows[1]['id']}").json()["data"][0]["Account_Name"]  # unchanged


def test_update_one_by_path_and_duplicate_rename(api):
    rows = api.get("/Accounts", params={"fields": "Account_Name", "per_page": 2}).json()["data"]
    r = api.put(f"/Accounts/{rows[0]['id']}", data=json.dumps({"data": [{"Account_Name": "Renamed Corp"}]}))
    assert r.status_code == 200 and r.json()["data"][0]["details"]["id"] == rows[0]["id"]
    r = api.put(f"/Accounts/{rows[1]['id']}", data=json.dumps({"data": [{"Account_Name": "renamed corp"}]}))
    assert r.status_code == 400 and r.json()["data"][0]["code"] == "DUPLICATE_DATA"
    # the old name is free again
    r = api.post("/Accounts", data=json.dumps({"data": [{"Account_Name": rows[0]["Account_Name"]}]}))
    assert r.status_code == 201


def test_more_than_100_records_is_one_top_level_error(api, oas):
    r = api.put("/Accounts", data=json.dumps({"data": [{"id": "1", "Health_Score": 1}] * 101}))
    assert r.status_code == 400
    assert r.json()["code"] == "LIMIT_EXCEEDED" and "data" not in r.json()
    assert oas.errors(r) == []
    ids = ",".join(str(i) for i in range(101))
    assert api.delete("/Accounts", params={"ids": ids}).json()["code"] == "LIMIT_EXCEEDED"


def test_bad_bodies_get_zoho_codes(api):
    assert api.post("/Accounts", data="{not json").json()["code"] == "INVALID_DATA"
    assert api.post("/Accounts", data="").json()["code"] == "INVALID_DATA"
    assert api.post("/Accounts", data='{"rows": []}').json()["code"] == "REQUIRED_PARAM_MISSING"
    assert api.post("/Accounts", data='{"data": {}}').json()["code"] == "INVALID_DATA"
    r = api.post("/Accounts", data='{"data": [17]}')
    assert r.status_code == 400 and r.json()["data"][0]["code"] == "INVALID_DATA"


def test_upsert_inserts_or_updates_by_duplicate_check_fields(api, oas):
    existing = api.get("/Accounts", params={"fields": "Account_Name,Website", "per_page": 1}).json()["data"][0]
    r = api.post(
        "/Accounts/upsert",
        data=json.dumps(
            {
                "data": [
                    {"Account_Name": existing["Account_Name"], "Health_Score": 3},
                    {"Account_Name": "Brand New Upsert LLC", "Health_Score": 4},
                ]
            }
        ),
    )
    assert r.status_code == 200 and oas.errors(r) == []
    out = r.json()["data"]
    assert (out[0]["action"], out[0]["duplicate_field"], out[0]["details"]["id"]) == (
        "update",
        "Account_Name",
        existing["id"],
    )
    assert out[1]["action"] == "insert" and out[1].get("duplicate_field") is None
    r = api.post(
        "/Accounts/upsert",
        data=json.dumps(
            {
                "duplicate_check_fields": ["Website"],
                "data": [{"Account_Name": "Matched By Website", "Website": existing["Website"]}],
            }
        ),
    )
    assert r.json()["data"][0]["action"] == "update"
    assert api.get(f"/Accounts/{existing['id']}").json()["data"][0]["Account_Name"] == "Matched By Website"
    r = api.post(
        "/Accounts/upsert", data=json.dumps({"duplicate_check_fields": ["Nope"], "data": [{"Account_Name": "x"}]})
    )
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"


def test_delete_reports_each_id(api, oas):
    ids = [r["id"] for r in api.get("/Accounts", params={"fields": "Account_Name", "per_page": 2}).json()["data"]]
    r = api.delete("/Accounts", params={"ids": f"{ids[0]},1234567890123456789"})
    assert r.status_code == 207 and oas.errors(r) == []
    assert [o["code"] for o in r.json()["data"]] == ["SUCCESS", "INVALID_DATA"]
    assert api.get(f"/Accounts/{ids[0]}").status_code == 204
    assert api.delete(f"/Accounts/{ids[1]}").json()["data"][0]["message"] == "record deleted"
    assert api.delete("/Accounts").json()["code"] == "REQUIRED_PARAM_MISSING"


def test_other_modules_validate_their_own_fields(api):
    acc = api.get("/Accounts", params={"fields": "Account_Name", "per_page": 1}).json()["data"][0]
    r = api.post(
        "/Contacts",
        data=json.dumps(
            {
                "data": [
                    {
                        "Last_Name": "Okafor",
                        "First_Name": "Ada",
                        "Account_Name": {"id": acc["id"]},
                        "Email": "ada@x.example",
                    },
                    {"Last_Name": "Twin", "Email": "ADA@x.example"},
                    {"Last_Name": "Bad", "Email": "not-an-email"},
                ]
            }
        ),
    )
    out = r.json()["data"]
    assert [o["code"] for o in out] == ["SUCCESS", "DUPLICATE_DATA", "INVALID_DATA"]
    c = api.get(f"/Contacts/{out[0]['details']['id']}").json()["data"][0]
    assert c["Full_Name"] == "Ada Okafor" and c["Account_Name"]["name"] == acc["Account_Name"]
    r = api.post(
        "/Deals",
        data=json.dumps(
            {
                "data": [
                    {
                        "Deal_Name": "Big one",
                        "Stage": "Qualification",
                        "Closing_Date": "2026-03-01",
                        "Amount": 1000,
                        "Probability": 10,
                    },
                    {"Deal_Name": "No stage", "Closing_Date": "2026-03-01"},
                ]
            }
        ),
    )
    assert [o["code"] for o in r.json()["data"]] == ["SUCCESS", "MANDATORY_NOT_FOUND"]


@pytest.mark.parametrize("module", ["Leads", "Contacts", "Deals"])
def test_every_module_lists(api, module):
    r = api.get(f"/{module}", params={"fields": "Owner,Created_Time", "per_page": 10})
    assert r.status_code == 200 and r.json()["info"]["count"] == 10


def test_count_and_search_filters(api, oas):
    total = int(api.get("/Accounts/actions/count").json()["count"])
    assert total == SESSION_ACCOUNTS
    tech = api.get("/Accounts/actions/count", params={"criteria": "(Industry:equals:Technology)"})
    assert oas.errors(tech) == []
    assert 0 < int(tech.json()["count"]) < total
    r = api.get("/Accounts/search", params={"criteria": "(Industry:equals:Technology)", "fields": "Industry"})
    assert r.status_code == 200 and oas.errors(r) == []
    assert {row["Industry"] for row in r.json()["data"]} == {"Technology"}


def test_search_priority_paging_and_2000_limit(api, fresh_emulator):
    acc = api.get("/Accounts", params={"fields": "Account_Name,Phone", "per_page": 1}).json()["data"][0]
    # criteria wins over word when both are given
    r = api.get("/Accounts/search", params={"criteria": f"(id:equals:{acc['id']})", "word": "zzzz-nothing"})
    assert [row["id"] for row in r.json()["data"]] == [acc["id"]]
    r = api.get("/Accounts/search", params={"phone": acc["Phone"], "fields": "Phone"})
    assert acc["id"] in [row["id"] for row in r.json()["data"]]
    assert api.get("/Accounts/search", params={"word": "a"}).json()["code"] == "INVALID_DATA"
    assert api.get("/Accounts/search").json()["code"] == "EXPECTED_PARAM_MISSING"
    crit = "(Annual_Revenue:greater_than:0)"
    page10 = api.get("/Accounts/search", params={"criteria": crit, "page": 10, "fields": "Account_Name"}).json()
    assert page10["info"]["count"] == 200 and page10["info"]["more_records"] is False
    r = api.get("/Accounts/search", params={"criteria": crit, "page": 11})
    assert r.status_code == 400 and r.json()["code"] == "LIMIT_REACHED"
    assert api.get("/Accounts/search", params={"word": "qqqqqqqq"}).status_code == 204


def test_coql_runs_against_the_store(api, oas):
    q = (
        "select Account_Name, Annual_Revenue, Owner from Accounts "
        "where (Annual_Revenue > 1000000 and Industry = 'Technology') order by id asc limit 5"
    )
    r = api.post("/coql", data=json.dumps({"select_query": q}))
    assert r.status_code == 200, r.text
    assert oas.errors(r) == []
    rows = r.json()["data"]
    assert 0 < len(rows) <= 5 and all(row["Annual_Revenue"] > 1_000_000 for row in rows)
    assert api.post("/coql", data="{}").json()["code"] == "INVALID_QUERY"
    assert api.post("/coql", data=json.dumps({"select_query": "select from"})).status_code == 400
