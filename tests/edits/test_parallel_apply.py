"""Plans apply and undo with several batches in flight, each journaled by its own worker: lost
answers in some batches, and a process SIGKILLed while batches are in flight, still leave every
record journaled once, reconciled with the CRM, and restorable. Real processes, the emulator over
HTTP, a real PostgreSQL."""

from __future__ import annotations

import multiprocessing
import pickle
import time
from types import SimpleNamespace

import pytest

from sergas_nb.client import connect
from sergas_nb.edits.journal import Journal
from sergas_nb.edits.plans import EditPlan
from sergas_nb.edits.runs import apply, current_values, undo
from tests.edits.conftest import BATCH

PUT = "^/crm/v8/Accounts$"


def _olds(plan: EditPlan) -> dict[str, object]:
    return dict(zip(plan.diff()["id"], plan.diff()["old"], strict=True))


def test_parallel_apply_with_lost_answers_journals_each_record_once(crm, rating_plan, fresh_emulator, database_url):
    plan = rating_plan(6)
    olds = _olds(plan)
    ids = list(olds)
    puts = fresh_emulator.control.requests_to("/crm/v8/Accounts", "PUT")
    # Applied, then the answer lost: a 503 for two batches, a reset connection for two others.
    fresh_emulator.control.add_fault("status", path=PUT, method="PUT", status=503, after=True, count=2)
    fresh_emulator.control.add_fault("reset", path=PUT, method="PUT", after=True, count=2)
    calls: list[tuple[int, int]] = []
    result = apply(
        plan,
        crm,
        journal=database_url,
        batch_size=BATCH,
        max_in_flight=10,
        progress=lambda done, total: calls.append((done, total)),
    )
    fresh_emulator.control.clear_faults()

    assert (result.succeeded, result.failed, result.unknown) == (plan.to_change, 0, 0)
    assert set(current_values(crm, "Accounts", "Rating", ids).values()) == {"Active"}
    # every batch sent once, the four whose answers were lost read back, not sent again
    assert fresh_emulator.control.requests_to("/crm/v8/Accounts", "PUT") - puts == -(-plan.to_change // BATCH)
    # the callback sees the batches in their order, as a serial run would show them
    assert calls == [(n, plan.to_change) for n in [*range(BATCH, plan.to_change, BATCH), plan.to_change]]
    entries = Journal(database_url).entries(plan.plan_id)
    assert len(entries) == plan.to_change and entries["record_id"].is_unique
    assert set(entries["status"]) == {"success"} and entries["applied_at"].notna().all()
    assert all(olds[r.record_id] == r.old_value for r in entries.itertuples())

    again = apply(plan, crm, journal=database_url, progress=False)
    assert again.sent == 0 and set(again.records["code"]) == {"ALREADY_APPLIED"}
    assert Journal(database_url).reconciliations(plan.plan_id).empty  # journal and CRM agreed

    fresh_emulator.control.add_fault("status", path=PUT, method="PUT", status=502, body="html", after=True, count=2)
    undone = undo(plan.plan_id, crm, journal=database_url, batch_size=BATCH, progress=False)
    fresh_emulator.control.clear_faults()
    assert (undone.succeeded, undone.failed) == (plan.to_change, 0)
    after = current_values(crm, "Accounts", "Rating", ids)
    assert [i for i in ids if after[i] != olds[i]] == []
    entries = Journal(database_url).entries(plan.plan_id)
    restored = entries[entries["action"] == "undo"]
    assert len(restored) == plan.to_change and restored["record_id"].is_unique
    assert entries.loc[entries["action"] == "apply", "undone_at"].notna().all()


def _apply_in_child(creds: dict, dsn: str, plan_file: str, in_flight: int) -> None:  # a spawned process
    with connect(emulator=SimpleNamespace(**creds), env_file=None, backoff=0.01) as client:
        with open(plan_file, "rb") as f:
            plan = pickle.load(f)
        apply(plan, client, journal=dsn, batch_size=BATCH, max_in_flight=in_flight, progress=False)


def test_parallel_apply_killed_with_batches_in_flight_resumes_to_the_plan(
    crm, rating_plan, fresh_emulator, database_url, tmp_path
):
    plan = rating_plan(6)
    olds = _olds(plan)
    ids = list(olds)
    in_flight = 3
    plan_file = tmp_path / "plan.pickle"
    plan_file.write_bytes(pickle.dumps(plan))
    creds = {k: getattr(fresh_emulator, k) for k in ("url", "client_id", "client_secret", "refresh_token")}
    creds["redirect_url"] = fresh_emulator.redirect_url
    puts = fresh_emulator.control.requests_to("/crm/v8/Accounts", "PUT")
    # The first three batches (one per worker) are applied and their answers held back: every
    # worker waits, the other batches are never sent, and the process is killed.
    fresh_emulator.control.add_fault("stall", path=PUT, method="PUT", after=True, seconds=30, count=in_flight)
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=_apply_in_child, args=(creds, database_url, str(plan_file), in_flight))
    child.start()
    try:
        deadline = time.monotonic() + 120
        while fresh_emulator.control.requests_to("/crm/v8/Accounts", "PUT") < puts + in_flight:
            assert child.is_alive(), "the apply ended before its batches were in flight"
            assert time.monotonic() < deadline, "the batches were never sent"
            time.sleep(0.02)
        time.sleep(0.3)  # applied by now; their answers are held for 30 s
        child.kill()  # SIGKILL: no finally blocks, no journal update
        child.join(30)
        assert child.exitcode == -9
    finally:
        if child.is_alive():
            child.kill()
        fresh_emulator.control.clear_faults()

    j = Journal(database_url)
    entries = j.entries(plan.plan_id)
    assert len(entries) == in_flight * BATCH and set(entries["status"]) == {"pending"}  # journaled, never completed
    pending = list(entries["record_id"])
    assert set(current_values(crm, "Accounts", "Rating", pending).values()) == {"Active"}  # ... but applied
    untouched = [i for i in ids if i not in set(pending)]
    now = current_values(crm, "Accounts", "Rating", untouched)
    assert [i for i in untouched if now[i] != olds[i]] == []  # the batches never taken were never sent

    resumed = apply(plan, crm, journal=database_url, batch_size=BATCH, progress=False)
    assert resumed.sent == plan.to_change - in_flight * BATCH and resumed.succeeded == resumed.sent
    codes = resumed.records.set_index("id")["code"]
    assert (codes[pending] == "ALREADY_APPLIED").all()
    assert set(current_values(crm, "Accounts", "Rating", ids).values()) == {"Active"}
    found = j.reconciliations(plan.plan_id)
    assert sorted(found["record_id"]) == sorted(pending) and set(found["verdict"]) == {"applied"}
    entries = j.entries(plan.plan_id)
    assert set(entries["status"]) == {"success"} and entries["record_id"].is_unique  # each record once

    undone = undo(plan.plan_id, crm, journal=database_url, batch_size=BATCH, progress=False)
    assert (undone.succeeded, undone.failed) == (plan.to_change, 0)
    after = current_values(crm, "Accounts", "Rating", ids)
    assert [i for i in ids if after[i] != olds[i]] == []


@pytest.mark.parametrize("bad", [0, 11, True, 2.5])
def test_a_bad_max_in_flight_is_refused_before_anything_is_sent(crm, fresh_emulator, bad):
    plan = EditPlan.from_frame(
        crm.records("Accounts", fields=["Rating"], limit=5), "Rating", "Active", fields=crm.fields("Accounts")
    )
    puts = fresh_emulator.control.requests_to("/crm/v8/Accounts", "PUT")
    with pytest.raises(ValueError, match="max_in_flight"):
        apply(plan, crm, journal="postgresql://unused@127.0.0.1:1/x", max_in_flight=bad)
    with pytest.raises(ValueError, match="max_in_flight"):
        undo(plan, crm, journal="postgresql://unused@127.0.0.1:1/x", max_in_flight=bad)
    assert fresh_emulator.control.requests_to("/crm/v8/Accounts", "PUT") == puts
