# ruff: noqa: E501  (one bad-input case per line reads best as a table)
"""Every bad input to a write or an edit plan: a clear error naming the field, row or value, raised
before anything is sent. One case per gap; each checks that the emulator received no write."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from sergas_nb.client import ZohoClient, connect
from sergas_nb.edits.plans import EditPlan
from sergas_nb.edits.runs import apply
from sergas_nb.errors import ZohoValidationError

WRITES = ("PUT /crm/v8/Accounts", "POST /crm/v8/Accounts", "POST /crm/v8/Accounts/upsert", "DELETE /crm/v8/Accounts")


@pytest.fixture(scope="module")
def crm(emulator):
    emulator.control.reset()
    with connect(emulator=emulator, env_file=None, backoff=0.01) as client:
        yield client


@pytest.fixture(scope="module")
def frame(crm) -> pd.DataFrame:
    return crm.records("Accounts", fields=["Account_Name", "Employees", "Rating", "Owner", "Created_Time"], limit=5)


def _writes(z) -> int:
    requests = z.control.stats()["requests"]
    return sum(int(requests.get(k, 0)) for k in WRITES)


Case = Callable[[ZohoClient, pd.DataFrame], Any]


def _id(f: pd.DataFrame, n: int = 0) -> str:
    return str(f["id"].iloc[n])


# fmt: off
CASES: list[tuple[str, Case, str, str | None]] = [
    # (name, the call, words the error must contain, the field it must name, if any)
    ("update None", lambda c, f: c.update("Accounts", None), "not None", None),
    ("insert None", lambda c, f: c.insert("Accounts", None), "not None", None),
    ("upsert None", lambda c, f: c.upsert("Accounts", None), "not None", None),
    ("delete None", lambda c, f: c.delete("Accounts", None), "not None", "ids"),
    ("update a string", lambda c, f: c.update("Accounts", "id=1"), "not str", None),
    ("update a number", lambda c, f: c.update("Accounts", 42), "not int", None),
    ("row not a dict", lambda c, f: c.update("Accounts", [{"id": _id(f), "Employees": 1}, "x"]), "expected a dict", None),
    ("duplicate column names", lambda c, f: c.update("Accounts", f[["id", "Employees", "Employees"]]), "duplicate column", "Employees"),
    ("duplicate index labels", lambda c, f: c.update("Accounts", pd.concat([f[["id", "Employees"]].iloc[:1], f[["id", "Employees"]].iloc[1:2]]).set_axis([0, 0])), "duplicate index", None),
    ("id-only frame", lambda c, f: c.update("Accounts", f[["id"]]), "nothing to update", None),
    ("id-only dict", lambda c, f: c.update("Accounts", [{"id": _id(f)}]), "nothing to update", None),
    ("12-digit integer", lambda c, f: c.update("Accounts", [{"id": _id(f), "Employees": 123456789012}]), "out of range", "Employees"),
    ("integer field given True", lambda c, f: c.update("Accounts", [{"id": _id(f), "Employees": True}]), "boolean", "Employees"),
    ("integer field given 2.5", lambda c, f: c.update("Accounts", [{"id": _id(f), "Employees": 2.5}]), "expected an integer", "Employees"),
    ("integer field given text", lambda c, f: c.update("Accounts", [{"id": _id(f), "Employees": "many"}]), "expected an integer", "Employees"),
    ("None clears a mandatory field", lambda c, f: c.update("Accounts", [{"id": _id(f), "Account_Name": None}]), "mandatory", "Account_Name"),
    ("NA in a frame clears a mandatory field", lambda c, f: c.update("Accounts", f[["id", "Account_Name"]].assign(Account_Name=pd.NA)), "mandatory", "Account_Name"),
    ("unknown field", lambda c, f: c.update("Accounts", [{"id": _id(f), "Nope": 1}]), "unknown field", "Nope"),
    ("read-only field named", lambda c, f: c.update("Accounts", [{"id": _id(f), "Created_Time": "2024-01-01T00:00:00+00:00"}]), "read-only", "Created_Time"),
    ("picklist value not allowed", lambda c, f: c.update("Accounts", [{"id": _id(f), "Rating": "Hot"}]), "not an allowed value", "Rating"),
    ("text too long", lambda c, f: c.update("Accounts", [{"id": _id(f), "Account_Name": "x" * 201}]), "longer than 200", "Account_Name"),
    ("text field given a number", lambda c, f: c.update("Accounts", [{"id": _id(f), "Account_Name": 5}]), "expected text", "Account_Name"),
    ("missing id", lambda c, f: c.update("Accounts", [{"Employees": 3}]), "missing id", "id"),
    ("id not digits", lambda c, f: c.update("Accounts", [{"id": "abc", "Employees": 3}]), "string of digits", "id"),
    ("id as float", lambda c, f: c.update("Accounts", [{"id": 6.25e18, "Employees": 3}]), "loses digits", "id"),
    ("duplicate ids", lambda c, f: c.update("Accounts", [{"id": _id(f), "Employees": 3}, {"id": _id(f), "Employees": 4}]), "duplicate id", "id"),
    ("insert sets an id", lambda c, f: c.insert("Accounts", [{"id": "1", "Account_Name": "A"}]), "cannot set the id", "id"),
    ("insert without a mandatory field", lambda c, f: c.insert("Accounts", [{"Employees": 1}]), "mandatory field missing", "Account_Name"),
    ("insert key unknown", lambda c, f: c.insert("Accounts", [{"Account_Name": "A"}], key="Nope"), "unknown field", "key"),
    ("insert key read-only", lambda c, f: c.insert("Accounts", [{"Account_Name": "A"}], key="Created_Time"), "writable", "key"),
    ("insert key missing in a row", lambda c, f: c.insert("Accounts", [{"Account_Name": "A", "Account_Number": "1"}, {"Account_Name": "B"}], key="Account_Number"), "every row", "Account_Number"),
    ("insert key repeated", lambda c, f: c.insert("Accounts", [{"Account_Name": "A"}, {"Account_Name": "A"}], key="Account_Name"), "duplicate key value", "Account_Name"),
    ("upsert unknown duplicate-check field", lambda c, f: c.upsert("Accounts", [{"Account_Name": "A"}], duplicate_check_fields=["Nope"]), "unknown field", "duplicate_check_fields"),
    ("upsert duplicate-check fields as a string", lambda c, f: c.upsert("Accounts", [{"Account_Name": "A"}], duplicate_check_fields="Account_Name"), "list of field names", "duplicate_check_fields"),
    ("date field given a time of day", lambda c, f: c.update("Accounts", [{"id": _id(f), "Last_Engagement_Date": dt.datetime(2024, 1, 1, 9, 30)}]), "time of day", "Last_Engagement_Date"),
    ("bad date text", lambda c, f: c.update("Accounts", [{"id": _id(f), "Last_Engagement_Date": "01/02/2024"}]), "YYYY-MM-DD", "Last_Engagement_Date"),
    ("impossible date", lambda c, f: c.update("Accounts", [{"id": _id(f), "Last_Engagement_Date": "2024-02-30"}]), "not a valid date", "Last_Engagement_Date"),
    ("infinite currency", lambda c, f: c.update("Accounts", [{"id": _id(f), "Annual_Revenue": float("inf")}]), "finite", "Annual_Revenue"),
    ("lookup named without its id", lambda c, f: c.update("Accounts", [{"id": _id(f), "Owner.name": "Ann"}]), "written by id", "Owner.name"),
    ("lookup with a bad id", lambda c, f: c.update("Accounts", [{"id": _id(f), "Owner": {"id": "x"}}]), "string of digits", "Owner"),
    ("na neither clear nor skip", lambda c, f: c.update("Accounts", [{"id": _id(f), "Employees": 1}], na="drop"), "na must be", None),
    ("max_in_flight 0", lambda c, f: c.update("Accounts", [{"id": _id(f), "Employees": 1}], max_in_flight=0), "from 1 to 10", "max_in_flight"),
    ("max_in_flight 11", lambda c, f: c.update("Accounts", [{"id": _id(f), "Employees": 1}], max_in_flight=11), "from 1 to 10", "max_in_flight"),
    ("subform rows given", lambda c, f: c.update("Deals", [{"id": _id(c.records("Deals", fields=["id"], limit=1)), "Line_Items": [{"Quantity": 2}]}]), "subform rows cannot be written", "Line_Items"),
    ("delete duplicate ids", lambda c, f: c.delete("Accounts", [_id(f), _id(f)]), "duplicate id", "id"),
    ("delete a bad id", lambda c, f: c.delete("Accounts", ["12a"]), "string of digits", "id"),
    # edit plans
    ("plan from a list", lambda c, f: EditPlan.from_edits(c, [{"id": _id(f)}]), "as a DataFrame", None),
    ("plan without id column", lambda c, f: EditPlan.from_edits(c, f[["Employees"]]), "no 'id' column", "id"),
    ("plan with only an id column", lambda c, f: EditPlan.from_edits(c, f[["id"]]), "no column to change", None),
    ("plan with duplicate ids", lambda c, f: EditPlan.from_edits(c, pd.concat([f[["id", "Employees"]]] * 2, ignore_index=True)), "duplicate id", "id"),
    ("plan with duplicate columns", lambda c, f: EditPlan.from_edits(c, f[["id", "Employees", "Employees"]]), "duplicate column", "Employees"),
    ("plan with an unknown column", lambda c, f: EditPlan.from_edits(c, f[["id"]].assign(Nope=1)), "unknown field", "Nope"),
    ("plan with Owner and Owner.id", lambda c, f: EditPlan.from_edits(c, f[["id", "Owner.id"]].assign(Owner=f["Owner.id"])), "given twice", "Owner"),
    ("plan changing a read-only field", lambda c, f: EditPlan.from_edits(c, f[["id", "Created_Time"]].assign(Created_Time=pd.Timestamp("2020-01-01", tz="UTC"))), "read-only", "Created_Time"),
    ("plan over ids not in the CRM", lambda c, f: EditPlan.from_edits(c, pd.DataFrame({"id": ["1234567890"], "Employees": [3]})), "no such Accounts record", "id"),
    ("plan whose original lacks a row", lambda c, f: EditPlan.from_edits(c, f[["id", "Employees"]].assign(Employees=1), original=f.iloc[1:]), "not in the original", "id"),
    ("plan with a bad id", lambda c, f: EditPlan.from_edits(c, pd.DataFrame({"id": ["x1"], "Employees": [3]})), "string of digits", "id"),
    ("two-field plan, one value bad", lambda c, f: apply(EditPlan.from_edits(c, f[["id", "Employees", "Rating"]].assign(Employees=123456789012, Rating="Active"), original=f), c, journal="postgresql://unused@127.0.0.1:1/x"), "out of range", "Employees"),
]
# fmt: on


@pytest.mark.parametrize(("name", "call", "words", "field"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_before_anything_is_sent(crm, frame, emulator, name, call, words, field):
    before = _writes(emulator)
    with pytest.raises(ZohoValidationError) as err:
        call(crm, frame)
    assert words in str(err.value), str(err.value)
    if field is not None:
        assert field in [p.field for p in err.value.problems], err.value.problems
    assert _writes(emulator) == before


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [({"batch_size": 0}, "batch_size"), ({"batch_size": 101}, "batch_size"), ({"on_conflict": "merge"}, "on_conflict")],
)
def test_bad_run_options_are_refused_before_anything_is_sent(crm, frame, emulator, kwargs, words):
    plan = EditPlan.from_edits(crm, frame[["id", "Employees"]].assign(Employees=7), original=frame)
    before = _writes(emulator)
    with pytest.raises(ValueError, match=words):
        apply(plan, crm, journal="postgresql://unused@127.0.0.1:1/x", **kwargs)
    assert _writes(emulator) == before
