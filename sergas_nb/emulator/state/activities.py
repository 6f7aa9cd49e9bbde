"""Seeded Tasks, Events, Calls and Notes linked to accounts, deals and contacts; the Deals extras.

Runs after the four core modules are generated, on its own ``random.Random`` (derived from the
seed), so the core records stay byte-identical to what the same seed gave before these modules
existed. Values are drawn with ``rng.random()`` indexing, as in ``seed.py``, to stay fast at
100,000 accounts. Link shapes (What_Id + $se_module, Who_Id, a note's Parent_Id with its module)
are Zoho's; see ``activity_fields`` for the sources.
"""

from __future__ import annotations

import random
from typing import Any

from sergas_nb.emulator.state import activity_fields as af
from sergas_nb.emulator.state import metadata as md
from sergas_nb.emulator.state.seed import SEED_END, SEED_START, SeedData, iso, user_ref

Record = dict[str, Any]
DAY = 86400.0

_TASK_SUBJECTS = ("Send proposal", "Follow up on quote", "Prepare QBR deck", "Renewal check-in", "Collect feedback")
_EVENT_TITLES = (
    "Quarterly business review",
    "Product demo",
    "Onsite workshop",
    "Kick-off meeting",
    "Exec sponsor sync",
)
_CALL_SUBJECTS = ("Discovery call", "Pricing discussion", "Support escalation", "Renewal call", "Intro call")
_NOTE_TITLES = ("Meeting notes", "Risk", "Next steps", "Budget", "Champion")
_NOTE_LINES = (
    "Customer is evaluating a competitor; pricing is the main concern.",
    "Champion moved teams; need a new executive sponsor.",
    "Happy with onboarding, wants training for the new hires.",
    "Budget for next year confirmed, renewal expected on time.",
    "Usage dropped last quarter; schedule a health check.",
    "Asked for API access and a sandbox.",
)


def _ref(rec: Record, name_field: str) -> dict[str, Any]:
    return {"name": rec.get(name_field), "id": rec["id"]}


class _Ids:
    def __init__(self, rng: random.Random, start: int) -> None:
        self.rng, self.next = rng, start

    def new(self) -> str:
        self.next += 1 + int(self.rng.random() * 40)
        return str(self.next)


