"""Writes whose answer is lost, delayed or refused: every record's fate is in the result, nothing
is written twice, and a transient failure never ends the run (real SDK, real HTTP, the emulator)."""

from __future__ import annotations

import pytest

from sergas_nb.client import ZohoClient, connect

PUT = "^/crm/v8/Accounts$"


def _puts(z) -> int:
    return int(z.control.stats()["requests"].get("PUT /crm/v8/Accounts", 0))


def _ids(crm: ZohoClient, n: int) -> list[str]:
    return list(crm.records("Accounts", fields=["Health_Score"], limit=n)["id"])


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 500},
        {"kind": "status", "status": 502, "body": "html"},
        {"kind": "429", "count": 5},  # past the retry budget: surely not applied
    ],
)
def test_update_whose_batch_was_not_applied_is_sent_again(crm, fresh_emulator, fault):
    aid = _ids(crm, 1)[0]
    fresh_emulator.control.add_fault(path=PUT, method="PUT", **fault)
    result = crm.update("Accounts", [{"id": aid, "Health_Score": 43}])
    assert result.ok and result.succeeded == 1
    assert crm.record("Accounts", aid)["Health_Score"] == 43


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "reset"},
        {"kind": "status", "status": 502, "body": "html"},
        {"kind": "malformed"},
    ],
)
def test_update_applied_but_answer_lost_is_read_back_not_resent(crm, fresh_emulator, fault):
    aid = _ids(crm, 1)[0]
    fresh_emulator.control.add_fault(path=PUT, method="PUT", after=True, **fault)
    result = crm.update("Accounts", [{"id": aid, "Health_Score": 44}])
    row = result.records.iloc[0]
    assert row["status"] == "success" and row["resolution"] == "read back: applied"
    assert result.resolved == 1 and result.unknown == 0
    assert _puts(fresh_emulator) == 1  # read back, not sent a second time
    assert crm.record("Accounts", aid)["Health_Score"] == 44


def test_update_whose_answer_came_too_late_is_read_back(fresh_emulator):
    z = fresh_emulator
    with connect(emulator=z, env_file=None, timeout=(2.0, 1.0), backoff=0.01) as crm:
        aid = _ids(crm, 1)[0]
        z.control.add_fault("stall", path=PUT, method="PUT", after=True, seconds=2.5)
        result = crm.update("Accounts", [{"id": aid, "Health_Score": 41}])
        assert result.ok and result.records.loc[0, "resolution"] == "read back: applied"
        assert _puts(z) == 1


def test_a_transient_failure_does_not_end_a_long_run(crm, fresh_emulator):
    ids = _ids(crm, 450)
    z = fresh_emulator
    # batch 2: applied, answer lost; batch 3: refused 5 times (not applied); batch 4: reset before sending
    z.control.add_fault("reset", path=PUT, method="PUT", after=True, count=1)
    result = crm.update("Accounts", [{"id": i, "Health_Score": 7} for i in ids], max_in_flight=1)
    assert result.total == 450 and result.ok, result.records["status"].value_counts()
    z.control.add_fault("429", path=PUT, method="PUT", count=4)
    z.control.add_fault("status", path=PUT, method="PUT", status=502, body="html", count=1)
    result = crm.update("Accounts", [{"id": i, "Health_Score": 8} for i in ids], max_in_flight=1)
    assert result.total == 450 and result.ok
    got = crm.records("Accounts", fields=["Health_Score"], where=f"id in ({', '.join(ids[:50])})")
    assert set(got["Health_Score"]) == {8}
    assert list(result.records["row"]) == list(range(450))


def test_parallel_batches_keep_every_guarantee(crm, fresh_emulator):
    ids = _ids(crm, 1000)
    z = fresh_emulator
    z.control.add_fault("reset", path=PUT, method="PUT", after=True, count=2)
    z.control.add_fault("status", path=PUT, method="PUT", status=502, body="html", count=2)
    z.control.add_fault("429", path=PUT, method="PUT", count=3)
    result = crm.update(
        "Accounts", [{"id": i, "Health_Score": n % 100} for n, i in enumerate(ids)], max_in_flight=10, progress=False
    )
    assert result.total == 1000 and result.ok
    assert list(result.records["id"]) == ids  # input order, whatever order batches finished in
    got = crm.records("Accounts", fields=["Health_Score"])
    by_id = dict(zip(got["id"], got["Health_Score"], strict=True))
    assert all(by_id[i] == n % 100 for n, i in enumerate(ids))


