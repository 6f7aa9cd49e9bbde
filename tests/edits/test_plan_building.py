"""A plan built with a constant (one pass over two columns) holds exactly what the same plan built
with a rule returning that constant holds (the row-by-row path rules need), for every editable
field of the emulator's Accounts, on a typed frame as ``crm.records`` gives it, nulls included."""

from __future__ import annotations

import pandas as pd
import pytest

from sergas_nb import frames
from sergas_nb.client import ZohoClient
from sergas_nb.edits.plans import EditPlan
from sergas_nb.emulator.state import metadata as md
from tests.edits.test_answered_values import _sample

EDITABLE = [
    f
    for f in md.fields_for("Accounts")
    if not frames.is_read_only(f) and f["data_type"] not in ("subform", "multiselectlookup")
]


@pytest.mark.parametrize("field", EDITABLE, ids=lambda f: f["api_name"])
def test_a_constant_plan_equals_the_rule_plan_of_the_same_value(crm: ZohoClient, field: dict) -> None:
    ids = {m: str(crm.records(m, fields=["id"], limit=1)["id"].iloc[0]) for m in md.DUPLICATE_FIELDS}
    ids["user"] = str(crm.records("Accounts", fields=["Owner"], limit=1)["Owner.id"].iloc[0])
    meta = crm.fields("Accounts")
    frame = crm.records("Accounts", fields=[field["api_name"]], limit=40)
    value = _sample(field, 1, ids)
    constant = EditPlan.from_frame(frame, field["api_name"], value, fields=meta)
    ruled = EditPlan.from_frame(frame, field["api_name"], lambda row: value, fields=meta)
    pd.testing.assert_frame_equal(constant.rows, ruled.rows)
    assert constant.plan_id == ruled.plan_id  # the id hashes the rows
    assert 0 < constant.to_change <= len(frame)