def add_activities(seed: int, records: dict[str, dict[str, Record]], owners: list[dict[str, Any]], next_id: int) -> int:
    """Add Tasks, Events, Calls, Notes to ``records`` (and Competitors, Line_Items to its Deals).

    Sizes follow the accounts: a third as many tasks, calls and notes, a sixth as many events.
    Returns the next free id.
    """
    rng = random.Random(seed * 1_000_003 + 18)
    r = rng.random
    ids = _Ids(rng, next_id)
    accounts = list(records["Accounts"].values())
    deals = list(records["Deals"].values())
    contacts_of: dict[str, list[Record]] = {}
    for c in records["Contacts"].values():
        acc = c.get("Account_Name")
        if acc:
            contacts_of.setdefault(acc["id"], []).append(c)
    n_acc = len(accounts)
    _deal_extras(rng, ids, deals)
    if not accounts:
        for m in ("Tasks", "Events", "Calls", "Notes"):
            records[m] = {}
        return ids.next

    def parent() -> tuple[Record, str, Record | None]:
        """(What_Id target, its module, Who_Id contact or None): mostly accounts, some deals."""
        if deals and r() < 0.25:
            d = deals[int(r() * len(deals))]
            acc_ref = d.get("Account_Name")
            who = contacts_of.get(acc_ref["id"]) if acc_ref else None
            return d, "Deals", who[int(r() * len(who))] if who and r() < 0.6 else None
        a = accounts[int(r() * n_acc)]
        who = contacts_of.get(a["id"])
        return a, "Accounts", who[int(r() * len(who))] if who and r() < 0.6 else None

    name_of = {"Accounts": "Account_Name", "Deals": "Deal_Name"}

    def stamp(rec: Record, i: int, n: int, owner: dict[str, Any]) -> float:
        created = SEED_START + (SEED_END - SEED_START) * (i + r() * 0.9) / max(n, 1)
        modified = created + (SEED_END - created) * r() ** 3
        rec["Created_By"] = owner
        rec["Modified_By"] = owner
        rec["Created_Time"] = iso(created)
        rec["Modified_Time"] = iso(modified)
        return created

    def link(rec: Record, what: Record, module: str, who: Record | None) -> None:
        rec["Who_Id"] = _ref(who, "Full_Name") if who else None
        rec["What_Id"] = _ref(what, name_of[module])
        rec["$se_module"] = module

    tasks: dict[str, Record] = {}
    n = n_acc // 3
    for i in range(n):
        what, module, who = parent()
        owner = what["Owner"]
        rec: Record = {"id": ids.new(), "Owner": owner, "Subject": _TASK_SUBJECTS[int(r() * 5)]}
        created = stamp(rec, i, n, owner)
        due = created + DAY * (3 + int(r() * 60))
        # Old tasks are mostly done; the recent ones are still open and some of those are overdue.
        done = due < SEED_END - 60 * DAY and r() < 0.85
        status = "Completed" if done else af.TASK_STATUSES[int(r() * 3)] if r() < 0.8 else "Waiting for input"
        rec.update(
            Due_Date=iso(due)[:10],
            Status=status,
            Priority=af.TASK_PRIORITIES[int(r() * 5)],
            Closed_Time=iso(min(due, SEED_END)) if done else None,
            Send_Notification_Email=False,
        )
        link(rec, what, module, who)
        rec["Description"] = None
        rec["Tag"] = []
        rec["Last_Activity_Time"] = rec["Modified_Time"]
        tasks[rec["id"]] = rec
    records["Tasks"] = tasks

    events: dict[str, Record] = {}
    n = n_acc // 6
    for i in range(n):
        what, module, who = parent()
        owner = what["Owner"]
        rec = {"id": ids.new(), "Owner": owner, "Event_Title": _EVENT_TITLES[int(r() * 5)]}
        created = stamp(rec, i, n, owner)
        start = created + DAY * (1 + int(r() * 30)) + 3600 * int(r() * 8)
        rec.update(
            Venue="Video call" if r() < 0.6 else "Customer office",
            All_day=False,
            Start_DateTime=iso(start),
            End_DateTime=iso(start + 1800 * (1 + int(r() * 4))),
        )
        link(rec, what, module, who)
        rec["Description"] = None
        rec["Tag"] = []
        rec["Last_Activity_Time"] = rec["Modified_Time"]
        events[rec["id"]] = rec
    records["Events"] = events

    calls: dict[str, Record] = {}
    n = n_acc // 3
    for i in range(n):
        what, module, who = parent()
        owner = what["Owner"]
        rec = {"id": ids.new(), "Owner": owner, "Subject": _CALL_SUBJECTS[int(r() * 5)]}
        created = stamp(rec, i, n, owner)
        kind = af.CALL_TYPES[0 if r() < 0.6 else 1 if r() < 0.8 else 2]
        secs = 0 if kind == "Missed" else 60 + int(r() * 2400)
        rec.update(
            Call_Type=kind,
            Call_Purpose=af.CALL_PURPOSES[int(r() * 6)] if r() < 0.7 else None,
            Call_Start_Time=iso(created),
            Call_Duration=f"{secs // 60:02d}:{secs % 60:02d}",
            Call_Duration_in_seconds=secs,
            Call_Result=af.CALL_RESULTS[int(r() * 6)] if kind != "Missed" else None,
        )
        link(rec, what, module, who)
        rec["Description"] = None
        rec["Tag"] = []
        rec["Last_Activity_Time"] = rec["Modified_Time"]
        calls[rec["id"]] = rec
    records["Calls"] = calls

    notes: dict[str, Record] = {}
    n = n_acc // 3
    for i in range(n):
        what, module, _ = parent()
        owner = what["Owner"]
        rec = {"id": ids.new(), "Owner": owner, "Note_Title": _NOTE_TITLES[int(r() * 5)]}
        rec["Note_Content"] = _NOTE_LINES[int(r() * 6)]
        rec["Parent_Id"] = {
            "module": {"api_name": module, "id": md.module_id(module)},
            "name": what.get(name_of[module]),
            "id": what["id"],
        }
        rec["$se_module"] = module
        stamp(rec, i, n, owner)
        notes[rec["id"]] = rec
    records["Notes"] = notes
    return ids.next


