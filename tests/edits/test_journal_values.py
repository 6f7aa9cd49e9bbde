"""The journal holds what the API returned: every JSON value a batch journals (nulls, lookups,
lists, integers past 64 bits, text) comes back as it went in, with entries in the order given and
outcomes recorded per entry (a real PostgreSQL)."""

from __future__ import annotations

import uuid

from sergas_nb.edits.journal import Entry, Journal, Outcome

VALUES = [None, 2**70, -(2**63), 1.5, "12345678901234567890 text", "é", {"id": "4151"}, ["a", "b"], True, {}, []]


def test_a_batchs_values_and_outcomes_round_trip(database_url):
    j = Journal(database_url)
    plan_id = f"values-{uuid.uuid4().hex[:8]}"
    j.save_plan(plan_id, "Accounts", "Description", "test", "test", len(VALUES))
    entries = [Entry(str(1000 + n), v, VALUES[-1 - n], "Description") for n, v in enumerate(VALUES)]
    ids = j.begin(plan_id, "apply", "Accounts", "Description", entries)
    assert len(ids) == len(VALUES) and ids == sorted(ids)  # in the order given
    j.finish(Outcome(e, "success" if n % 2 else "error", None if n % 2 else "X", f"m{n}") for n, e in enumerate(ids))
    got = j.entries(plan_id).sort_values("entry_id")
    assert list(got["record_id"]) == [e.record_id for e in entries]
    for row, e in zip(got.itertuples(), entries, strict=True):
        assert row.old_value == e.old_value and type(row.old_value) is type(e.old_value)
        assert row.new_value == e.new_value and type(row.new_value) is type(e.new_value)
    assert list(got["status"]) == ["success" if n % 2 else "error" for n in range(len(VALUES))]
    assert list(got["message"]) == [f"m{n}" for n in range(len(VALUES))]
    assert got["code"].isna().tolist() == [bool(n % 2) for n in range(len(VALUES))]
