"""Auth on every CRM path, and the metadata endpoints (users, org, modules, fields)."""

from __future__ import annotations

import requests


def test_crm_paths_need_a_valid_token(fresh_emulator, access_token, oas):
    url = fresh_emulator.url + "/crm/v8/Accounts"
    params = {"fields": "Account_Name"}
    for headers in ({}, {"Authorization": "Bearer " + access_token}, {"Authorization": "Zoho-oauthtoken nope"}):
        r = requests.get(url, params=params, headers=headers, timeout=10)
        assert r.status_code == 401 and r.json()["code"] == "INVALID_TOKEN"
        assert oas.errors(r) == []
    good = {"Authorization": "Zoho-oauthtoken " + access_token}
    assert requests.get(url, params=params, headers=good, timeout=10).status_code == 200
    requests.post(fresh_emulator.url + "/__emulator__/oauth/expire-access-tokens", json={}, timeout=10)
    r = requests.get(url, params=params, headers=good, timeout=10)
    assert r.status_code == 401 and r.json()["code"] == "INVALID_TOKEN"


def test_current_user_and_all_users(api, fresh_emulator, oas):
    r = api.get("/users", params={"type": "CurrentUser"})
    assert r.status_code == 200 and oas.errors(r) == []
    assert [u["email"] for u in r.json()["users"]] == [fresh_emulator.user_email]
    users = api.get("/users").json()["users"]
    assert 5 <= len(users) <= 10 and len({u["id"] for u in users}) == len(users)
    assert api.get(f"/users/{users[1]['id']}").json()["users"][0]["email"] == users[1]["email"]
    assert api.get("/users", params={"type": "Everyone"}).json()["code"] == "INVALID_DATA"


def test_org(api, oas):
    r = api.get("/org")
    assert r.status_code == 200 and oas.errors(r) == []
    org = r.json()["org"][0]
    assert org["zgid"] and org["currency"] and org["time_zone"]


def test_modules_list_the_four_api_modules(api, oas):
    r = api.get("/settings/modules")
    assert oas.errors(r) == []
    mods = {m["api_name"]: m for m in r.json()["modules"]}
    assert set(mods) == {"Leads", "Accounts", "Contacts", "Deals", "Tasks", "Events", "Calls", "Notes"}
    assert all(m["api_supported"] for m in mods.values())
    assert api.get("/settings/modules/Accounts").json()["modules"][0]["fields"]


def test_account_fields_include_custom_ones(api, oas):
    r = api.get("/settings/fields", params={"module": "Accounts"})
    assert r.status_code == 200 and oas.errors(r) == []
    fields = {f["api_name"]: f for f in r.json()["fields"]}
    assert len(fields) >= 34
    assert fields["Health_Score"]["data_type"] == "integer" and fields["Health_Score"]["custom_field"] is True
    assert fields["Last_Engagement_Date"]["data_type"] == "date"
    status = fields["Account_Status"]
    assert status["data_type"] == "picklist"
    assert {"Active", "At Risk", "Churned"} <= {p["actual_value"] for p in status["pick_list_values"]}
    assert fields["Account_Name"]["system_mandatory"] is True
    assert fields["Parent_Account"]["lookup"]["module"]["api_name"] == "Accounts"
    assert fields["Owner"]["data_type"] == "ownerlookup"
    assert fields["Modified_Time"]["read_only"] is True and fields["Modified_Time"]["json_type"] == "string"


def test_other_modules_fields(api):
    leads = {f["api_name"]: f for f in api.get("/settings/fields", params={"module": "Leads"}).json()["fields"]}
    assert leads["Last_Name"]["system_mandatory"] is True
    assert {
        "First_Name",
        "Company",
        "Email",
        "Phone",
        "City",
        "Annual_Revenue",
        "Lead_Source",
        "Lead_Status",
        "Industry",
        "Owner",
    } <= set(leads)
    contacts = {f["api_name"]: f for f in api.get("/settings/fields", params={"module": "contacts"}).json()["fields"]}
    assert contacts["Account_Name"]["lookup"]["module"]["api_name"] == "Accounts"
    deals = {f["api_name"]: f for f in api.get("/settings/fields", params={"module": "Deals"}).json()["fields"]}
    assert {"Deal_Name", "Account_Name", "Stage", "Amount", "Closing_Date"} <= set(deals)
    assert api.get("/settings/fields").json()["code"] == "REQUIRED_PARAM_MISSING"
    assert api.get("/settings/fields", params={"module": "Widgets"}).json()["code"] == "INVALID_MODULE"


def test_seeded_data_looks_like_a_real_org(fresh_emulator):
    org = fresh_emulator.store.snapshot()
    accounts = org["Accounts"]
    revenues = sorted(a["Annual_Revenue"] for a in accounts)
    median, top = revenues[len(revenues) // 2], revenues[int(len(revenues) * 0.99)]
    assert top > 10 * median  # skewed, like real revenues
    assert 5 <= len({a["Owner"]["id"] for a in accounts}) <= 10
    assert len({a["Billing_Country"] for a in accounts}) >= 5
    assert len({a["Created_Time"][:4] for a in accounts}) >= 4
    assert any(a["Parent_Account"] for a in accounts)
    assert len({a["Account_Name"].lower() for a in accounts}) == len(accounts)
    account_ids = {a["id"] for a in accounts}
    assert all(c["Account_Name"]["id"] in account_ids for c in org["Contacts"])
