"""Incremental reads, their cost, schema drift, changes and SQL."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from sergas_nb.mirror import Mirror
from tests.mirror.conftest import assert_mirrors, by_id


def test_an_unchanged_module_costs_one_list_call_and_one_deleted_call(small_org, crm, tmp_path):
    with Mirror(crm, tmp_path / "m", reconcile_every=0) as m:
        m.sync(["Deals"], progress=False)
        before = small_org.control.stats()["requests"]
        report = m.sync(["Deals"], progress=False)
        after = small_org.control.stats()["requests"]
    sent = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
    assert sent == {"GET /crm/v8/Deals": 1, "GET /crm/v8/Deals/deleted": 1}, sent
    assert list(report["calls"]) == [2]
    assert int(report["added"].iloc[0]) == int(report["changed"].iloc[0]) == int(report["deleted"].iloc[0]) == 0


def test_changes_list_added_changed_and_deleted_records_field_by_field(small_org, crm, tmp_path):
    with Mirror(crm, tmp_path / "m") as m:
        m.sync(["Accounts"], progress=False)
        ids = list(m.frame("Accounts")["id"][:2])
        crm.update("Accounts", [{"id": ids[0], "Phone": "555-7777"}])
        crm.delete("Accounts", [ids[1]])
        new = crm.insert("Accounts", [{"Account_Name": "Brand New Ltd"}])
        report = m.sync(["Accounts"], progress=False)
        assert (int(report["added"][0]), int(report["changed"][0]), int(report["deleted"][0])) == (1, 1, 1)
        ch = m.changes("Accounts")
        phone = ch[(ch["id"] == ids[0]) & (ch["field"] == "Phone")]
        assert list(phone["new"]) == ["555-7777"]
        assert set(ch[ch["change"] == "deleted"]["id"]) == {ids[1]}
        assert len(ch[ch["change"] == "added"]) == 1
        assert ids[1] in set(m.tombstones("Accounts")["id"])
        assert new.ok
        assert_mirrors(m, crm, ["Accounts"])


def test_a_rollup_change_is_caught_though_modified_time_did_not_move(small_org, crm, tmp_path):
    with Mirror(crm, tmp_path / "m") as m:
        m.sync(["Accounts"], progress=False)
        deal = crm.records("Deals", fields=["Account_Name", "Amount"], limit=200).dropna(subset=["Account_Name.id"])
        row = deal.iloc[0]
        account = row["Account_Name.id"]
        before = m.frame("Accounts").set_index("id").loc[account, "Modified_Time"]
        crm.update("Deals", [{"id": row["id"], "Amount": 98765.0, "Stage": "Qualification"}])
        m.sync(["Accounts"], progress=False)
        ch = m.changes("Accounts")
        assert list(ch[ch["id"] == account]["field"]) == ["Open_Deals_Amount"]
        assert m.frame("Accounts").set_index("id").loc[account, "Modified_Time"] == before
        assert_mirrors(m, crm, ["Accounts"])


def test_a_restored_record_comes_back_on_reconciliation(small_org, crm, tmp_path):
    with Mirror(crm, tmp_path / "m", reconcile_every=2) as m:
        m.sync(["Accounts"], progress=False)
        gone = str(m.frame("Accounts")["id"][0])
        crm.delete("Accounts", [gone])
        m.sync(["Accounts"], progress=False)
        assert gone not in set(m.frame("Accounts")["id"])
        small_org.control.restore("Accounts", [gone])
        m.sync(["Accounts"], progress=False)  # the 2nd sync since the last reconciliation
        assert gone in set(m.frame("Accounts")["id"])
        assert gone not in set(m.tombstones("Accounts")["id"])
        assert_mirrors(m, crm, ["Accounts"])


def test_schema_drift_added_removed_and_retyped_fields(small_org, crm, tmp_path):
    with Mirror(crm, tmp_path / "m") as m:
        m.sync(["Deals"], progress=False)
        small_org.control.add_field("Deals", "Region", "text")
        small_org.control.add_field("Deals", "Priority_Score", "integer")
        rid = str(m.frame("Deals")["id"][0])
        crm.refresh_metadata("Deals")
        crm.update("Deals", [{"id": rid, "Region": "EMEA", "Priority_Score": 3}])
        m.sync(["Deals"], check_schema=True, progress=False)
        df = m.frame("Deals")
        assert df.set_index("id").loc[rid, "Region"] == "EMEA"
        assert str(df["Priority_Score"].dtype) == "Int64"
        assert_mirrors(m, crm, ["Deals"])

        small_org.control.remove_field("Deals", "Region")
        m.sync(["Deals"], progress=False)  # the list refuses the field: the sync looks again
        schema = m.schema("Deals").set_index("column")
        assert schema.loc["Region", "status"] == "removed"
        assert "Region" not in m.frame("Deals").columns
        assert m.frame("Deals", removed=True).set_index("id").loc[rid, "Region"] == "EMEA"
        assert_mirrors(m, crm, ["Deals"])

        small_org.control.add_field("Deals", "Priority_Score", "text")  # retyped: the module is re-read
        report = m.sync(["Deals"], check_schema=True, progress=False)
        assert str(m.frame("Deals")["Priority_Score"].dtype) == "string"
        assert report["strategy"][0] != "incremental"
        assert_mirrors(m, crm, ["Deals"])


def test_sql_joins_modules_on_lookup_ids_and_refuses_writes(small_org, crm, tmp_path):
    with Mirror(crm, tmp_path / "m") as m:
        m.sync(["Accounts", "Deals"], progress=False)
        df = m.sql(
            'select a."Account_Name", count(*) as deals from Deals d '
            'join Accounts a on d."Account_Name.id" = a.id group by 1 order by 2 desc'
        )
        deals = crm.records("Deals", fields=["Account_Name"])
        assert int(df["deals"].sum()) == int(deals["Account_Name.id"].notna().sum())
        with pytest.raises(ValueError, match="only SELECT"):
            m.sql("delete from Accounts")
        with pytest.raises(ValueError, match="one statement"):
            m.sql("select 1; select 2")
        assert len(m.frame("Accounts")) == len(by_id(crm.records("Accounts")))
        out = m.to_parquet("Accounts", tmp_path / "a.parquet")
        assert out.stat().st_size > 0


def test_the_assistant_queries_the_mirror_read_only_without_api_calls(small_org, crm, tmp_path):
    from sergas_nb.assistant.tools import ToolInputError, Tools

    with Mirror(crm, tmp_path / "m") as m:
        m.sync(["Accounts"], progress=False)
    tools = Tools(crm, mirror_path=str(tmp_path / "m"))
    before = small_org.control.stats()["requests"]
    out = tools.query_mirror('select id, "Account_Name" from Accounts order by id', limit=5)
    assert out["returned"] == 5 and out["more"] is True
    assert small_org.control.stats()["requests"] == before  # no CRM call
    with pytest.raises(ToolInputError):
        tools.query_mirror("drop table Accounts")
    assert tools.query_mirror("select count(*) as n from Accounts")["rows"][0]["n"] > 0


def test_each_row_of_a_list_column_holds_its_own_list(small_org, crm, tmp_path):
    with Mirror(crm, tmp_path / "m") as m:
        m.sync(["Accounts"], progress=False)
        tags = m.frame("Accounts")["Tag"]
    assert len(tags) > 2 and all(isinstance(t, list) for t in tags)
    tags.iloc[0].append({"name": "mine"})  # one row's list changed in place ...
    assert tags.iloc[1] == [] or tags.iloc[1] != tags.iloc[0]  # ... no other row's changes with it
    assert sum(t is tags.iloc[0] for t in tags) == 1


def test_a_sync_leaves_duckdbs_memory_limit_as_it_was_for_queries(small_org, crm, tmp_path):
    with Mirror(crm, tmp_path / "m") as m:
        before = m.sql("select current_setting('memory_limit') AS v")["v"][0]
        m.sync(["Accounts"], progress=False)
        after = m.sql("select current_setting('memory_limit') AS v")["v"][0]
    assert after == before


def test_a_frame_read_while_a_sync_adds_a_field_is_one_snapshot(small_org, crm, tmp_path, monkeypatch):
    """frame() reads the field metadata, then the table: a sync committing between the two (a field
    added, a record changed) must give the frame from before the sync, not old dtypes over new rows."""
    from sergas_nb.mirror import write

    path = tmp_path / "m"
    with Mirror(crm, path) as m, Mirror(crm, path) as other:
        m.sync(["Deals"], progress=False)
        before = m.frame("Deals")
        rid = str(before["id"][0])
        small_org.control.add_field("Deals", "Region", "text")
        crm.refresh_metadata("Deals")
        crm.update("Deals", [{"id": rid, "Region": "EMEA", "Amount": 4242.0}])
        real, synced = write.read_frame, []

        def sync_between_the_reads(*args, **kwargs):
            if not synced:  # the metadata is read; a sync commits before the table is
                synced.append(other.sync(["Deals"], check_schema=True, progress=False))
            return real(*args, **kwargs)

        monkeypatch.setattr(write, "read_frame", sync_between_the_reads)
        during = m.frame("Deals")
        monkeypatch.setattr(write, "read_frame", real)
        assert synced and int(synced[0]["changed"][0]) >= 1
        assert_frame_equal(during, before)  # all of the copy before the sync, none of it after
        after = m.frame("Deals")
        assert after.set_index("id").loc[rid, "Region"] == "EMEA"
        assert_mirrors(m, crm, ["Deals"])


def test_each_module_reports_its_own_calls_when_the_next_modules_reads_overlap_its_write(small_org, crm, tmp_path):
    with Mirror(crm, tmp_path / "m", reconcile_every=0) as m:
        m.sync(["Accounts", "Deals"], progress=False)
        ids = list(m.frame("Accounts")["id"][:3])
        crm.update("Accounts", [{"id": i, "Phone": "555-3131"} for i in ids])
        before = small_org.control.stats()["requests"]
        report = m.sync(["Accounts", "Deals"], progress=False)
        after = small_org.control.stats()["requests"]
        sent = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
        assert sent == {
            "GET /crm/v8/Accounts": 1,
            "GET /crm/v8/Accounts/deleted": 1,
            "GET /crm/v8/Deals": 1,
            "GET /crm/v8/Deals/deleted": 1,
        }, sent
        assert list(report["module"]) == ["Accounts", "Deals"]
        assert list(report["calls"]) == [2, 2]
        assert list(report["changed"]) == [3, 0]
        assert_mirrors(m, crm)


def test_two_modules_read_at_once_each_report_their_own_calls_and_parent_rollups_follow_the_parent_read(
    small_org, crm, tmp_path
):
    """Deals' reads run beside Accounts' (both read only their changes), yet each report row counts
    only its own calls, and the rollups Deals re-reads for its parent accounts leave only after
    Accounts' own reads are done (so they are never older than what Accounts read)."""
    with Mirror(crm, tmp_path / "m", reconcile_every=0) as m:
        m.sync(["Accounts", "Deals"], progress=False)
        accounts = list(m.frame("Accounts")["id"][:3])
        deal = m.frame("Deals").dropna(subset=["Account_Name.id"]).iloc[0]
        crm.update("Accounts", [{"id": i, "Phone": "555-4242"} for i in accounts])
        crm.update("Deals", [{"id": deal["id"], "Amount": 43210.0, "Stage": "Qualification"}])
        # Accounts' reads end late: its deletions call is held 0.6 s
        small_org.control.add_fault("stall", path="^/crm/v8/Accounts/deleted$", method="GET", seconds=0.6)
        t0 = pd.Timestamp.now(tz="UTC")
        report = m.sync(["Accounts", "Deals"], progress=False)
        events = [e for e in crm.events_since(t0) if e.kind == "call"]
        # Deals' first calls were sent before Accounts' reads were answered: the two ran at once.
        first_deals = min(e.at - pd.Timedelta(seconds=e.duration) for e in events if e.scope and ":Deals:" in e.scope)
        last_accounts = max(e.at for e in events if e.scope and ":Accounts:" in e.scope)
        assert first_deals < last_accounts
        refresh = [e for e in events if e.operation == "records_by_ids" and e.module == "Accounts"]
        assert len(refresh) == 1 and ":Deals:" in refresh[0].scope
        assert refresh[0].at - pd.Timedelta(seconds=refresh[0].duration) >= last_accounts
        assert list(report["module"]) == ["Accounts", "Deals"]
        assert list(report["calls"]) == [2, 3]  # Deals: its list page, its deletions, its parents' rollups
        assert list(report["changed"]) == [3, 1]
        assert deal["Account_Name.id"] in set(m.changes("Accounts")["id"])
        assert_mirrors(m, crm)
