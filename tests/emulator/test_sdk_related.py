"""The unmodified official SDK (zohocrmsdk8-0) reads the new modules and a related list."""

from __future__ import annotations

import pytest
from zohocrmsdk.src.com.zoho.crm.api import HeaderMap, ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.record import GetRecordsParam, RecordOperations
from zohocrmsdk.src.com.zoho.crm.api.related_records import RelatedRecordsOperations
from zohocrmsdk.src.com.zoho.crm.api.related_records.related_records_operations import GetRelatedRecordsParam

from tests.emulator.sdk_setup import initialize_sdk


@pytest.fixture(scope="module")
def sdk(emulator, tmp_path_factory):
    emulator.control.reset()
    initialize_sdk(emulator, tmp_path_factory.mktemp("sdk-related"))
    yield emulator


def _get(module: str, fields: str) -> list:
    pm = ParameterMap()
    pm.add(GetRecordsParam.fields, fields)
    pm.add(GetRecordsParam.per_page, 200)
    resp = RecordOperations(module).get_records(pm, HeaderMap())
    assert resp.get_status_code() == 200, module
    return resp.get_object().get_data()


def _link_id(value) -> str:
    return str(value.get_id() if hasattr(value, "get_id") else value["id"])


def test_sdk_reads_the_activity_modules_and_notes(sdk):
    for module, title, link in (
        ("Tasks", "Subject", "What_Id"),
        ("Events", "Event_Title", "What_Id"),
        ("Calls", "Subject", "What_Id"),
        ("Notes", "Note_Title", "Parent_Id"),
    ):
        rows = _get(module, f"{title},{link}")
        assert len(rows) == 200, module
        first = rows[0]
        assert isinstance(first.get_key_value(title), str)
        stored = sdk.store.get(module, str(first.get_id()))
        assert _link_id(first.get_key_value(link)) == stored[link]["id"]


def test_sdk_reads_an_accounts_related_deals(sdk):
    deals = [d for d in sdk.store.snapshot()["Deals"] if d["Account_Name"]]
    account = deals[0]["Account_Name"]["id"]
    expected = {d["id"] for d in deals if d["Account_Name"]["id"] == account}
    pm = ParameterMap()
    pm.add(GetRelatedRecordsParam.fields, "Deal_Name,Amount")
    resp = RelatedRecordsOperations("Deals", "Accounts").get_related_records(int(account), pm, HeaderMap())
    assert resp.get_status_code() == 200
    got = resp.get_object().get_data()
    assert {str(r.get_id()) for r in got} == expected
    assert all(isinstance(r.get_key_value("Deal_Name"), str) for r in got)
