"""More changes than one list page holds: read by one COQL query on Modified_Time."""

from __future__ import annotations

import time

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
    """More than 2,000 changed records come in several COQL calls. A record deleted from the part
    already read, between two calls, shifts no later record out of reach (each call continues
    below the last one's lowest id, not at an offset); and a record of that part edited between
    the calls is read by the next sync (the watermark stops at the reads' start)."""
    small_org.control.reseed(seed=7, accounts=2300)
    with Mirror(crm, tmp_path / "m", reconcile_every=0, clock_skew=0.0) as m:
        m.sync(["Accounts"], progress=False)
        ids = sorted(m.frame("Accounts")["id"], key=int, reverse=True)
        crm.update("Accounts", [{"id": i, "Phone": "555-2300"} for i in ids], progress=False)
        time.sleep(1.1)  # the edit between the calls lands in a later second than the bulk edit
        real = crm._pipeline.coql
        calls = []

        def coql(query, module):
            answer = real(query, module)
            calls.append(query)
            if len(calls) == 1:  # between the first call and the second
                crm.delete("Accounts", [ids[5]])
                crm.update("Accounts", [{"id": ids[6], "Phone": "555-0606"}])
                time.sleep(1.1)  # a record of the part not yet read, edited a second later
                crm.update("Accounts", [{"id": ids[2200], "Phone": "555-2200"}])
            return answer

        monkeypatch.setattr(crm._pipeline, "coql", coql)
        m.sync(["Accounts"], progress=False)
        monkeypatch.setattr(crm._pipeline, "coql", real)
        assert len(calls) >= 2
        copy = m.frame("Accounts").set_index("id")
        assert copy.loc[ids[2200], "Phone"] == "555-2200"
        assert (copy.drop(index=[ids[6], ids[2200]])["Phone"] == "555-2300").all()
        m.sync(["Accounts"], progress=False)
        assert m.frame("Accounts").set_index("id").loc[ids[6], "Phone"] == "555-0606"
        assert ids[5] not in set(m.frame("Accounts")["id"])
        assert_mirrors(m, crm, ["Accounts"])
