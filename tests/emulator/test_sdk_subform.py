"""The unmodified official SDK (zohocrmsdk8-0) writes a subform row on a deal and reads it back,
over real HTTP to the emulator (issue 18: the emulator takes subform writes)."""

from __future__ import annotations

from datetime import date

import pytest
from zohocrmsdk.src.com.zoho.crm.api import HeaderMap, ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.record import BodyWrapper, Record, RecordOperations, SuccessResponse
from zohocrmsdk.src.com.zoho.crm.api.util import Choice

from tests.emulator.sdk_setup import initialize_sdk


@pytest.fixture(scope="module")
def sdk(emulator, tmp_path_factory):
    emulator.control.reset()
    initialize_sdk(emulator, tmp_path_factory.mktemp("sdk-subform"))
    yield emulator


def _row(**values: object) -> Record:
    row = Record()
    for key, value in values.items():
        row.add_key_value(key, value)
    return row


def _send(write, records: list[Record]) -> SuccessResponse:
    body = BodyWrapper()
    body.set_data(records)
    resp = write(body, HeaderMap())
    assert resp.get_status_code() in (200, 201), resp.get_status_code()
    out = resp.get_object().get_data()[0]
    assert isinstance(out, SuccessResponse), vars(out)
    return out


def _line_items(rid: str) -> list[Record]:
    got = RecordOperations("Deals").get_record(int(rid), ParameterMap(), HeaderMap())
    assert got.get_status_code() == 200
    return got.get_object().get_data()[0].get_key_value("Line_Items")


def test_sdk_writes_a_subform_row_and_reads_it_back(sdk):
    ops = RecordOperations("Deals")
    deal = _row(Deal_Name="SDK subform deal", Stage=Choice("Qualification"), Closing_Date=date(2026, 12, 31))
    deal.add_key_value("Line_Items", [_row(Product="Widget", Quantity=3, Unit_Price=12.5)])
    rid = str(_send(ops.create_records, [deal]).get_details()["id"])

    rows = _line_items(rid)
    assert [(r.get_key_value("Product"), r.get_key_value("Quantity")) for r in rows] == [("Widget", 3)]
    first = rows[0].get_id()
    assert first is not None and str(first) != rid

    # Update through the SDK: change the row by its id, append one without.
    change = _row(Quantity=5)
    change.set_id(first)
    upd = Record()
    upd.set_id(int(rid))
    upd.add_key_value("Line_Items", [change, _row(Product="Gear", Quantity=1)])
    _send(ops.update_records, [upd])

    rows = _line_items(rid)
    got = sorted((r.get_key_value("Product"), r.get_key_value("Quantity")) for r in rows)
    assert got == [("Gear", 1), ("Widget", 5)]
    assert str(rows[0].get_id()) == str(first)
    stored = sdk.store.get("Deals", rid)["Line_Items"]
    assert all(r["Parent_Id"] == {"name": "SDK subform deal", "id": rid} for r in stored)
