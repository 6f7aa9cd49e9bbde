"""More changes than one list page holds: read by one COQL query on Modified_Time."""

from __future__ import annotations

import threading
import time

import pandas as pd

from sergas_nb.mirror import Mirror
from tests.mirror.conftest import assert_mirrors


def test_more_than_a_page_of_changes_comes_by_coql_and_matches_a_full_read(small_org, crm, tmp_path):
    small_org.control.reseed(seed=7, accounts=260)  # more accounts than a list page (200) holds
    with Mirror(crm, tmp_path / "m", reconcile_every=0, computed_every=0) as m:
        m.sync(["Accounts"], progress=False)
        ids = list(m.frame("Accounts")["id"])
        changed = ids[:230]
        crm.update("Accounts", [{"id": i, "Phone": "555-0199"} for i in changed])
        crm.delete("Accounts", ids[-3:])
        added = crm.insert("Accounts", [{"Account_Name": f"added since the sync {k}"} for k in range(5)])
        assert added.succeeded == 5
        before = small_org.control.stats()["requests"]
        report = m.sync(["Accounts"], progress=False)
        after = small_org.control.stats()["requests"]
        sent = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
        # one list page (200 of them, with If-Modified-Since), then the changes by COQL instead of the list's next page
        assert sent.get("POST /crm/v8/coql", 0) == 1, sent
        assert sent.get("GET /crm/v8/Accounts", 0) == 1, sent
        assert int(report["changed"][0]) == len(changed)
        assert int(report["added"][0]) == 5
        assert int(report["deleted"][0]) == 3
        ch = m.changes("Accounts")
        assert set(ch[ch["field"] == "Phone"]["id"]) == set(changed)
        assert_mirrors(m, crm, ["Accounts"])


def test_changes_read_over_several_coql_calls_miss_nothing_deleted_or_edited_between_calls(
    small_org, crm, tmp_path, monkeypatch
):
    """More changes below the first list page than one COQL call holds come in calls one after
    another. A record deleted from the part already read, between two calls, shifts no later record
    out of reach (each call continues below the last one's lowest id, not at an offset); and a
    record of that part edited between the calls is read by the next sync (the watermark stops at
    the reads' start)."""
    small_org.control.reseed(seed=7, accounts=2300)
    with Mirror(crm, tmp_path / "m", reconcile_every=0, clock_skew=0.0) as m:
        m.sync(["Accounts"], progress=False)
        ids = sorted(m.frame("Accounts")["id"], key=int, reverse=True)
        # The first page's 200 changes are spread over the top 2,000 ids: the 300 below them are
        # expected to be few, read 200 a call, so they take two calls, one after the other.
        changed = ids[0:2000:10] + ids[2000:]
        crm.update("Accounts", [{"id": i, "Phone": "555-2300"} for i in changed], progress=False)
        time.sleep(1.1)  # the edits between the calls land in later seconds than these
        real = crm._pipeline.coql
        calls = []

        def coql(query, module):
            answer = real(query, module)
            if "Modified_Time >=" not in query:  # the rollup's re-read (Deals are not mirrored)
                return answer
            calls.append(query)
            if len(calls) == 1:  # between the first call and the second
                crm.delete("Accounts", [ids[2005]])
                crm.update("Accounts", [{"id": ids[2006], "Phone": "555-0606"}])
                time.sleep(2.1)  # a record of the part not yet read, edited two seconds later
                crm.update("Accounts", [{"id": ids[2250], "Phone": "555-2250"}])
            return answer

        monkeypatch.setattr(crm._pipeline, "coql", coql)
        m.sync(["Accounts"], progress=False)
        monkeypatch.setattr(crm._pipeline, "coql", real)
        assert len(calls) == 2, calls
        copy = m.frame("Accounts").set_index("id")
        assert copy.loc[ids[2250], "Phone"] == "555-2250"
        assert (
            copy.loc[[i for i in changed if i not in (ids[2005], ids[2006], ids[2250])], "Phone"] == "555-2300"
        ).all()
        m.sync(["Accounts"], progress=False)
        assert m.frame("Accounts").set_index("id").loc[ids[2006], "Phone"] == "555-0606"
        assert ids[2005] not in set(m.frame("Accounts")["id"])
        assert_mirrors(m, crm, ["Accounts"])


