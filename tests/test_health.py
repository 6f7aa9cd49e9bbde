"""Account health signals on a hand-built org whose answers are known by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from sergas_nb import frames
from sergas_nb.emulator.state import metadata as md
from sergas_nb.health import COLUMNS, account_health, activity_frame

NOW = "2025-06-30T12:00:00+00:00"
A, B, C = "1001", "1002", "1003"  # C has nothing around it
D1, D2, D3, D4 = "2001", "2002", "2003", "2004"


def _frame(module: str, rows: list[dict]) -> pd.DataFrame:
    return frames.to_frame(rows, md.fields_for(module))


def _acc(rid: str) -> dict:
    return {"id": rid, "Account_Name": f"Account {rid}"}


def _deal(rid: str, account: str, stage: str, amount: float, created: str, closing: str) -> dict:
    return {
        "id": rid,
        "Deal_Name": f"Deal {rid}",
        "Account_Name": {"name": "x", "id": account},
        "Stage": stage,
        "Amount": amount,
        "Created_Time": created,
        "Closing_Date": closing,
    }


def _what(module: str, rid: str) -> dict:
    return {"What_Id": {"name": "x", "id": rid}, "$se_module": module}


@pytest.fixture
def org() -> dict[str, pd.DataFrame]:
    accounts = _frame("Accounts", [_acc(A), _acc(B), _acc(C)])
    contacts = _frame(
        "Contacts",
        [
            {"id": str(3000 + i), "Last_Name": "c", "Account_Name": {"name": "x", "id": acc}}
            for i, acc in enumerate([A, A, B])
        ],
    )
    deals = _frame(
        "Deals",
        [
            _deal(D1, A, "Negotiation/Review", 1000.0, "2025-06-20T12:00:00+00:00", "2025-07-30"),  # open, 10 days old
            _deal(D2, A, "Qualification", 500.0, "2025-05-31T12:00:00+00:00", "2025-08-30"),  # open, 30 days old
            _deal(D3, A, "Closed Won", 800.0, "2024-10-01T00:00:00+00:00", "2025-01-15"),  # won in the last year
            _deal(D4, B, "Closed Lost to Competition", 300.0, "2023-01-01T00:00:00+00:00", "2023-03-01"),  # too old
        ],
    )
    tasks = _frame(
        "Tasks",
        [
            # A: completed 2 days ago (the last activity), one overdue open task on its deal, one not yet due.
            {"id": "4001", "Subject": "t1", "Status": "Completed", "Due_Date": "2025-06-27",
             "Closed_Time": "2025-06-28T12:00:00+00:00", **_what("Accounts", A)},
            {"id": "4002", "Subject": "t2", "Status": "Not Started", "Due_Date": "2025-06-01", **_what("Deals", D1)},
            {"id": "4003", "Subject": "t3", "Status": "In Progress", "Due_Date": "2025-07-15", **_what("Accounts", A)},
            # B: an overdue open task that never happened: overdue, but not an activity
            {"id": "4004", "Subject": "t4", "Status": "Deferred", "Due_Date": "2025-06-29", **_what("Accounts", B)},
        ],
    )  # fmt: skip
    events = _frame(
        "Events",
        [
            # B: a meeting 10 days ago counts; one next week does not.
            {"id": "5001", "Event_Title": "e1", "Start_DateTime": "2025-06-20T12:00:00+00:00",
             "End_DateTime": "2025-06-20T13:00:00+00:00", **_what("Accounts", B)},
            {"id": "5002", "Event_Title": "e2", "Start_DateTime": "2025-07-07T12:00:00+00:00",
             "End_DateTime": "2025-07-07T13:00:00+00:00", **_what("Accounts", B)},
        ],
    )  # fmt: skip
    calls = _frame(
        "Calls",
        [  # A: a call on its deal 5 days ago (older than the task close)
            {"id": "6001", "Subject": "c1", "Call_Type": "Outbound", "Call_Start_Time": "2025-06-25T12:00:00+00:00",
             **_what("Deals", D2)},
        ],
    )  # fmt: skip
    return {
        "accounts": accounts,
        "contacts": contacts,
        "deals": deals,
        "activities": activity_frame(tasks, events, calls),
    }


def test_signals_match_the_hand_counted_answers(org):
    h = account_health(org["accounts"], org["contacts"], org["deals"], org["activities"], now=NOW).set_index("id")
    assert list(h.columns) == list(COLUMNS)
    a, b, c = h.loc[A], h.loc[B], h.loc[C]
    assert a["days_since_activity"] == pytest.approx(2.0)
    assert b["days_since_activity"] == pytest.approx(10.0)
    assert pd.isna(c["days_since_activity"])
    assert (a["open_deals"], a["open_pipeline"], a["open_pipeline_age_days"]) == (2, 1500.0, pytest.approx(20.0))
    assert (b["open_deals"], b["open_pipeline"]) == (0, 0.0) and pd.isna(b["open_pipeline_age_days"])
    assert (a["won_12m"], a["lost_12m"], b["won_12m"], b["lost_12m"]) == (1, 0, 0, 0)
    assert (a["contacts"], b["contacts"], c["contacts"]) == (2, 1, 0)
    assert (a["overdue_tasks"], b["overdue_tasks"], c["overdue_tasks"]) == (1, 1, 0)


def test_signals_are_typed_for_sorting_and_filtering(org):
    h = account_health(org["accounts"], org["contacts"], org["deals"], org["activities"], now=NOW)
    assert str(h["days_since_activity"].dtype) == "Float64" and str(h["open_pipeline"].dtype) == "Float64"
    assert {str(h[c].dtype) for c in ("open_deals", "won_12m", "lost_12m", "contacts", "overdue_tasks")} == {"Int64"}
    # the quiet account sorts last by recency, the busiest first
    assert h.sort_values("days_since_activity", na_position="last")["id"].tolist() == [A, B, C]


def test_an_org_with_no_activities_still_has_every_column(org):
    empty = org["activities"].iloc[:0]
    h = account_health(org["accounts"], org["contacts"], org["deals"], empty, now=NOW).set_index("id")
    assert h["days_since_activity"].isna().all() and (h["overdue_tasks"] == 0).all()
    assert h.loc[A, "open_deals"] == 2
