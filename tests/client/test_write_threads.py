"""Batch writes from the client's long-lived write threads: ``max_in_flight`` is what reaches the
CRM, a client's writes do not start threads of their own each time, lost updates are read back by
id (not by COQL), and a frame's rows become the same payload as ``to_dict`` would give (real SDK,
real HTTP, the emulator)."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd

from sergas_nb import frames
from sergas_nb.client import ZohoClient

PUT = "^/crm/v8/Accounts$"


def _ids(crm: ZohoClient, n: int) -> list[str]:
    return list(crm.records("Accounts", fields=["Health_Score"], limit=n)["id"])


def _write_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("sergas-write"))


def test_max_in_flight_is_what_reaches_the_crm(crm, fresh_emulator):
    ids = _ids(crm, 600)
    # The org allows 3 writes of more than 10 records at once: a 4th in flight would be refused.
    fresh_emulator.control.set_limits(sub_concurrency=3)
    fresh_emulator.control.set_latency(fixed=0.05)
    result = crm.update("Accounts", [{"id": i, "Health_Score": 12} for i in ids], max_in_flight=3, progress=False)
    assert result.ok and result.succeeded == 600
    metrics = crm.metrics()
    assert (metrics["kind"] == "rate_limit").sum() == 0, metrics[metrics["kind"] == "rate_limit"]


def test_writes_reuse_the_clients_threads(crm):
    ids = _ids(crm, 300)
    for n in range(3):
        assert crm.update("Accounts", [{"id": i, "Health_Score": n} for i in ids], progress=False).ok
    assert 0 < _write_threads() <= 10
    crm.close()
    for t in [t for t in threading.enumerate() if t.name.startswith("sergas-write")]:
        t.join(5)
    assert _write_threads() == 0


def test_lost_updates_are_read_back_by_id_in_parallel(crm, fresh_emulator):
    ids = _ids(crm, 300)
    z = fresh_emulator
    z.control.add_fault("reset", path=PUT, method="PUT", after=True, count=3)  # every batch applied, answer lost
    gets, coql = z.control.requests_to("/crm/v8/Accounts", "GET"), z.control.requests_to("/crm/v8/coql", "POST")
    result = crm.update("Accounts", [{"id": i, "Health_Score": 33} for i in ids], progress=False)
    assert result.ok and result.resolved == 300
    assert set(result.records["resolution"]) == {"read back: applied"}
    assert z.control.requests_to("/crm/v8/coql", "POST") == coql  # no COQL "id in (...)" queries
    assert z.control.requests_to("/crm/v8/Accounts", "GET") - gets == 3  # 100 ids a call


def test_a_frames_rows_are_what_to_dict_gives():
    n = 6
    frame = pd.DataFrame(
        {
            "id": [str(10**17 + i) for i in range(n)],
            "text": pd.array(["a", None] * 3, dtype="string"),
            "count": np.arange(n),
            "maybe": pd.array([1, None] * 3, dtype="Int64"),
            "ratio": [0.5, np.nan] * 3,
            "flag": pd.array([True, None] * 3, dtype="boolean"),
            "when": pd.date_range("2026-01-01", periods=n, tz="UTC"),
            "kind": pd.Categorical(["x", "y"] * 3),
            "mixed": [np.int64(3), "s", None, [1, 2], {"id": "1"}, 2.5],
        }
    )
    got, want = frames.frame_rows(frame), frame.to_dict("records")
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert list(g) == list(w)
        for k in w:
            a, b = g[k], w[k]
            assert type(a) is type(b) and (a == b or (a != a and b != b)), (k, a, b)
    assert frames.frame_rows(frame.iloc[:0]) == [] and frames.frame_rows(pd.DataFrame(index=[0, 1])) == [{}, {}]
