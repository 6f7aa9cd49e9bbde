"""Writes through MCP: only with --allow-writes, only through plans, journalled in PostgreSQL, undone
through MCP; the emulator's state checked at each step. The host here approves every write it is
asked about (test_mcp_approval.py: the refusals)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from sergas_nb.client import ZohoClient, connect
from sergas_nb.edits.journal import Journal
from tests.assistant._session import ROOT, Answer, McpServer, server_env
from tests.leaks import find_leaks

WHERE = "Industry in ('Retail', 'Energy', 'Media') and Account_Status = 'Active'"


@pytest.fixture
def crm(fresh_emulator) -> Iterator[ZohoClient]:
    client = connect(emulator=fresh_emulator, env_file=None)
    yield client
    client.close()


@pytest.fixture
def writer(fresh_emulator, database_url, tmp_path) -> Iterator[McpServer]:
    server = McpServer(
        env=server_env(fresh_emulator, database_url), args=["--allow-writes"], cwd=tmp_path, answer=Answer()
    )
    yield server
    server.close()


def _status(crm: ZohoClient, ids: list[str]) -> dict[str, str]:
    df = crm.records_by_ids("Accounts", ids, ["Account_Status"])
    return dict(zip(df["id"], df["Account_Status"].astype(str), strict=True))


def test_plan_apply_undo_through_mcp_with_the_journal(writer, crm, database_url, fresh_emulator):
    tools = {t.name: t for t in writer.tools()}
    assert {"plan_edit", "apply_plan", "undo_plan", "list_plans"} <= set(tools)
    assert tools["apply_plan"].annotations.destructive_hint is True
    # plan_edit sends nothing, but it is the step before a write: a host must not approve it as a read
    assert tools["plan_edit"].annotations.read_only_hint is False
    assert tools["plan_edit"].annotations.destructive_hint is False

    selected = list(crm.records("Accounts", fields=["Account_Status"], where=WHERE)["id"])
    assert len(selected) > 100  # more than one batch
    writes_before = fresh_emulator.control.requests_to("/crm/v8/Accounts", "PUT")

    plan = writer.ok("plan_edit", {"module": "Accounts", "where": WHERE, "changes": {"Account_Status": "At Risk"}})
    assert plan["selected"] == plan["to_change"] == len(selected) and plan["unchanged"] == 0
    assert plan["by_new_value"] == {"At Risk": len(selected)}
    assert len(plan["diff_sample"]) == 20
    assert {(d["field"], d["old"], d["new"]) for d in plan["diff_sample"]} == {("Account_Status", "Active", "At Risk")}
    # planning sent nothing
    assert fresh_emulator.control.requests_to("/crm/v8/Accounts", "PUT") == writes_before
    assert set(_status(crm, selected).values()) == {"Active"}

    applied = writer.ok("apply_plan", {"plan_id": plan["plan_id"]})
    assert applied["succeeded"] == applied["sent"] == len(selected) and applied["failed"] == 0
    assert applied["records"] and all(r["status"] == "success" for r in applied["records"])
    assert set(_status(crm, selected).values()) == {"At Risk"}
    # the user was asked first, and shown the count and the first rows of the diff
    assert len(writer.asked) == 1 and plan["plan_id"] in writer.asked[0]
    assert f"change {len(selected)} Accounts records" in writer.asked[0]
    assert sum(f"record {d['id']}" in writer.asked[0] for d in plan["diff_sample"]) == 10
    journal = Journal(database_url)
    entries = journal.entries(plan["plan_id"])
    assert sorted(entries["record_id"]) == sorted(selected)
    assert set(entries["status"]) == {"success"} and set(entries["action"]) == {"apply"}

    again = writer.ok("apply_plan", {"plan_id": plan["plan_id"]})
    assert again["sent"] == 0 and again["skipped"] == len(selected)

    listed = writer.ok("list_plans")["plans"]
    assert listed[0]["plan_id"] == plan["plan_id"] and listed[0]["applied"] == len(selected)

    undone = writer.ok("undo_plan", {"plan_id": plan["plan_id"]})
    assert undone["succeeded"] == len(selected) and undone["failed"] == 0
    assert set(_status(crm, selected).values()) == {"Active"}
    entries = journal.entries(plan["plan_id"])
    assert (entries["action"] == "undo").sum() == len(selected)
    assert entries.loc[entries["action"] == "apply", "undone_at"].notna().all()

    for text in writer.outputs:
        assert not find_leaks(text, [fresh_emulator.client_secret, fresh_emulator.refresh_token, database_url])


def test_plan_edit_by_ids_and_bad_plans_are_tool_errors(writer, crm, database_url, fresh_emulator):
    ids = list(crm.records("Accounts", fields=["Rating"], limit=3)["id"])
    plan = writer.ok("plan_edit", {"module": "Accounts", "ids": ids, "changes": {"Health_Score": 55}})
    assert plan["selected"] == 3 and plan["plan_id"].startswith("Accounts-Health_Score-")

    bad_value = writer.error("plan_edit", {"module": "Accounts", "ids": ids, "changes": {"Account_Status": "Nope"}})
    assert "Account_Status" in bad_value and "Nope" in bad_value and "nothing was sent" in bad_value
    read_only = writer.error("plan_edit", {"module": "Accounts", "ids": ids, "changes": {"Created_Time": "x"}})
    assert "Created_Time" in read_only
    assert "where or ids" in writer.error("plan_edit", {"module": "Accounts", "changes": {"Rating": "Hot"}})
    two_bad = writer.error(
        "plan_edit", {"module": "Accounts", "ids": ids, "changes": {"Rating": "Nope", "Health_Score": 1}}
    )
    assert "Rating" in two_bad and "Nope" in two_bad
    missing = writer.error("plan_edit", {"module": "Accounts", "ids": [*ids, "1234567"], "changes": {"Rating": "Hot"}})
    assert "1234567" in missing and "no such record" in missing
    assert "no plan" in writer.error("apply_plan", {"plan_id": "Accounts-Rating-000000000000"})
    assert "no plan" in writer.error("undo_plan", {"plan_id": "Accounts-Rating-000000000000"})
    # nothing of the refused plans reached the CRM or the journal
    assert fresh_emulator.control.requests_to("/crm/v8/Accounts", "PUT") == 0
    assert Journal(database_url).entries().empty


def test_a_plan_over_two_fields_applies_and_undoes_both(writer, crm, database_url, fresh_emulator):
    before = crm.records("Accounts", fields=["Rating", "Health_Score"], limit=5)
    ids = list(before["id"])
    changes = {"Rating": "Acquired", "Health_Score": 7}
    plan = writer.ok("plan_edit", {"module": "Accounts", "ids": ids, "changes": changes})
    assert {d["field"] for d in plan["diff_sample"]} == {"Rating", "Health_Score"}
    assert fresh_emulator.control.requests_to("/crm/v8/Accounts", "PUT") == 0

    applied = writer.ok("apply_plan", {"plan_id": plan["plan_id"]})
    assert applied["failed"] == 0
    now = crm.records_by_ids("Accounts", ids, ["Rating", "Health_Score"])
    assert set(now["Rating"].astype(str)) == {"Acquired"} and set(now["Health_Score"].astype(int)) == {7}

    undone = writer.ok("undo_plan", {"plan_id": plan["plan_id"]})
    assert undone["failed"] == 0
    back = crm.records_by_ids("Accounts", ids, ["Rating", "Health_Score"]).set_index("id")
    expected = before.set_index("id").loc[back.index]
    assert back["Rating"].astype(str).tolist() == expected["Rating"].astype(str).tolist()
    assert back["Health_Score"].tolist() == expected["Health_Score"].tolist()


def test_allow_writes_without_a_database_refuses_to_start(fresh_emulator, tmp_path):
    env = {**server_env(fresh_emulator), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "sergas_nb.cli", "mcp", "--allow-writes"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "DATABASE_URL" in done.stderr and "--allow-writes" in done.stderr
    assert "Traceback" not in done.stderr
    assert str(ROOT)  # the worktree is what ran (PYTHONPATH)
