"""What surrounds an account, for the explorer's detail tab and notebook 02's "account 360" section.

Two detail sources with one shape (``{"contacts", "deals", "activities", "notes"}`` frames):

- ``FrameDetails``: from frames already in memory (a whole-org read, or a local mirror): opening
  an account costs no call.
- ``ClientDetails``: from the CRM per account: five related-list calls (Contacts, Deals, Notes,
  Activities, Activities_History), cached per account so reopening one costs nothing.

``load_org`` reads the frames ``FrameDetails`` and ``sergas_nb.health`` need from any source with
``records(module, fields=...)`` (the client or a mirror): eight module reads for the whole org.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sergas_nb import health
from sergas_nb._related import CONTACT_FIELDS, NOTE_FIELDS

Details = dict[str, pd.DataFrame]
DetailSource = Callable[[str], Details]
RECENT = 10  # rows of each section the detail tab shows

CONTACT_COLUMNS = ("Full_Name", "Title", "Email", "Phone")
DEAL_COLUMNS = ("Deal_Name", "Stage", "Amount", "Closing_Date")
ACTIVITY_COLUMNS = ("when", "type", "subject", "Status")
NOTE_COLUMNS = ("Created_Time", "Note_Title", "Note_Content")
SECTIONS = (
    ("contacts", "Contacts", CONTACT_COLUMNS),
    ("deals", "Deals", DEAL_COLUMNS),
    ("activities", "Recent activities", ACTIVITY_COLUMNS),
    ("notes", "Notes", NOTE_COLUMNS),
)


@dataclass
class Org:
    """The frames of a whole org an account 360 view needs."""

    accounts: pd.DataFrame
    contacts: pd.DataFrame
    deals: pd.DataFrame
    activities: pd.DataFrame
    notes: pd.DataFrame

    def health(self, now: pd.Timestamp | str | None = None) -> pd.DataFrame:
        return health.account_health(self.accounts, self.contacts, self.deals, self.activities, now=now)


def load_org(source: Any, accounts: pd.DataFrame | None = None) -> Org:
    """The frames from ``source`` (client or mirror); ``accounts`` reuses a frame already read."""
    fields = health.FIELDS
    skip = {"Contacts"} | ({"Accounts"} if accounts is not None else set())  # contacts: read with more fields below
    frames = {m: source.records(m, fields=f) for m, f in fields.items() if m not in skip}
    contacts = source.records("Contacts", fields=CONTACT_FIELDS)
    deals = frames["Deals"]
    acts = health.activity_frame(frames["Tasks"], frames["Events"], frames["Calls"])
    notes = source.records("Notes", fields=NOTE_FIELDS)
    return Org(accounts if accounts is not None else frames["Accounts"], contacts, deals, acts, notes)


class FrameDetails:
    """Details of one account from frames in memory (no call per account)."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self._deal_account = dict(
            zip(org.deals["id"].astype(str), org.deals["Account_Name.id"].astype("string"), strict=True)
        )

    def __call__(self, account_id: str) -> Details:
        o = self.org
        deals = o.deals[o.deals["Account_Name.id"] == account_id]
        deal_ids = set(deals["id"].astype(str))
        what, module = o.activities["What_Id.id"], o.activities["What_Id.module"]
        mine = ((module == "Accounts") & (what == account_id)) | ((module == "Deals") & what.isin(deal_ids))
        note_parent = o.notes["Parent_Id.id"]
        notes = o.notes[(note_parent == account_id) | note_parent.isin(deal_ids)]
        return {
            "contacts": o.contacts[o.contacts["Account_Name.id"] == account_id],
            "deals": deals.sort_values("Closing_Date", ascending=False, na_position="last"),
            "activities": o.activities[mine.fillna(False)].sort_values("when", ascending=False, na_position="last"),
            "notes": notes.sort_values("Created_Time", ascending=False),
        }


class ClientDetails:
    """Details of one account read from the CRM when it is opened (five calls, then cached)."""

    def __init__(self, crm: Any) -> None:
        self.crm = crm
        self._cache: dict[str, Details] = {}

    def __call__(self, account_id: str) -> Details:
        if account_id not in self._cache:
            self._cache[account_id] = self.crm.account_details(account_id)
        return self._cache[account_id]


def _cell(value: Any, column: str) -> str:
    if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):
        return "—"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if column.endswith("_Date") else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:,.0f}"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def render_related(details: Details | None, rows: int = RECENT, account_id: str | None = None) -> str:
    """The four sections as escaped HTML tables (the latest ``rows`` of each, with the total)."""
    if details is None:
        return ""
    out = []
    for key, title, columns in SECTIONS:
        df = details.get(key)
        n = 0 if df is None else len(df)
        out.append(
            f"<h4 class='sergas-related-title' data-section='{key}' data-count='{n}' style='margin:8px 0 2px'>"
            f"{html.escape(title)} ({n:,})</h4>"
        )
        if not n or df is None:
            out.append(f"<div class='sergas-related-empty' data-section='{key}'><em>None.</em></div>")
            continue
        cols = [c for c in columns if c in df.columns]
        head = "".join(f"<th style='text-align:left;padding:1px 6px'>{html.escape(c)}</th>" for c in cols)
        body = "".join(
            "<tr>"
            + "".join(
                f"<td data-col='{html.escape(c)}' style='padding:1px 6px'>{html.escape(_cell(v, c))}</td>"
                for c, v in zip(cols, rec, strict=True)
            )
            + "</tr>"
            for rec in df[cols].head(rows).itertuples(index=False, name=None)
        )
        out.append(
            f"<table class='sergas-related' data-section='{key}' style='font-size:12px;border-collapse:collapse'>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )
    account = html.escape(account_id or "", quote=True)
    return f"<div class='sergas-account-360' data-account='{account}'>" + "".join(out) + "</div>"