def test_insert_with_a_key_recovers_ids_without_twins(crm, fresh_emulator):
    z = fresh_emulator
    rows = [{"Account_Name": f"Keyed {n}", "Employees": n} for n in range(150)]
    z.control.add_fault("reset", path="^/crm/v8/Accounts$", method="POST", after=True, count=1)
    result = crm.insert("Accounts", rows, key="Account_Name", max_in_flight=1)
    assert result.ok and result.total == 150
    assert result.records["id"].notna().all() and result.records["id"].is_unique
    assert (result.records["resolution"] == "read back: applied").sum() == 100
    got = crm.records("Accounts", fields=["Account_Name"], where="Account_Name like 'Keyed %'")
    assert len(got) == 150  # no twins
    assert set(got["id"]) == set(result.records["id"])


def test_insert_without_a_key_reports_unknown_in_words(crm, fresh_emulator):
    # Contacts rows without Email (the module's duplicate-check field): no key to read them back by.
    # (Accounts rows always carry Account_Name, which inserts now read lost answers back by:
    # see test_insert_keys.py.)
    z = fresh_emulator
    z.control.add_fault("status", path="^/crm/v8/Contacts$", method="POST", status=502, body="html", after=True)
    result = crm.insert("Contacts", [{"Last_Name": "Unkeyed 1"}, {"Last_Name": "Unkeyed 2"}])
    assert result.unknown == 2 and not result.ok
    assert result.records["message"].str.contains("may or may not have been written").all()
    assert "unknown=2" in repr(result)


def test_upsert_whose_answer_was_lost_is_sent_again_without_twins(crm, fresh_emulator):
    z = fresh_emulator
    z.control.add_fault("reset", path="^/crm/v8/Accounts/upsert$", method="POST", after=True)
    result = crm.upsert("Accounts", [{"Account_Name": "Upsert Lost", "Employees": 3}])
    assert result.ok and result.records.loc[0, "id"]
    got = crm.records("Accounts", fields=["Account_Name"], where="Account_Name = 'Upsert Lost'")
    assert len(got) == 1


def test_delete_whose_answer_was_lost_is_read_back(crm, fresh_emulator):
    ids = _ids(crm, 3)
    fresh_emulator.control.add_fault("reset", path="^/crm/v8/Accounts$", method="DELETE", after=True)
    result = crm.delete("Accounts", ids)
    assert result.ok and (result.records["resolution"] == "read back: applied").all()
    assert len(crm.records("Accounts", where=f"id in ({', '.join(ids)})")) == 0


def test_a_write_that_can_never_be_sent_is_an_error_per_record(crm, fresh_emulator):
    aid = _ids(crm, 1)[0]
    fresh_emulator.control.add_fault("429", path=PUT, method="PUT", count=50)
    result = crm.update("Accounts", [{"id": aid, "Health_Score": 1}])
    row = result.records.iloc[0]
    assert row["status"] == "error" and row["code"] == "NOT_SENT"
    assert "not written after" in row["message"]


def _update_in_process(creds: dict, ids: list[str], value: int, ready, queue) -> None:  # a spawned process
    from types import SimpleNamespace

    try:
        with connect(emulator=SimpleNamespace(**creds), env_file=None, backoff=0.01) as client:
            ready.wait(60)  # all processes write together, each with a cold SDK cache
            result = client.update("Accounts", [{"id": i, "Health_Score": value} for i in ids])
            queue.put((int(result.succeeded), list(result.records["code"])))
    except Exception as exc:
        queue.put((0, [repr(exc)]))


def test_eight_processes_writing_with_a_cold_sdk_cache_lose_nothing(crm, fresh_emulator, monkeypatch, tmp_path):
    import multiprocessing
    from pathlib import Path

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # empty: every process starts cold
    ids = _ids(crm, 32)
    creds = {k: getattr(fresh_emulator, k) for k in ("url", "client_id", "client_secret", "refresh_token")}
    ctx = multiprocessing.get_context("spawn")
    ready, queue = ctx.Barrier(8), ctx.Queue()
    procs = [
        ctx.Process(target=_update_in_process, args=(creds, ids[n * 4 : n * 4 + 4], 60 + n, ready, queue))
        for n in range(8)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(30)
    assert sum(ok for ok, _ in results) == 32, results
    got = crm.records("Accounts", fields=["Health_Score"], where=f"id in ({', '.join(ids)})")
    by_id = dict(zip(got["id"], got["Health_Score"], strict=True))
    assert all(by_id[ids[n * 4 + k]] == 60 + n for n in range(8) for k in range(4))
    # each process had its own metadata folder, and removed it when it exited
    assert not [p for p in Path(tmp_path / "cache").rglob("pid*") if p.is_dir()]