def test_clustered_changes_are_read_in_id_ranges_at_once_and_an_edit_meanwhile_comes_next_sync(
    small_org, crm, tmp_path, monkeypatch
):
    """Changes to the newest 1,500 records: the first list page is the newest 200, and the rest is
    read below it in several id ranges at once, not again from the top nor one call after another.
    A record of the first page edited before the ranges are read is missed by this sync (its part
    is not read again) and read by the next: the watermark stops at the earliest Date the answers
    carried, though the ranges read a record edited two seconds after it."""
    small_org.control.reseed(seed=7, accounts=2300)
    with Mirror(crm, tmp_path / "m", reconcile_every=0) as m:  # clock_skew 300 s: only Date makes this exact
        m.sync(["Accounts"], progress=False)
        ids = sorted(m.frame("Accounts")["id"], key=int, reverse=True)
        crm.update("Accounts", [{"id": i, "Phone": "555-1500"} for i in ids[:1500]], progress=False)
        time.sleep(1.1)
        real = crm._pipeline.coql
        calls, edited, lock = [], threading.Event(), threading.Lock()

        def coql(query, module):
            if "Modified_Time >=" not in query:
                return real(query, module)
            with lock:
                first = not calls
                calls.append(query)
            if first:  # after the first page, before any range is read
                crm.update("Accounts", [{"id": ids[3], "Phone": "555-0003"}])
                time.sleep(2.1)
                crm.update("Accounts", [{"id": ids[1400], "Phone": "555-1400"}])
                edited.set()
            assert edited.wait(30)
            return real(query, module)

        monkeypatch.setattr(crm._pipeline, "coql", coql)
        report = m.sync(["Accounts"], progress=False)
        monkeypatch.setattr(crm._pipeline, "coql", real)
        assert len(calls) > 2, calls  # several ranges
        assert not any(f"id < {ids[199]}" not in q and f"id >= {ids[199]}" in q for q in calls)
        assert all(int(q.split("id < ")[1].split()[0].rstrip(")")) <= int(ids[199]) for q in calls), calls
        assert int(report["changed"][0]) == 1500
        copy = m.frame("Accounts").set_index("id")
        assert copy.loc[ids[1400], "Phone"] == "555-1400"
        assert copy.loc[ids[3], "Phone"] == "555-1500"  # missed this time: its part was read first
        m.sync(["Accounts"], progress=False)
        assert m.frame("Accounts").set_index("id").loc[ids[3], "Phone"] == "555-0003"
        assert_mirrors(m, crm, ["Accounts"])


def test_a_large_syncs_watermark_is_its_newest_change_not_minutes_back(small_org, crm, tmp_path):
    """The watermark of a read spread over several calls stops at the earliest Date the CRM sent
    (less two seconds), not at this machine's time less ``clock_skew`` (300 s): changes read a few
    seconds after they were made set it, and the next sync does not re-read five minutes."""
    small_org.control.reseed(seed=7, accounts=2300)
    with Mirror(crm, tmp_path / "m", reconcile_every=0, computed_every=0) as m:
        m.sync(["Accounts"], progress=False)
        ids = sorted(m.frame("Accounts")["id"], key=int, reverse=True)
        before = pd.Timestamp.now(tz="UTC").floor("s")
        crm.update("Accounts", [{"id": i, "Phone": "555-0900"} for i in ids[:900]], progress=False)
        time.sleep(3.1)  # the edits are older than the margin below the first answer's Date
        report = m.sync(["Accounts"], progress=False)
        assert int(report["changed"][0]) == 900 and int(report["calls"][0]) > 3
        assert pd.Timestamp(report["watermark"][0]) >= before, report["watermark"][0]


def test_a_sync_after_a_burst_of_edits_does_not_read_them_again(small_org, crm, tmp_path):
    """900 records edited in one second, then synced: the next sync, nothing changed since, is a
    304 (two calls, no records), not a re-read of the burst. The sync knows from Zoho's Date that
    its read began seconds after the watermark's second, so no write of that second can have
    followed it, whatever this machine's clock says (``clock_skew`` 300 s)."""
    small_org.control.reseed(seed=7, accounts=2300)
    with Mirror(crm, tmp_path / "m", reconcile_every=0, computed_every=0) as m:
        m.sync(["Accounts"], progress=False)
        ids = sorted(m.frame("Accounts")["id"], key=int, reverse=True)
        crm.update("Accounts", [{"id": i, "Phone": "555-0900"} for i in ids[:900]], progress=False)
        time.sleep(4.1)  # the watermark's second is more than the overlap and the margin before the read
        assert int(m.sync(["Accounts"], progress=False)["changed"][0]) == 900
        again = m.sync(["Accounts"], progress=False)
        assert int(again["changed"][0]) == 0
        assert int(again["calls"][0]) == 2, again  # the list's 304 and the deletions' answer
        crm.update("Accounts", [{"id": ids[5], "Phone": "555-0005"}])
        assert int(m.sync(["Accounts"], progress=False)["changed"][0]) == 1
        assert_mirrors(m, crm, ["Accounts"])
