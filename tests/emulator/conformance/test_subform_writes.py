"""Subform rows written on their parent (the Deals subform Line_Items) as Zoho's "Update Subform
Data" documents them (https://www.zoho.com/crm/developer/docs/api/v7/update-subforms.html and its
v8 page; the emulator's state/subforms.py): a row with an existing id updates it, a row without id
is appended, ``"_delete": null`` removes a row, rows left out stay, ``[]`` removes all. Insert,
update and upsert of the parent all take them."""

from __future__ import annotations

from typing import Any

import pytest


def _deal(api, rid: str) -> dict[str, Any]:
    return api.get(f"/Deals/{rid}", params={"fields": "Deal_Name,Line_Items"}).json()["data"][0]


def _insert(api, name: str, rows: list[dict[str, Any]]) -> str:
    body = {"data": [{"Deal_Name": name, "Stage": "Qualification", "Closing_Date": "2026-12-31", "Line_Items": rows}]}
    out = api.post("/Deals", json=body).json()["data"][0]
    assert out["code"] == "SUCCESS", out
    return out["details"]["id"]


def _update(api, rid: str, rows: Any) -> dict[str, Any]:
    return api.put("/Deals", json={"data": [{"id": rid, "Line_Items": rows}]}).json()["data"][0]


def test_insert_gives_each_row_an_id_and_its_parent(api):
    rid = _insert(api, "Subform Insert", [{"Product": "Widget", "Quantity": 3, "Unit_Price": 9.5}, {"Product": "Gear"}])
    deal = _deal(api, rid)
    rows = deal["Line_Items"]
    assert [(r["Product"], r["Quantity"], r["Unit_Price"]) for r in rows] == [("Widget", 3, 9.5), ("Gear", None, None)]
    assert all(r["id"].isdigit() and r["id"] != rid for r in rows) and len({r["id"] for r in rows}) == 2
    assert all(r["Parent_Id"] == {"name": "Subform Insert", "id": rid} for r in rows)


def test_update_keeps_changes_appends_and_leaves_unnamed_rows_alone(api):
    rid = _insert(
        api, "Subform Update", [{"Product": "A", "Quantity": 1}, {"Product": "B", "Quantity": 2}, {"Product": "C"}]
    )
    a, b, c = (r["id"] for r in _deal(api, rid)["Line_Items"])
    # The documented sample: {"id"} alone (no change), {"id", changed keys}, and a row without id.
    out = _update(api, rid, [{"id": a}, {"id": b, "Quantity": 7}, {"Product": "D", "Quantity": 4}])
    assert out["code"] == "SUCCESS", out
    rows = {r["Product"]: r for r in _deal(api, rid)["Line_Items"]}
    assert set(rows) == {"A", "B", "C", "D"}  # C was left out: it stays
    assert (rows["A"]["id"], rows["A"]["Quantity"]) == (a, 1)
    assert (rows["B"]["id"], rows["B"]["Quantity"]) == (b, 7)
    assert rows["C"]["id"] == c and rows["D"]["id"] not in (a, b, c)


def test_delete_marker_removes_one_row_and_an_empty_array_removes_all(api):
    rid = _insert(api, "Subform Delete", [{"Product": "A"}, {"Product": "B"}])
    a, b = (r["id"] for r in _deal(api, rid)["Line_Items"])
    assert _update(api, rid, [{"id": a, "_delete": None}])["code"] == "SUCCESS"
    assert [r["id"] for r in _deal(api, rid)["Line_Items"]] == [b]
    assert _update(api, rid, [])["code"] == "SUCCESS"
    assert _deal(api, rid)["Line_Items"] == []


def test_upsert_writes_rows_on_the_matched_parent(api):
    rid = _insert(api, "Subform Upsert", [{"Product": "A"}])
    body = {"data": [{"Deal_Name": "Subform Upsert", "Line_Items": [{"Product": "B", "Quantity": 2}]}]}
    out = api.post("/Deals/upsert", json=body).json()["data"][0]
    assert (out["action"], out["details"]["id"]) == ("update", rid)
    assert [r["Product"] for r in _deal(api, rid)["Line_Items"]] == ["A", "B"]


@pytest.mark.parametrize(
    ("rows", "path", "code", "field"),
    [
        ([{"id": "123", "Quantity": 1}], "$.data[0].Line_Items[0].id", "INVALID_DATA", "Line_Items"),
        ([{"Product": "ok"}, {"Quantity": "many"}], "$.data[0].Line_Items[1].Quantity", "INVALID_DATA", "Quantity"),
        ([{"_delete": None}], "$.data[0].Line_Items[0].id", "INVALID_DATA", "Line_Items"),
        ({"Product": "not an array"}, "$.data[0].Line_Items", "INVALID_DATA", "Line_Items"),
        ([{"Product": f"P{i}"} for i in range(101)], "$.data[0].Line_Items", "LIMIT_EXCEEDED", "Line_Items"),
    ],
)
def test_bad_rows_are_refused_naming_the_row_and_key_and_change_nothing(api, rows, path, code, field):
    rid = _insert(api, f"Subform Bad {path} {code}", [{"Product": "Kept"}])
    before = _deal(api, rid)["Line_Items"]
    out = _update(api, rid, rows)
    assert (out["code"], out["details"]["json_path"], out["details"]["api_name"]) == (code, path, field)
    assert _deal(api, rid)["Line_Items"] == before


def test_rows_name_their_parent_after_a_rename_and_other_writes_leave_them_alone(api):
    rid = _insert(api, "Subform Before", [{"Product": "A"}])
    out = api.put("/Deals", json={"data": [{"id": rid, "Deal_Name": "Subform After"}]}).json()["data"][0]
    assert out["code"] == "SUCCESS"
    rows = _deal(api, rid)["Line_Items"]
    assert [r["Product"] for r in rows] == ["A"]  # no Line_Items key sent: the rows stay
    assert rows[0]["Parent_Id"] == {"name": "Subform After", "id": rid}
