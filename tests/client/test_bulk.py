"""Bulk edits end to end: plan/diff, validation before send, journaled batches, partial failure,
idempotent re-apply and undo, against the emulator (real SDK over HTTP) and a real PostgreSQL."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import requests

from sergas_nb import frames
from sergas_nb.edits import plans as bulk
from sergas_nb.edits.journal import Entry, Journal, Outcome
from sergas_nb.edits.plans import EditPlan, undo
from sergas_nb.emulator.state import metadata, seed
from sergas_nb.errors import ZohoDatabaseError, ZohoValidationError

ACCOUNT_FIELDS = metadata.fields_for("Accounts")


# ------------------------------------------------------------------------------ helpers / fixtures
@pytest.fixture(scope="module")
def seeded_frame() -> pd.DataFrame:
    """60 seeded accounts as the client types them (no server needed for planning)."""
    data = seed.generate(seed=7, accounts=60)
    records = data.records["Accounts"]
    records = list(records.values()) if isinstance(records, dict) else list(records)
    return frames.to_frame(records, ACCOUNT_FIELDS)


@pytest.fixture
def client(fresh_emulator):
    from sergas_nb.client import connect

    return connect(emulator=fresh_emulator)


def _writes(zoho) -> int:
    """Write calls (PUT/POST/DELETE on module records; not COQL) the emulator received, from its stats endpoint."""
    stats = requests.get(f"{zoho.url}/__emulator__/stats", timeout=10).json()
    return sum(
        n
        for key, n in stats["requests"].items()
        if key.split(" ")[0] in ("PUT", "POST", "PATCH", "DELETE")
        and key.split(" ")[1].startswith("/crm/v8/")
        and "/coql" not in key
    )


def _values(client, ids: list[str], field: str) -> dict[str, object]:
    return bulk.current_values(client, "Accounts", field, ids)


# ---------------------------------------------------------------------------- planning (no server)
def test_plan_skips_rows_already_at_the_new_value_and_counts(seeded_frame: pd.DataFrame) -> None:
    plan = EditPlan.from_frame(seeded_frame, "Rating", "Active", fields=ACCOUNT_FIELDS)
    already = int((seeded_frame["Rating"] == "Active").fillna(False).sum())
    assert 0 < already < len(seeded_frame)
    diff = plan.diff()
    assert list(diff.columns) == ["id", "field", "old", "new"]
    assert len(diff) == len(seeded_frame) - already
    assert (diff["new"] == "Active").all() and not (diff["old"] == "Active").any()
    by_id = seeded_frame.set_index("id")["Rating"]
    for row in diff.head(10).itertuples():
        expected = by_id[row.id]
        assert row.old == (None if pd.isna(expected) else str(expected))
    s = plan.summary()
    assert (s["selected"], s["to_change"], s["unchanged"]) == (60, 60 - already, already)
    assert s["by_new_value"] == {"Active": 60 - already}


def test_rule_plans_per_row_and_plan_id_is_a_stable_content_hash(seeded_frame: pd.DataFrame) -> None:
    rule = bulk.resolve_new(rule="status_from_health")
    plan = EditPlan.from_frame(seeded_frame, "Account_Status", rule, fields=ACCOUNT_FIELDS)
    assert plan.to_change > 0
    for row in plan.diff().itertuples():
        rec = seeded_frame.set_index("id").loc[row.id]
        assert (row.old, row.new) in (("Active", "At Risk"), ("At Risk", "Active"))
        assert rec["Health_Score"] < 60 if row.new == "At Risk" else rec["Health_Score"] >= 70
    again = EditPlan.from_frame(
        seeded_frame.sample(frac=1, random_state=1), "Account_Status", rule, fields=ACCOUNT_FIELDS
    )
    assert again.plan_id == plan.plan_id and plan.plan_id.startswith("Accounts-Account_Status-")
    other = EditPlan.from_frame(seeded_frame, "Account_Status", "Active", fields=ACCOUNT_FIELDS)
    assert other.plan_id != plan.plan_id
    with pytest.raises(ValueError, match="unknown rule"):
        bulk.resolve_new(rule="no_such_rule")


def test_typed_values_are_planned_as_api_json(seeded_frame: pd.DataFrame) -> None:
    plan = EditPlan.from_frame(seeded_frame, "Last_Engagement_Date", pd.Timestamp("2031-02-03"), fields=ACCOUNT_FIELDS)
    assert set(plan.diff()["new"]) == {"2031-02-03"}
    assert all(v is None or len(v) == 10 for v in plan.diff()["old"])
    owner = seeded_frame["Owner.id"].iloc[0]
    plan = EditPlan.from_frame(seeded_frame, "Owner", owner, fields=ACCOUNT_FIELDS)
    assert set(plan.diff()["id"]).isdisjoint(seeded_frame.loc[seeded_frame["Owner.id"] == owner, "id"])
    assert plan.diff()["new"].iloc[0] == {"id": owner}


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("Nope", "x", "unknown field"),
        ("Created_Time", "2024-01-01T00:00:00+00:00", "read-only"),
        ("Employees", "many", "expected an integer"),
        ("Rating", "Hot", "not an allowed value"),
        ("Account_Name", None, "mandatory"),
    ],
)
def test_validation_names_field_record_and_value(seeded_frame, field, value, reason) -> None:
    frame = seeded_frame.assign(Nope="y")
    plan = EditPlan.from_frame(frame, field, value, fields=ACCOUNT_FIELDS)
    with pytest.raises(ZohoValidationError) as err:
        plan.validate(ACCOUNT_FIELDS)
    problem = err.value.problems[0]
    assert problem.field == field and reason in problem.reason
    if field not in ("Nope", "Created_Time"):  # per-value problems name the record and the value
        assert problem.row in set(plan.diff()["id"]) and problem.value == value


def test_rule_errors_name_the_record(seeded_frame: pd.DataFrame) -> None:
    def broken(row):
        if row["id"] == seeded_frame["id"].iloc[3]:
            raise KeyError("Health")
        return "Active"

    with pytest.raises(ZohoValidationError) as err:
        EditPlan.from_frame(seeded_frame, "Account_Status", broken, fields=ACCOUNT_FIELDS)
    assert [p.row for p in err.value.problems] == [seeded_frame["id"].iloc[3]]


# ---------------------------------------------------------------------------------- the journal
def test_journal_round_trip(database_url: str) -> None:
    j = Journal(database_url)
    j.save_plan("Accounts-Rating-abc", "Accounts", "Rating", "frame", "set to Active", 3)
    ids = j.begin(
        "Accounts-Rating-abc",
        "apply",
        "Accounts",
        "Rating",
        [Entry("1", None, "Active"), Entry("2", "Acquired", "Active"), Entry("3", ["a"], {"id": "9"})],
    )
    pending = j.entries("Accounts-Rating-abc")
    assert list(pending["status"]) == ["pending"] * 3 and pending["applied_at"].isna().all()
    assert list(pending["old_value"]) == [None, "Acquired", ["a"]]
    j.finish(
        [
            Outcome(ids[0], "success", "SUCCESS", "record updated"),
            Outcome(ids[1], "error", "INVALID_DATA", "the id given seems to be invalid"),
            Outcome(ids[2], "success", "SUCCESS", "record updated"),
        ]
    )
    assert sorted(j.applied("Accounts-Rating-abc")["record_id"]) == ["1", "3"]
    j.mark_undone("Accounts-Rating-abc", ["1"])
    assert list(j.applied("Accounts-Rating-abc")["record_id"]) == ["3"]
    plans = j.plans()
    assert plans.loc[0, ["applied", "failed", "undone"]].tolist() == [2, 1, 1]


def test_journal_errors_name_the_server_not_the_password(empty_database_url: str) -> None:
    with pytest.raises(ZohoDatabaseError) as err:
        Journal("postgresql://someone:s3cret-pass-word@127.0.0.1:1/journal").plans()
    assert "127.0.0.1:1/journal" in str(err.value) and "s3cret-pass-word" not in str(err.value)
    with pytest.raises(ZohoDatabaseError, match="sergas-nb migrate"):
        Journal(empty_database_url).entries()


# ------------------------------------------------------------------------- against the emulator
def _plan(client, value: str = "Active", field: str = "Rating") -> EditPlan:
    return EditPlan.build(client, field, value, criteria="(Industry:equals:Technology)")


def test_invalid_plan_is_rejected_before_anything_is_sent(client, fresh_emulator, database_url) -> None:
    plan = _plan(client, value="Hot")
    assert plan.to_change > 100
    before = _writes(fresh_emulator)
    with pytest.raises(ZohoValidationError) as err:
        plan.apply(client, journal=database_url)
    assert len(err.value.problems) == plan.to_change
    assert _writes(fresh_emulator) == before
    assert Journal(database_url).entries(plan.plan_id).empty


def test_apply_reports_each_record_journals_and_undo_restores(client, fresh_emulator, database_url) -> None:
    plan = _plan(client)
    diff = plan.diff()
    assert plan.to_change > 100  # three batches of 50 at least
    gone = diff["id"].iloc[120]  # in the third batch
    client.delete("Accounts", [gone])  # deleted between plan and apply: the CRM rejects that one
    calls: list[tuple[int, int]] = []
    before = _writes(fresh_emulator)
    result = plan.apply(
        client, journal=database_url, batch_size=50, progress=lambda done, total: calls.append((done, total))
    )

    assert (result.total, result.succeeded, result.failed, result.skipped) == (plan.to_change, plan.to_change - 1, 1, 0)
    assert _writes(fresh_emulator) - before == -(-plan.to_change // 50)  # one update call per batch
    failed = result.records[result.records["status"] == "error"].iloc[0]
    assert (failed["id"], failed["code"]) == (gone, "INVALID_DATA")
    assert calls == [(n, plan.to_change) for n in [*range(50, plan.to_change, 50), plan.to_change]]
    now = _values(client, list(diff["id"]), "Rating")
    assert gone not in now and set(now.values()) == {"Active"}

    entries = Journal(database_url).entries(plan.plan_id)
    assert len(entries) == plan.to_change and set(entries["action"]) == {"apply"}
    assert entries.set_index("record_id").loc[gone, ["status", "code"]].tolist() == ["error", "INVALID_DATA"]
    old_by_id = dict(zip(diff["id"], diff["old"], strict=False))
    assert all(old_by_id[r.record_id] == r.old_value for r in entries.itertuples())
    assert entries["applied_at"].notna().all() and entries["undone_at"].isna().all()

    undone = undo(plan.plan_id, client, journal=database_url)
    assert (undone.succeeded, undone.failed) == (plan.to_change - 1, 0)
    restored = _values(client, list(diff["id"]), "Rating")
    assert all(restored[i] == old_by_id[i] for i in restored)
    entries = Journal(database_url).entries(plan.plan_id)
    applied = entries[(entries["action"] == "apply") & (entries["status"] == "success")]
    assert applied["undone_at"].notna().all()
    assert (entries["action"] == "undo").sum() == plan.to_change - 1

    writes = _writes(fresh_emulator)
    assert undo(plan.plan_id, client, journal=database_url).sent == 0  # nothing left to undo
    assert _writes(fresh_emulator) == writes


def test_reapplying_a_plan_sends_nothing(client, fresh_emulator, database_url) -> None:
    plan = _plan(client, field="Account_Status", value="At Risk")
    first = plan.apply(client, journal=database_url)
    assert first.succeeded == plan.to_change > 0
    writes = _writes(fresh_emulator)
    again = plan.apply(client, journal=database_url)
    assert (again.sent, again.skipped, again.succeeded) == (0, plan.to_change, 0)
    assert set(again.records["code"]) == {"ALREADY_APPLIED"}
    assert _writes(fresh_emulator) == writes
    # a rebuilt plan over the same selection now has nothing to change
    assert _plan(client, field="Account_Status", value="At Risk").to_change == 0


def test_records_changed_by_someone_else_are_not_overwritten(client, fresh_emulator, database_url) -> None:
    plan = _plan(client)
    ids, olds = list(plan.diff()["id"]), list(plan.diff()["old"])
    a, b = ids[0], ids[1]
    other = "Shut Down" if olds[1] != "Shut Down" else "Acquired"
    client.update("Accounts", [{"id": a, "Rating": "Active"}, {"id": b, "Rating": other}])
    result = plan.apply(client, journal=database_url)
    codes = result.records.set_index("id")["code"]
    assert codes[a] == "ALREADY_AT_NEW_VALUE" and codes[b] == "CHANGED_SINCE_PLAN"
    assert result.succeeded == plan.to_change - 2 and result.sent == plan.to_change - 2
    assert _values(client, [b], "Rating")[b] == other
    # overwriting is explicit: only b is sent, and its journaled before-value is what the CRM held
    forced = plan.apply(client, journal=database_url, on_conflict="overwrite")
    assert (forced.sent, forced.succeeded) == (1, 1)
    assert Journal(database_url).entries(plan.plan_id).set_index("record_id").loc[b, "old_value"] == other

    # undo leaves alone a record changed again after the apply, and restores the others
    c = ids[2]
    client.update("Accounts", [{"id": c, "Rating": other}])
    undone = undo(plan.plan_id, client, journal=database_url)
    assert undone.records.set_index("id").loc[c, "code"] == "CHANGED_SINCE_APPLY"
    assert undone.succeeded == plan.to_change - 2  # not a (never written by the plan), not c
    now = _values(client, ids, "Rating")
    assert now[c] == other and now[b] == other and all(now[i] == o for i, o in zip(ids[3:], olds[3:], strict=False))
    assert list(Journal(database_url).applied(plan.plan_id)["record_id"]) == [c]  # still undoable


def test_plan_from_coql_and_rule(client, database_url) -> None:
    plan = EditPlan.build(
        client,
        "Account_Status",
        bulk.RULES["status_from_health"],
        coql="select Account_Status, Health_Score from Accounts where Industry = 'Healthcare' limit 2000",
    )
    assert plan.module == "Accounts" and plan.selection.startswith("COQL")
    assert plan.to_change > 0 and set(plan.diff()["new"]) <= {"Active", "At Risk"}
    result = plan.apply(client, journal=database_url, batch_size=25)
    assert result.succeeded == plan.to_change
    assert json.loads(json.dumps(result.summary()))["succeeded"] == plan.to_change


def test_a_transient_failure_mid_run_does_not_stop_it(client, fresh_emulator, database_url) -> None:
    plan = _plan(client)
    n = plan.to_change

    def faults_after_first_batch(done: int, total: int) -> None:  # batch 2 gets a 500, batch 3 loses its answer
        if done == 50:
            fresh_emulator.control.add_fault("status", path="^/crm/v8/Accounts$", method="PUT", status=500)
            fresh_emulator.control.add_fault("reset", path="^/crm/v8/Accounts$", method="PUT", after=True)

    first = plan.apply(client, journal=database_url, batch_size=50, progress=faults_after_first_batch)
    assert first.succeeded == n and first.failed == first.unknown == 0 and not first.stopped
    entries = Journal(database_url).entries(plan.plan_id)
    assert entries["status"].value_counts().to_dict() == {"success": n}
    assert set(_values(client, list(plan.diff()["id"]), "Rating").values()) == {"Active"}
    second = plan.apply(client, journal=database_url, batch_size=50)
    assert second.sent == 0 and set(second.records["code"]) == {"ALREADY_APPLIED"}
