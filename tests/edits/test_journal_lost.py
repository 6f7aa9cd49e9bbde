"""The journal lost in the middle of a parallel apply: the run stops taking batches, raises a
database error that names the journal (never its password), and the next apply settles the
batches whose outcomes could not be written by reading the CRM. Real PostgreSQL (its backends
terminated as an administrator or a restart would), the emulator over HTTP."""

from __future__ import annotations

import threading
import time

import psycopg

from sergas_nb.config import dsn_label
from sergas_nb.edits.journal import Journal
from sergas_nb.edits.runs import apply, current_values
from sergas_nb.errors import ZohoDatabaseError
from tests.edits.conftest import BATCH

PUT = "^/crm/v8/Accounts$"


def _terminate_journal_sessions(dsn: str) -> int:
    """End the toolkit's sessions on the journal's database, and wait until they have ended."""
    with psycopg.connect(dsn, autocommit=True, application_name="test-admin") as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'sergas_nb' AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def test_journal_lost_mid_apply_stops_the_run_and_the_next_apply_settles_it(
    crm, rating_plan, fresh_emulator, database_url
):
    plan = rating_plan(6)
    ids = list(plan.diff()["id"])
    in_flight = 2
    puts = fresh_emulator.control.requests_to("/crm/v8/Accounts", "PUT")
    # The first two batches are applied and their answers held back; meanwhile the journal's
    # sessions are ended, so neither their outcomes nor a next batch can be journaled.
    fresh_emulator.control.add_fault("stall", path=PUT, method="PUT", after=True, seconds=3, count=in_flight)
    raised: list[BaseException] = []

    def run() -> None:
        try:
            apply(plan, crm, journal=database_url, batch_size=BATCH, max_in_flight=in_flight, progress=False)
        except BaseException as exc:
            raised.append(exc)

    th = threading.Thread(target=run)
    th.start()
    try:
        deadline = time.monotonic() + 60
        while fresh_emulator.control.requests_to("/crm/v8/Accounts", "PUT") < puts + in_flight:
            assert th.is_alive(), f"the apply ended before its batches were in flight: {raised}"
            assert time.monotonic() < deadline, "the batches were never sent"
            time.sleep(0.02)
        assert _terminate_journal_sessions(database_url) >= in_flight + 1  # workers, finisher, the caller's
        th.join(60)
        assert not th.is_alive()
    finally:
        fresh_emulator.control.clear_faults()

    assert len(raised) == 1 and isinstance(raised[0], ZohoDatabaseError), raised
    message = str(raised[0])
    assert "edit journal" in message and dsn_label(database_url) in message
    password = psycopg.conninfo.conninfo_to_dict(database_url).get("password")
    assert not password or password not in message
    # no batch was taken once the journal was gone: only the two in flight reached the CRM
    assert fresh_emulator.control.requests_to("/crm/v8/Accounts", "PUT") == puts + in_flight
    j = Journal(database_url)
    pending = j.entries(plan.plan_id)
    assert len(pending) == in_flight * BATCH and set(pending["status"]) == {"pending"}
    assert set(current_values(crm, "Accounts", "Rating", list(pending["record_id"])).values()) == {"Active"}

    resumed = apply(plan, crm, journal=database_url, batch_size=BATCH, progress=False)
    assert resumed.sent == plan.to_change - in_flight * BATCH and resumed.succeeded == resumed.sent
    assert (resumed.records.set_index("id")["code"][list(pending["record_id"])] == "ALREADY_APPLIED").all()
    assert set(current_values(crm, "Accounts", "Rating", ids).values()) == {"Active"}
    found = j.reconciliations(plan.plan_id)
    assert sorted(found["record_id"]) == sorted(pending["record_id"]) and set(found["verdict"]) == {"applied"}
    entries = j.entries(plan.plan_id)
    assert set(entries["status"]) == {"success"} and entries["record_id"].is_unique


def test_kept_journal_connections_survive_the_server_ending_them(database_url):
    """Connections kept between runs (edits.pgpool) that the server has ended are replaced, not
    handed to the next run."""
    j = Journal(database_url)
    assert j.plans().empty  # a kept connection now waits in the pool
    assert _terminate_journal_sessions(database_url) >= 1
    assert j.plans().empty  # served on a new connection, not an error
