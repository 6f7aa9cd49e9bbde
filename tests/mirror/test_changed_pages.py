"""More changes than one list page holds: read by one COQL query on Modified_Time."""

from __future__ import annotations

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
