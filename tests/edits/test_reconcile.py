"""The CRM is the journal's truth: a process SIGKILLed while its write was applied but unanswered,
an undo killed halfway, lost answers; resume, undo and re-apply then leave nothing changed or
half-undone. Real processes, the emulator over HTTP, a real PostgreSQL; a few hundred records."""

from __future__ import annotations

import multiprocessing
import pickle
import time
from types import SimpleNamespace

import pandas as pd
import pytest

from sergas_nb.client import connect
from sergas_nb.edits.journal import Journal
from sergas_nb.edits.plans import EditPlan
from sergas_nb.edits.runs import apply, current_values, undo
from tests.edits.conftest import BATCH

PUT = "^/crm/v8/Accounts$"


def _creds(z) -> dict:
    return {k: getattr(z, k) for k in ("url", "client_id", "client_secret", "refresh_token", "redirect_url")}


def _run_in_child(creds: dict, dsn: str, plan_file: str, action: str, queue, go) -> None:  # a spawned process
    with connect(emulator=SimpleNamespace(**creds), env_file=None, backoff=0.01) as client:
        with open(plan_file, "rb") as f:
            plan = pickle.load(f)

        def tell(done: int, total: int) -> None:
            # Between two batches: wait for the parent, so the fault it places lands on the next
            # batch however fast this child sends it (a race under load otherwise).
            queue.put(done)
            go.get(timeout=120)

        if action == "apply":
            apply(plan, client, journal=dsn, batch_size=BATCH, progress=tell)
        else:
            undo(plan.plan_id, client, journal=dsn, batch_size=BATCH, progress=tell)
        queue.put("finished")


def _kill_while_a_write_hangs(z, creds, dsn, plan, action: str, tmp_path, after_batches: int) -> int:
    """Run ``action`` in a child; once ``after_batches`` batches are done, the next write is applied
    by the emulator and its answer held back, and the child is SIGKILLed while it waits."""
    plan_file = tmp_path / f"{plan.plan_id}.pickle"
    plan_file.write_bytes(pickle.dumps(plan))
    ctx = multiprocessing.get_context("spawn")
    queue, go = ctx.Queue(), ctx.Queue()
    puts = z.control.requests_to("/crm/v8/Accounts", "PUT")
    z.control.set_latency(fixed=0.05)
    child = ctx.Process(target=_run_in_child, args=(creds, dsn, str(plan_file), action, queue, go))
    child.start()
    try:
        while True:
            msg = queue.get(timeout=120)
            if msg == "finished":
                raise AssertionError("the run finished before it could be killed")
            if msg >= after_batches * BATCH:
                break
            go.put(True)
        z.control.add_fault("stall", path=PUT, method="PUT", after=True, seconds=30)
        go.put(True)  # the child sends its next batch only now, into the stall
        deadline = time.monotonic() + 30
        while z.control.requests_to("/crm/v8/Accounts", "PUT") < puts + after_batches + 1:
            assert time.monotonic() < deadline, "the next batch was never sent"
            time.sleep(0.02)
        time.sleep(0.3)  # applied by now; its answer is held for 30 s
        child.kill()  # SIGKILL: no finally blocks, no journal update
        child.join(30)
        assert child.exitcode == -9
    finally:
        if child.is_alive():
            child.kill()
        z.control.clear_faults()
        z.control.set_latency(0.0)
    return after_batches + 1


def test_killed_apply_is_resumed_and_undone_completely(crm, rating_plan, fresh_emulator, database_url, tmp_path):
    plan = rating_plan(4)
    ids, olds = list(plan.diff()["id"]), dict(zip(plan.diff()["id"], plan.diff()["old"], strict=True))
    killed_batch = _kill_while_a_write_hangs(
        fresh_emulator, _creds(fresh_emulator), database_url, plan, "apply", tmp_path, after_batches=2
    )
    j = Journal(database_url)
    pending = j.entries(plan.plan_id).query("status == 'pending'")
    assert len(pending) == BATCH  # the batch in flight: journaled, never completed
    now = current_values(crm, "Accounts", "Rating", list(pending["record_id"]))
    assert set(now.values()) == {"Active"}  # ... but applied in the CRM

    resumed = apply(plan, crm, journal=database_url, batch_size=BATCH, progress=False)
    codes = resumed.records.set_index("id")["code"]
    assert (codes[list(pending["record_id"])] == "ALREADY_APPLIED").all()
    assert resumed.sent == plan.to_change - killed_batch * BATCH
    assert set(current_values(crm, "Accounts", "Rating", ids).values()) == {"Active"}  # nothing lost
    found = j.reconciliations(plan.plan_id)
    assert set(found["record_id"]) == set(pending["record_id"]) and set(found["verdict"]) == {"applied"}
    assert "pending" not in set(j.entries(plan.plan_id)["status"])  # settled to what the CRM showed

    undone = undo(plan.plan_id, crm, journal=database_url, batch_size=BATCH, progress=False)
    assert undone.succeeded == plan.to_change and undone.failed == 0
    after = current_values(crm, "Accounts", "Rating", ids)
    assert [i for i in ids if after[i] != olds[i]] == []  # none left changed


