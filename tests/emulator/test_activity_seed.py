"""Seeded activities and notes: deterministic, linked to records that exist, and leaving the four
core modules exactly as the same seed gave them before these modules existed."""

from __future__ import annotations

import copy

from sergas_nb.emulator.state import seed
from sergas_nb.emulator.state.activities import with_activities


def test_same_seed_same_org_and_core_records_untouched():
    core = seed.generate(seed=5, accounts=300)
    before = copy.deepcopy(core.records)
    one = with_activities(core, 5).records
    two = with_activities(seed.generate(seed=5, accounts=300), 5).records
    assert one == two
    for module in ("Leads", "Accounts", "Contacts"):
        assert one[module] == before[module]
    for rid, deal in before["Deals"].items():  # Deals only gain their two new fields
        assert {k: v for k, v in one["Deals"][rid].items() if k not in ("Competitors", "Line_Items")} == deal


def test_every_link_points_at_a_record_of_the_module_it_names():
    records = with_activities(seed.generate(seed=9, accounts=300), 9).records
    assert {m: len(records[m]) for m in ("Tasks", "Events", "Calls", "Notes")} == {
        "Tasks": 100, "Events": 50, "Calls": 100, "Notes": 100,
    }  # fmt: skip
    ids = [int(r) for m in records for r in records[m]]
    assert len(ids) == len(set(ids))  # no id shared across modules
    for module in ("Tasks", "Events", "Calls"):
        for rec in records[module].values():
            parent = records[rec["$se_module"]][rec["What_Id"]["id"]]
            assert rec["What_Id"]["name"] in (parent.get("Account_Name"), parent.get("Deal_Name"))
            if rec["Who_Id"]:
                assert rec["Who_Id"]["id"] in records["Contacts"]
    for note in records["Notes"].values():
        assert note["Parent_Id"]["module"]["api_name"] == note["$se_module"]
        assert note["Parent_Id"]["id"] in records[note["$se_module"]]
    for module in ("Tasks", "Events", "Calls", "Notes"):
        keys = list(records[module])
        assert keys == sorted(keys, key=int)  # insertion order is id order, as the store relies on
