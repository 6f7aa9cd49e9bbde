"""The unmodified official SDK (zohocrmsdk8-0) against the emulator over real HTTP."""

from __future__ import annotations

import pytest
from zohocrmsdk.src.com.zoho.crm.api import HeaderMap, ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.coql import BodyWrapper as CoqlBody
from zohocrmsdk.src.com.zoho.crm.api.coql import CoqlOperations
from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations
from zohocrmsdk.src.com.zoho.crm.api.record import (
    APIException,
    BodyWrapper,
    DeleteRecordsParam,
    GetRecordsParam,
    Record,
    RecordOperations,
    SearchRecordsParam,
    SuccessResponse,
)
from zohocrmsdk.src.com.zoho.crm.api.users import GetUsersParam, UsersOperations

from tests.emulator.sdk_setup import initialize_sdk
from tests.fixtures.emulator import SESSION_ACCOUNTS


@pytest.fixture(scope="module")
def sdk(emulator, tmp_path_factory):
    emulator.control.reset()
    initialize_sdk(emulator, tmp_path_factory.mktemp("sdk"), content_url=emulator.content_url)
    yield emulator


def _records(params: dict) -> tuple[list, object]:
    pm = ParameterMap()
    for key, value in params.items():
        pm.add(getattr(GetRecordsParam, key), value)
    resp = RecordOperations("Accounts").get_records(pm, HeaderMap())
    assert resp.get_status_code() == 200
    return resp.get_object().get_data(), resp.get_object().get_info()


def test_sdk_pages_across_the_2000_boundary_with_page_token(sdk):
    ids, token = [], None
    for page in range(1, 30):
        params = {"fields": "Account_Name,Industry,Owner", "per_page": 200}
        params.update({"page_token": token} if token else {"page": page})
        data, info = _records(params)
        ids += [r.get_id() for r in data]
        if not info.get_more_records():
            break
        token = info.get_next_page_token() if page >= 10 else None
    assert len(ids) == len(set(ids)) == SESSION_ACCOUNTS
    assert sdk.control.stats()["oauth"]["refresh_token"] == 1  # one token for the whole walk


def test_sdk_get_one_search_count_and_metadata(sdk):
    data, _ = _records({"fields": "Account_Name", "per_page": 1})
    rid = data[0].get_id()
    one = RecordOperations("Accounts").get_record(int(rid), ParameterMap(), HeaderMap()).get_object().get_data()[0]
    assert one.get_key_value("Account_Name") == data[0].get_key_value("Account_Name")
    pm = ParameterMap()
    pm.add(SearchRecordsParam.criteria, "(Industry:equals:Technology)")
    found = RecordOperations("Accounts").search_records(pm, HeaderMap()).get_object().get_data()
    assert found and all(r.get_key_value("Industry").get_value() == "Technology" for r in found)
    count = RecordOperations("Accounts").record_count(ParameterMap()).get_object().get_count()
    assert int(count) == SESSION_ACCOUNTS
    pm = ParameterMap()
    pm.add(GetUsersParam.type, "CurrentUser")
    user = UsersOperations().get_users(pm, HeaderMap()).get_object().get_users()[0]
    assert user.get_email() == sdk.user_email
    assert OrgOperations().get_organization().get_object().get_org()[0].get_zgid()


def test_sdk_writes_show_each_outcome(sdk):
    ops = RecordOperations("Accounts")
    body = BodyWrapper()
    good, bad = Record(), Record()
    good.add_key_value("Account_Name", "SDK Made Ltd")
    bad.add_key_value("Health_Score", 5)  # no Account_Name
    body.set_data([good, bad])
    out = ops.create_records(body, HeaderMap()).get_object().get_data()
    assert isinstance(out[0], SuccessResponse) and isinstance(out[1], APIException)
    assert out[1].get_code().get_value() == "MANDATORY_NOT_FOUND"
    new_id = out[0].get_details()["id"]

    upd, missing = Record(), Record()
    upd.set_id(int(new_id))
    upd.add_key_value("Health_Score", 88)
    missing.set_id(1234567890123456789)
    missing.add_key_value("Health_Score", 1)
    body.set_data([upd, missing])
    out = ops.update_records(body, HeaderMap()).get_object().get_data()
    assert [o.get_code().get_value() for o in out] == ["SUCCESS", "INVALID_DATA"]
    assert sdk.store.get("Accounts", new_id)["Health_Score"] == 88

    ups = Record()
    ups.add_key_value("Account_Name", "SDK Made Ltd")
    ups.add_key_value("Health_Score", 9)
    body.set_data([ups])
    out = ops.upsert_records(body, HeaderMap()).get_object().get_data()
    assert out[0].get_details()["id"] == new_id and sdk.store.get("Accounts", new_id)["Health_Score"] == 9

    pm = ParameterMap()
    pm.add(DeleteRecordsParam.ids, new_id)
    out = ops.delete_records(pm, HeaderMap()).get_object().get_data()
    assert out[0].get_code().get_value() == "SUCCESS" and sdk.store.get("Accounts", new_id) is None


def test_sdk_coql(sdk):
    body = CoqlBody()
    body.set_select_query("select Account_Name, Health_Score from Accounts where Health_Score >= 90 limit 10")
    rows = CoqlOperations().get_records(body).get_object().get_data()
    assert rows and all(r.get_key_value("Health_Score") >= 90 for r in rows)