def _deal_extras(rng: random.Random, ids: _Ids, deals: list[Record]) -> None:
    """Competitors (multi-select) and Line_Items (subform rows) on the seeded deals."""
    r = rng.random
    comp = af.COMPETITORS
    for d in deals:
        d["Competitors"] = sorted({comp[int(r() * 6)] for _ in range(1 + int(r() * 2))}) if r() < 0.4 else []
        rows = []
        if r() < 0.3:
            for _ in range(1 + int(r() * 3)):
                rows.append(
                    {
                        "id": ids.new(),
                        "Product": af.LINE_ITEM_PRODUCTS[int(r() * 6)],
                        "Quantity": 1 + int(r() * 20),
                        "Unit_Price": round(100 + r() * 4900, 2),
                        "Parent_Id": {"name": d["Deal_Name"], "id": d["id"]},
                        "Created_Time": d["Created_Time"],
                        "Modified_Time": d["Created_Time"],
                    }
                )
        d["Line_Items"] = rows


def with_activities(data: SeedData, seed: int) -> SeedData:
    """``data`` (from ``seed.generate``) with the activity modules and Notes added, in place."""
    owners = [user_ref(u) for u in data.users]
    data.next_id = add_activities(seed, data.records, owners, data.next_id)
    data.counts = {m: len(v) for m, v in data.records.items()}
    return data


class LinkError(ValueError):
    """A polymorphic link the store refuses; ``where`` is the JSON path below the field."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.where = where


_NAMES = {"Accounts": "Account_Name", "Deals": "Deal_Name", "Contacts": "Full_Name", "Leads": "Full_Name"}


def poly_link(
    records: dict[str, dict[str, Record]], field: dict[str, Any], value: Any, se_module: Any
) -> dict[str, Any]:
    """A What_Id / Parent_Id write in stored shape, with ``$se_module``; raises LinkError.

    Accepts Zoho's two spellings: ``{"id"}`` (or a bare id) beside ``$se_module``, and the v8 notes
    shape ``{"module": {"api_name"}, "id"}``.
    """
    api = field["api_name"]
    if value is None:
        return {api: None, "$se_module": None}
    module = se_module
    if isinstance(value, dict) and isinstance(value.get("module"), dict):
        module = value["module"].get("api_name")
    rid = value.get("id") if isinstance(value, dict) else value
    rid = str(rid) if isinstance(rid, (str, int)) and not isinstance(rid, bool) and str(rid).isdigit() else None
    if rid is None:
        raise LinkError("invalid data", ".id")
    allowed = [m["api_name"] for m in field["multi_module_lookup"]["modules"]]
    if module not in allowed:
        raise LinkError(f"$se_module must name one of {', '.join(allowed)}", "")
    target = records.get(module, {}).get(rid)
    if target is None:
        raise LinkError("the id given seems to be invalid", ".id")
    ref: dict[str, Any] = {"name": target.get(_NAMES[module]), "id": rid}
    if api == "Parent_Id":
        ref = {"module": {"api_name": module, "id": md.module_id(module)}, **ref}
    return {api: ref, "$se_module": module}


def derive_activity(module: str, rec: Record, now: str) -> None:
    """What Zoho computes on an activity write: a call's seconds, a task's closing time."""
    if module == "Calls":
        text = rec.get("Call_Duration")
        try:
            mins, secs = (int(p) for p in str(text).split(":"))
            rec["Call_Duration_in_seconds"] = mins * 60 + secs
        except ValueError:
            rec["Call_Duration_in_seconds"] = None
    elif module == "Tasks":
        if rec.get("Status") == "Completed":
            rec["Closed_Time"] = rec.get("Closed_Time") or now
        else:
            rec["Closed_Time"] = None
