"""A plan judges what the CRM holds against values taken from typed frames; its pre-read takes them
from the answers' JSON instead (no frame built). The two must agree exactly, or a plan would skip
records as changed since it was built (or write over ones that were): compared here for every
field of every module the emulator has, nulls included, and for answer shapes the emulator does
not send but Zoho may (other offsets, numbers without decimals, unsorted multi-selects)."""

from __future__ import annotations

from typing import Any

import pytest

from sergas_nb import frames
from sergas_nb.client import ZohoClient
from sergas_nb.edits import checks
from sergas_nb.edits.batches import values_by_id
from sergas_nb.emulator.state import metadata as md
from tests.client.test_write_json import _value


def _typed(frame_row: dict[str, Any], field: str, data_type: str | None) -> Any:
    """What a plan's own values come from: the typed frame's cell, made JSON-native."""
    cell = frame_row.get(field) if field in frame_row else frame_row.get(f"{field}.id")
    return checks.to_json_value(cell, data_type)


def _sample(f: dict[str, Any], n: int, ids: dict[str, str]) -> Any:
    """test_write_json's sample values, with the shapes that test the conversion most: a whole
    number in a currency field (the API may answer it without decimals), an unsorted multi-select."""
    kind = frames.kind_of(f)
    if kind == frames.FLOAT and n == 0:
        return 1200
    if kind == frames.MULTI:
        return list(reversed(frames.picklist_values(f)[:3]))
    return _value(f, n, ids)


@pytest.mark.parametrize("module", list(md.DUPLICATE_FIELDS))
def test_the_pre_read_gives_every_field_as_the_typed_frame_does(crm: ZohoClient, module: str) -> None:
    fields = [f for f in md.fields_for(module) if f["data_type"] != "subform"]
    writable = [f for f in fields if not frames.is_read_only(f)]
    ids = {m: str(crm.records(m, fields=["id"], limit=1)["id"].iloc[0]) for m in md.DUPLICATE_FIELDS}
    ids["user"] = str(crm.records("Accounts", fields=["Owner"], limit=1)["Owner.id"].iloc[0])
    chosen = [str(i) for i in crm.records(module, fields=["id"], limit=4)["id"]]
    rows = [{"id": rid, **{f["api_name"]: _sample(f, n, ids) for f in writable}} for n, rid in enumerate(chosen[:3])]
    # the fourth record: every field it may clear, cleared (mandatory ones keep their value)
    rows.append({"id": chosen[3], **{f["api_name"]: None for f in writable if not f.get("system_mandatory")}})
    result = crm.update(module, rows, progress=False)
    assert result.failed == 0, result.records

    names = [f["api_name"] for f in fields]
    types = {f["api_name"]: f["data_type"] for f in fields}
    typed = {str(r["id"]): r for r in frames.frame_rows(crm.records_by_ids(module, chosen, names))}
    got = values_by_id(crm, module, chosen, names, types)
    assert set(got) == set(chosen)
    for rid in chosen:
        for name in names:
            expected = _typed(typed[rid], name, types[name])
            assert got[rid][name] == expected, (module, rid, name, got[rid][name], expected)
            assert type(got[rid][name]) is type(expected), (module, rid, name)


FIELDS = {
    "When": {"api_name": "When", "data_type": "datetime"},
    "Day": {"api_name": "Day", "data_type": "date"},
    "Amount": {"api_name": "Amount", "data_type": "currency"},
    "Count": {"api_name": "Count", "data_type": "integer"},
    "Name": {"api_name": "Name", "data_type": "text"},
    "Stage": {"api_name": "Stage", "data_type": "picklist", "pick_list_values": [{"actual_value": "A"}]},
    "Tags": {"api_name": "Tags", "data_type": "multiselectpicklist", "pick_list_values": []},
    "Parent": {"api_name": "Parent", "data_type": "lookup", "lookup": {"module": {"api_name": "Accounts"}}},
    "Owner": {"api_name": "Owner", "data_type": "ownerlookup"},
    "Done": {"api_name": "Done", "data_type": "boolean"},
}
ANSWERS = [
    {"When": "2026-03-01T10:15:30+05:30", "Day": "2026-03-01", "Amount": 1200, "Count": 3, "Name": "x",
     "Stage": "B", "Tags": ["b", "a"], "Parent": {"name": "P", "id": "123"}, "Owner": {"id": "9", "name": "n"},
     "Done": True},
    {"When": "2026-03-01T23:59:59-08:00", "Day": None, "Amount": 12.5, "Count": None, "Name": "",
     "Stage": None, "Tags": [], "Parent": {"name": None, "id": None}, "Owner": None, "Done": False},
    {"When": None, "Day": "1999-12-31", "Amount": None, "Count": 0, "Name": None,
     "Stage": "A", "Tags": None, "Parent": None, "Owner": {"id": "10"}, "Done": None},
]  # fmt: skip


def test_answer_shapes_beyond_the_emulators_agree_with_the_typed_frame() -> None:
    meta = list(FIELDS.values())
    rows = [{"id": str(n + 1), **a} for n, a in enumerate(ANSWERS)]
    typed = frames.frame_rows(frames.to_frame(rows, meta, list(FIELDS)))
    for answer, cells in zip(ANSWERS, typed, strict=True):
        for name, field in FIELDS.items():
            expected = _typed(cells, name, field["data_type"])
            got = checks.answered_json_value(answer[name], field)
            assert got == expected and type(got) is type(expected), (name, answer[name], got, expected)