def test_killed_undo_then_reapply_sends_what_was_restored(crm, rating_plan, fresh_emulator, database_url, tmp_path):
    plan = rating_plan(4)
    ids, olds = list(plan.diff()["id"]), dict(zip(plan.diff()["id"], plan.diff()["old"], strict=True))
    assert apply(plan, crm, journal=database_url, batch_size=BATCH, progress=False).succeeded == plan.to_change
    _kill_while_a_write_hangs(fresh_emulator, _creds(fresh_emulator), database_url, plan, "undo", tmp_path, 1)
    half = current_values(crm, "Accounts", "Rating", ids)
    restored = [i for i in ids if half[i] == olds[i]]
    assert len(restored) == 2 * BATCH  # one batch answered, one applied and unanswered

    again = apply(plan, crm, journal=database_url, batch_size=BATCH, progress=False)
    assert again.sent == len(restored) and again.succeeded == len(restored)
    assert set(current_values(crm, "Accounts", "Rating", ids).values()) == {"Active"}
    found = Journal(database_url).reconciliations(plan.plan_id)
    assert (found["verdict"] == "restored").sum() == BATCH  # the killed undo batch, settled

    undone = undo(plan.plan_id, crm, journal=database_url, batch_size=BATCH, progress=False)
    assert undone.failed == 0
    final = current_values(crm, "Accounts", "Rating", ids)
    assert [i for i in ids if final[i] != olds[i]] == []


def test_undo_restores_records_whose_apply_answer_was_lost(crm, rating_plan, fresh_emulator, database_url):
    plan = rating_plan(4)
    ids, olds = list(plan.diff()["id"]), dict(zip(plan.diff()["id"], plan.diff()["old"], strict=True))

    def lose_the_next_answer(done: int, total: int) -> None:
        if done == BATCH:  # batch 2 is applied, its answer lost, and reading it back fails too
            fresh_emulator.control.add_fault("reset", path=PUT, method="PUT", after=True)
            # (lost updates are read back by id: GET /Accounts?ids=...)
            fresh_emulator.control.add_fault("status", path="^/crm/v8/Accounts$", method="GET", status=503, count=10)

    result = apply(plan, crm, journal=database_url, batch_size=BATCH, progress=lose_the_next_answer)
    fresh_emulator.control.clear_faults()
    assert result.unknown == BATCH and result.succeeded == plan.to_change - BATCH
    assert "may or may not have been written" in result.records.query("status == 'unknown'")["message"].iloc[0]
    undone = undo(plan.plan_id, crm, journal=database_url, batch_size=BATCH, progress=False)
    assert undone.succeeded == plan.to_change  # the unknown batch was applied: undo restores it too
    final = current_values(crm, "Accounts", "Rating", ids)
    assert [i for i in ids if final[i] != olds[i]] == []


def test_plan_over_two_fields_from_an_edited_frame(crm, fresh_emulator, database_url):
    frame = crm.records("Accounts", fields=["Rating", "Account_Status"], limit=120)
    edited = frame.copy()
    edited.loc[:59, "Rating"] = "Acquired"
    edited.loc[30:89, "Account_Status"] = "Churned"
    plan = EditPlan.from_edits(crm, edited[["id", "Rating", "Account_Status"]])
    assert plan.fields == ["Rating", "Account_Status"] and plan.field == "Rating+Account_Status"
    diff = plan.diff()
    expected = int((frame.loc[:59, "Rating"] != "Acquired").fillna(True).sum()) + int(
        (frame.loc[30:89, "Account_Status"] != "Churned").fillna(True).sum()
    )
    assert len(diff) == expected and set(diff["field"]) == {"Rating", "Account_Status"}
    same = EditPlan.from_edits(crm, edited[["id", "Rating", "Account_Status"]], original=frame)
    assert same.plan_id == plan.plan_id  # old values from the frame or from the CRM: one plan

    fresh_emulator.control.add_fault("status", path=PUT, method="PUT", status=502, body="html", after=True)
    result = plan.apply(crm, journal=database_url, batch_size=BATCH, progress=False)
    assert result.succeeded == len(diff) and result.failed == 0
    assert crm.records("Accounts", fields=["Rating"], limit=60)["Rating"].eq("Acquired").all()
    entries = Journal(database_url).entries(plan.plan_id)
    assert set(entries["field"]) == {"Rating", "Account_Status"} and len(entries) == len(diff)

    undone = undo(plan.plan_id, crm, journal=database_url, progress=False)
    assert undone.succeeded == len(diff)
    back = crm.records("Accounts", fields=["Rating", "Account_Status"], limit=120)
    pd.testing.assert_frame_equal(back[["id", "Rating", "Account_Status"]], frame[["id", "Rating", "Account_Status"]])


def test_the_old_argument_order_still_works_with_a_deprecation_warning(crm, database_url):
    """apply(client, plan) and undo(client, plan_id) were the order before the plan came first."""
    selected = crm.records("Accounts", fields=["Rating"], limit=20)
    plan = EditPlan.from_frame(selected, "Rating", "Active", fields=crm.fields("Accounts"))
    ids = list(plan.diff()["id"])
    with pytest.warns(DeprecationWarning, match=r"apply\(plan, client\)"):
        applied = apply(crm, plan, journal=database_url, progress=False)
    assert applied.succeeded == plan.to_change > 0
    assert set(current_values(crm, "Accounts", "Rating", ids).values()) == {"Active"}
    with pytest.warns(DeprecationWarning, match=r"undo\(plan, client\)"):
        undone = undo(crm, plan.plan_id, journal=database_url, progress=False)
    assert undone.succeeded == plan.to_change
    assert undo(plan, crm, journal=database_url, progress=False).sent == 0  # the plan itself, new order
    olds = dict(zip(plan.diff()["id"], plan.diff()["old"], strict=True))
    assert current_values(crm, "Accounts", "Rating", ids) == olds
