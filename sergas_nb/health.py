"""Account health signals: one function over frames, so the same numbers come from the CRM, the
emulator or a local mirror (anything with ``records(module, fields=...)``).

``account_health(accounts, contacts, deals, activities, now=...)`` gives one row per account id:

========================  ===========================================================================
column                    meaning
========================  ===========================================================================
days_since_activity       days (float) from the last activity that happened to ``now``: a call's or
                          meeting's start at or before ``now``, a task's close. Activities count for
                          an account when their What_Id is the account or one of its deals. NA: none.
open_deals                deals of the account whose Stage is not Closed Won / Closed Lost*.
open_pipeline             sum of their Amount (0.0 when none).
open_pipeline_age_days    mean age in days (``now`` - Created_Time) of the open deals; NA: none.
won_12m, lost_12m         deals closed won / lost (any Closed Lost* stage) with a Closing_Date in
                          the 365 days up to ``now``.
contacts                  contacts whose Account_Name is the account.
overdue_tasks             tasks of the account (or its deals) not Completed, Due_Date before ``now``.
========================  ===========================================================================

Frames are as ``records()`` reads them (``Account_Name.id``, ``What_Id.id``/``What_Id.module``);
``activities`` as ``activity_frame`` builds them from the three modules (``type``, ``when``).
This module imports no client, mirror, lab or assistant code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import pandas as pd

COLUMNS = (
    "days_since_activity",
    "open_deals",
    "open_pipeline",
    "open_pipeline_age_days",
    "won_12m",
    "lost_12m",
    "contacts",
    "overdue_tasks",
)
DAY = pd.Timedelta(days=1)
# The fields each module needs; anything else a source returns is ignored.
FIELDS: dict[str, list[str]] = {
    "Accounts": ["Account_Name"],
    "Contacts": ["Account_Name"],
    "Deals": ["Deal_Name", "Account_Name", "Stage", "Amount", "Closing_Date", "Created_Time"],
    "Tasks": ["What_Id", "Status", "Due_Date", "Closed_Time", "Subject"],
    "Events": ["What_Id", "Start_DateTime", "Event_Title"],
    "Calls": ["What_Id", "Call_Start_Time", "Subject"],
}


class Source(Protocol):
    def records(self, module: str, fields: Any = None, *args: Any, **kwargs: Any) -> Any: ...


def activity_frame(tasks: pd.DataFrame, events: pd.DataFrame, calls: pd.DataFrame) -> pd.DataFrame:
    """The three modules' frames as one: id, type, subject, when (UTC), What_Id.id, What_Id.module,
    Status and Due_Date (tasks only; NA for the others)."""

    def part(df: pd.DataFrame, kind: str, subject: str, when: pd.Series) -> pd.DataFrame:
        n = len(df)
        return pd.DataFrame(
            {
                "id": df["id"].astype("string"),
                "type": pd.array([kind] * n, dtype="string"),
                "subject": (df[subject] if subject in df else pd.Series([None] * n)).astype("string").array,
                "when": pd.to_datetime(when, utc=True).astype("datetime64[us, UTC]").array,
                "What_Id.id": df["What_Id.id"].astype("string").array,
                "What_Id.module": df["What_Id.module"].astype("string").array,
                "Status": (df["Status"].astype("string") if "Status" in df else pd.Series([None] * n)).array,
                "Due_Date": (
                    df["Due_Date"] if "Due_Date" in df else pd.Series(pd.NaT, index=df.index, dtype="datetime64[us]")
                ).array,
            },
            index=pd.RangeIndex(n),
        )

    due = pd.to_datetime(tasks["Due_Date"]).dt.tz_localize("UTC") if len(tasks) else tasks.get("Due_Date")
    task_when = tasks["Closed_Time"].where(tasks["Closed_Time"].notna(), due) if len(tasks) else tasks["Closed_Time"]
    parts = [
        part(tasks, "Tasks", "Subject", task_when),
        part(events, "Events", "Event_Title", events["Start_DateTime"]),
        part(calls, "Calls", "Subject", calls["Call_Start_Time"]),
    ]
    out = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    out["Status"] = out["Status"].astype("string")
    out["Due_Date"] = out["Due_Date"].astype("datetime64[us]")
    return out


def _account_of(activities: pd.DataFrame, deals: pd.DataFrame) -> pd.Series:
    """Each activity's account: its What_Id when that is an account, the deal's account for a deal."""
    deal_account = pd.Series(deals["Account_Name.id"].astype("string").array, index=deals["id"].astype("string"))
    what = activities["What_Id.id"].astype("string")
    module = activities["What_Id.module"].astype("string")
    via_deal = what.map(deal_account.to_dict())
    return what.where(module == "Accounts", via_deal.where(module == "Deals")).astype("string")


def account_health(
    accounts: pd.DataFrame,
    contacts: pd.DataFrame,
    deals: pd.DataFrame,
    activities: pd.DataFrame,
    *,
    now: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """The signals of the module docstring, indexed like ``accounts`` (column ``id`` first)."""
    ts = pd.Timestamp(now) if now is not None else pd.Timestamp.now(tz="UTC")
    now_ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    ids = accounts["id"].astype("string")
    out = pd.DataFrame({"id": ids.array}, index=accounts.index)

    acts = activities.assign(account=_account_of(activities, deals)) if len(activities) else None
    if acts is not None:
        happened = acts[
            acts["when"].notna()
            & (acts["when"] <= now_ts)
            & ~((acts["type"] == "Tasks") & (acts["Status"] != "Completed"))
        ]
        last = happened.groupby("account")["when"].max()
        days = (now_ts - ids.map(last.to_dict())).dt.total_seconds() / 86400 if len(last) else None
        out["days_since_activity"] = pd.array(days if days is not None else [None] * len(ids), dtype="Float64")
        due = acts["Due_Date"]
        today = now_ts.tz_localize(None).normalize()
        overdue = acts[(acts["type"] == "Tasks") & (acts["Status"] != "Completed") & due.notna() & (due < today)]
        out["overdue_tasks"] = pd.array(ids.map(overdue.groupby("account").size().to_dict()).fillna(0), dtype="Int64")
    else:
        out["days_since_activity"] = pd.array([None] * len(ids), dtype="Float64")
        out["overdue_tasks"] = pd.array([0] * len(ids), dtype="Int64")

    stage = deals["Stage"].astype("string")
    closed = stage.str.startswith("Closed").fillna(False)
    acct = deals["Account_Name.id"].astype("string")
    open_ = deals[~closed.to_numpy()]
    open_acct = acct[~closed.to_numpy()]
    age_days = (now_ts - open_["Created_Time"]).dt.total_seconds() / 86400
    out["open_deals"] = pd.array(ids.map(open_acct.value_counts().to_dict()).fillna(0), dtype="Int64")
    pipeline = open_["Amount"].astype("Float64").fillna(0).groupby(open_acct.to_numpy()).sum()
    out["open_pipeline"] = pd.array(ids.map(pipeline.to_dict()).fillna(0.0), dtype="Float64")
    out["open_pipeline_age_days"] = pd.array(
        ids.map(age_days.groupby(open_acct.to_numpy()).mean().to_dict()), dtype="Float64"
    )
    closing = pd.to_datetime(deals["Closing_Date"])
    recent = (closing <= now_ts.tz_localize(None)) & (closing > now_ts.tz_localize(None) - 365 * DAY)
    won = acct[(stage == "Closed Won").fillna(False).to_numpy() & recent.fillna(False).to_numpy()]
    lost = acct[stage.str.startswith("Closed Lost").fillna(False).to_numpy() & recent.fillna(False).to_numpy()]
    out["won_12m"] = pd.array(ids.map(won.value_counts().to_dict()).fillna(0), dtype="Int64")
    out["lost_12m"] = pd.array(ids.map(lost.value_counts().to_dict()).fillna(0), dtype="Int64")
    counts = contacts["Account_Name.id"].astype("string").value_counts()
    out["contacts"] = pd.array(ids.map(counts.to_dict()).fillna(0), dtype="Int64")
    return out[["id", *COLUMNS]]


def read_frames(source: Source) -> dict[str, pd.DataFrame]:
    """The frames ``account_health`` needs, from a client (the CRM or the emulator) or a mirror."""
    return {m: source.records(m, fields=f) for m, f in FIELDS.items()}


def health_from(source: Source, *, now: pd.Timestamp | str | None = None) -> pd.DataFrame:
    """``account_health`` over everything ``source`` holds (six module reads, no per-account calls)."""
    f: Mapping[str, pd.DataFrame] = read_frames(source)
    acts = activity_frame(f["Tasks"], f["Events"], f["Calls"])
    return account_health(f["Accounts"], f["Contacts"], f["Deals"], acts, now=now)
