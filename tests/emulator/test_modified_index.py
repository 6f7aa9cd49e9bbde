"""The emulator's Modified_Time index answers exactly what a scan of the records answers.

Incremental reads (the list API's If-Modified-Since, COQL on Modified_Time) are served from an
index kept current by the store's writes; after inserts, updates, deletes and restores (and enough
writes to rebuild it) the ids listed must be those a pass over every record picks, in its order.
"""

from __future__ import annotations

import itertools

import pytest

from sergas_nb.emulator.state.seed import iso
from sergas_nb.emulator.state.store import Store

KEYS = ("id", "Account_Name", "Modified_Time")


class Clock:
    def __init__(self) -> None:
        self.now = 2_000_000_000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _scan(store: Store, module: str, since: str, sort_by: str, order: str) -> list[str]:
    recs = store._records[module]
    ids = [i for i in recs if (recs[i].get("Modified_Time") or "") > since]
    if sort_by == "id":
        ids.sort(key=int)
    else:
        ids.sort(key=lambda r: (recs[r][sort_by] or "", int(r)))
    return ids[::-1] if order == "desc" else ids


def _listed(store: Store, module: str, since: str, sort_by: str, order: str) -> list[str]:
    page = store.list_page(module, KEYS, sort_by=sort_by, sort_order=order, modified_after=since, size=200)
    return list(page.ordered)


def _coql_ids(store: Store, op: str, since: str) -> list[str]:
    rows, _ = store.coql(f"select Account_Name from Accounts where Modified_Time {op} '{since}' order by id desc")
    return [str(r["id"]) for r in rows]


def _coql_scan(store: Store, op: str, since: str) -> list[str]:
    recs = store._records["Accounts"]
    ok = {">": str.__gt__, ">=": str.__ge__, "=": str.__eq__}[op]
    hits = [i for i in recs if isinstance(m := recs[i].get("Modified_Time"), str) and m and ok(m, since)]
    return sorted(hits, key=int, reverse=True)[:200]


def _check(store: Store, sinces: list[str]) -> None:
    for since, sort_by, order in itertools.product(sinces, ("id", "Modified_Time", "Created_Time"), ("asc", "desc")):
        assert _listed(store, "Accounts", since, sort_by, order) == _scan(store, "Accounts", since, sort_by, order)
    for since, op in itertools.product(sinces, (">", ">=", "=")):
        assert _coql_ids(store, op, since) == _coql_scan(store, op, since)


@pytest.mark.parametrize("rounds", [1, 3])
def test_changes_since_match_a_scan_after_writes_deletes_and_restores(rounds: int) -> None:
    clock = Clock()
    store = Store(7, 1500, clock=clock)
    _listed(store, "Accounts", "2000-01-01T00:00:00+00:00", "id", "desc")  # the index built before the writes
    ids = list(store._records["Accounts"])
    for r in range(rounds):
        start = clock.now
        store.update("Accounts", [{"id": i, "Phone": f"555-{r}"} for i in ids[r * 300 : r * 300 + 300]])
        store.delete("Accounts", ids[-(r + 1) * 40 : len(ids) - r * 40])
        store.insert("Accounts", [{"Account_Name": f"New {r} {k}"} for k in range(30)])
        store.restore("Accounts", ids[-(r + 1) * 40 : -(r + 1) * 40 + 10])
        times = sorted({rec["Modified_Time"] for rec in store._records["Accounts"].values()})
        sinces = [iso(start - 1), iso(start), iso(start + 1), times[len(times) // 2], times[0], times[-1]]
        _check(store, sinces)
    assert len(store._records["Accounts"]) > 0
    # enough writes to rebuild the index (over an eighth of the module): still a scan's answer
    store.update("Accounts", [{"id": i, "Phone": "555-9"} for i in list(store._records["Accounts"])[:1200]])
    _check(store, [iso(clock.now - 5), iso(clock.now - 2000)])
