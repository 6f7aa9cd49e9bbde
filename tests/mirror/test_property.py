"""Random rounds of inserts, updates, deletes, restores, rollup changes and same-second edits, a sync
after each round: the mirror must equal a fresh full read every time."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sergas_nb.mirror import Mirror
from tests.mirror.conftest import MODULES, assert_mirrors

OPS = st.sampled_from(["insert", "update", "delete", "restore", "rollup", "same_second"])
ROUNDS = st.lists(st.lists(OPS, min_size=2, max_size=4), min_size=2, max_size=4)


def _apply(op: str, crm, z, state: dict, n: int) -> None:
    accounts = crm.records("Accounts", fields=["Account_Name"], limit=30)
    ids = list(accounts["id"])
    if op == "insert":
        crm.insert("Accounts", [{"Account_Name": f"Mirror Test {state['seq']}-{n}", "Employees": 10 + n}])
        state["seq"] += 1
    elif op == "update" and ids:
        crm.update("Accounts", [{"id": ids[n % len(ids)], "Phone": f"555-{n:04d}", "Annual_Revenue": 1000.0 * n}])
    elif op == "delete" and len(ids) > 1:
        gone = ids[(n + 1) % len(ids)]
        crm.delete("Accounts", [gone])
        state["deleted"].append(gone)
    elif op == "restore" and state["deleted"]:
        z.control.restore("Accounts", [state["deleted"].pop(0)])
        state["restored"] = True
    elif op == "rollup":
        deals = crm.records("Deals", fields=["Amount", "Stage"], limit=20)
        if len(deals):
            row = deals.iloc[n % len(deals)]
            crm.update("Deals", [{"id": row["id"], "Amount": 500.0 + n, "Stage": "Qualification"}])
    elif op == "same_second" and ids:
        # Written, mirrored and written again within (most likely) the same second.
        rid = ids[0]
        crm.update("Accounts", [{"id": rid, "Description": f"first {n}"}])
        state["mirror"].sync(MODULES, progress=False)
        crm.update("Accounts", [{"id": rid, "Description": f"second {n}"}])


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(rounds=ROUNDS)
def test_mirror_equals_a_fresh_read_after_every_round(small_org, crm, tmp_path_factory, rounds):
    small_org.control.reseed(seed=7, accounts=120)
    path = tmp_path_factory.mktemp("mirror")
    with Mirror(crm, path, reconcile_every=0) as m:
        m.sync(MODULES, progress=False)
        state = {"seq": 0, "deleted": [], "mirror": m, "restored": False}
        for r, ops in enumerate(rounds):
            state["restored"] = False
            for i, op in enumerate(ops):
                _apply(op, crm, small_org, state, r * 10 + i)
            # Restored records keep their old Modified_Time: only an id reconciliation finds them.
            m.sync(MODULES, reconcile=state["restored"], progress=False)
            assert_mirrors(m, crm)
