"""A person's yes before the assistant writes: apply_plan / undo_plan ask through MCP elicitation,
and decline, cancel, no answer, a host that cannot ask, the session's cap and a plan made elsewhere
all write nothing; checked on the emulator's data and in the journal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sergas_nb.client import ZohoClient, connect
from sergas_nb.edits.journal import Journal
from sergas_nb.edits.plans import EditPlan
from tests.assistant._session import Answer, McpServer, server_env


@pytest.fixture
def crm(fresh_emulator) -> Iterator[ZohoClient]:
    client = connect(emulator=fresh_emulator, env_file=None)
    yield client
    client.close()


def _server(z, database_url: str, cwd: Path, *args: str, answer: Answer | None = None) -> McpServer:
    return McpServer(env=server_env(z, database_url), args=["--allow-writes", *args], cwd=cwd, answer=answer)


def _ratings(crm: ZohoClient, ids: list[str]) -> dict[str, str]:
    df = crm.records_by_ids("Accounts", ids, ["Rating"])
    return dict(zip(df["id"], df["Rating"].astype(str), strict=True))


def _puts(z) -> int:
    return z.control.requests_to("/crm/v8/Accounts", "PUT")


def test_decline_cancel_and_a_no_write_nothing_only_a_yes_writes(crm, fresh_emulator, database_url, tmp_path):
    ids = list(crm.records("Accounts", fields=["Rating"], where="Rating != 'Acquired'", limit=12)["id"])
    before = _ratings(crm, ids)
    answer = Answer(action="decline")
    server = _server(fresh_emulator, database_url, tmp_path, answer=answer)
    try:
        plan = server.ok("plan_edit", {"module": "Accounts", "ids": ids, "changes": {"Rating": "Acquired"}})
        for action, approve, said in [
            ("decline", True, "declined"),
            ("cancel", True, "cancelled"),
            ("accept", False, "without approving"),
        ]:
            answer.action, answer.approve = action, approve
            message = server.error("apply_plan", {"plan_id": plan["plan_id"]})
            assert "nothing was sent" in message and said in message, message
        assert len(server.asked) == 3
        assert _puts(fresh_emulator) == 0 and _ratings(crm, ids) == before
        assert Journal(database_url).entries().empty

        answer.action, answer.approve = "accept", True
        applied = server.ok("apply_plan", {"plan_id": plan["plan_id"]})
        assert applied["succeeded"] == 12
        assert set(_ratings(crm, ids).values()) == {"Acquired"}
        asked = server.asked[-1]
        assert "change 12 Accounts records" in asked and "Rating" in asked and "'Acquired'" in asked
        assert sum(f"record {i}" in asked for i in ids) == 10  # the first rows of the diff, not all

        answer.action = "decline"  # an undo is a write too
        assert "declined" in server.error("undo_plan", {"plan_id": plan["plan_id"]})
        assert set(_ratings(crm, ids).values()) == {"Acquired"}
        assert "restore 12 Accounts records" in server.asked[-1]
        answer.action = "accept"
        server.ok("undo_plan", {"plan_id": plan["plan_id"]})
        assert _ratings(crm, ids) == before
    finally:
        server.close()


def test_no_answer_in_time_and_the_session_cap_write_nothing(crm, fresh_emulator, database_url, tmp_path):
    ids = list(crm.records("Accounts", fields=["Rating"], where="Rating != 'Acquired'", limit=8)["id"])
    before = _ratings(crm, ids)
    answer = Answer(delay=4)
    args = ("--approval-timeout", "1", "--max-records-per-session", "5")
    server = _server(fresh_emulator, database_url, tmp_path, *args, answer=answer)
    try:
        three = server.ok("plan_edit", {"module": "Accounts", "ids": ids[:3], "changes": {"Rating": "Acquired"}})
        assert "no answer" in server.error("apply_plan", {"plan_id": three["plan_id"]})
        assert _puts(fresh_emulator) == 0 and _ratings(crm, ids) == before

        answer.delay = 0
        six = server.ok("plan_edit", {"module": "Accounts", "ids": ids[:6], "changes": {"Rating": "Acquired"}})
        message = server.error("apply_plan", {"plan_id": six["plan_id"]})
        assert "would write 6 records" in message and "may write 5 more" in message
        assert "--max-records-per-session" in message
        asked = len(server.asked)
        assert server.ok("apply_plan", {"plan_id": three["plan_id"]})["succeeded"] == 3  # the refusals cost nothing
        other = server.ok("plan_edit", {"module": "Accounts", "ids": ids[5:8], "changes": {"Rating": "Acquired"}})
        assert "may write 2 more" in server.error("apply_plan", {"plan_id": other["plan_id"]})
        assert "may write 2 more" in server.error("undo_plan", {"plan_id": three["plan_id"]})
        assert len(server.asked) == asked + 1  # refused by the cap before anyone was asked
        now = _ratings(crm, ids)
        assert [now[i] for i in ids[:3]] == ["Acquired"] * 3 and [now[i] for i in ids[3:]] == [
            before[i] for i in ids[3:]
        ]
    finally:
        server.close()


def test_a_host_that_cannot_ask_is_refused_unless_it_approves_tool_calls(crm, fresh_emulator, database_url, tmp_path):
    ids = list(crm.records("Accounts", fields=["Rating"], where="Rating != 'Acquired'", limit=4)["id"])
    before = _ratings(crm, ids)
    changes = {"module": "Accounts", "ids": ids, "changes": {"Rating": "Acquired"}}
    server = _server(fresh_emulator, database_url, tmp_path)  # declares no elicitation
    try:
        plan = server.ok("plan_edit", changes)
        message = server.error("apply_plan", {"plan_id": plan["plan_id"]})
        assert "nothing was sent" in message and "elicitation" in message and "--host-approves-tool-calls" in message
        assert _puts(fresh_emulator) == 0 and _ratings(crm, ids) == before
    finally:
        server.close()
    server = _server(fresh_emulator, database_url, tmp_path, "--host-approves-tool-calls")
    try:
        plan = server.ok("plan_edit", changes)
        assert server.ok("apply_plan", {"plan_id": plan["plan_id"]})["succeeded"] == 4
        assert set(_ratings(crm, ids).values()) == {"Acquired"}
        apply_tool = next(t for t in server.tools() if t.name == "apply_plan")
        assert apply_tool.annotations.destructive_hint is True  # what makes such a host ask
    finally:
        server.close()


def test_undo_of_a_plan_made_elsewhere_is_refused(crm, fresh_emulator, database_url, tmp_path):
    selected = crm.records("Accounts", fields=["Rating"], where="Rating != 'Acquired'", limit=5)
    ids = list(selected["id"])
    before = _ratings(crm, ids)
    # a person's plan, applied from a notebook
    mine = EditPlan.from_frame(selected, "Rating", "Acquired", module="Accounts", fields=crm.fields("Accounts"))
    mine.validate(crm).apply(crm, journal=Journal(database_url), progress=False)
    assert set(_ratings(crm, ids).values()) == {"Acquired"}
    puts = _puts(fresh_emulator)

    server = _server(fresh_emulator, database_url, tmp_path, answer=Answer())
    try:
        message = server.error("undo_plan", {"plan_id": mine.plan_id})
        assert "not made by this server" in message and "--allow-undo-any" in message
        assert not server.asked and _puts(fresh_emulator) == puts
        assert set(_ratings(crm, ids).values()) == {"Acquired"}
    finally:
        server.close()
    server = _server(fresh_emulator, database_url, tmp_path, "--allow-undo-any", answer=Answer())
    try:
        server.ok("undo_plan", {"plan_id": mine.plan_id})
        assert len(server.asked) == 1 and _ratings(crm, ids) == before
    finally:
        server.close()
