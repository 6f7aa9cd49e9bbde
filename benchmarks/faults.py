"""The fault matrix: writes, reads and journalled plans under injected faults and killed processes.

    python benchmarks/faults.py [--update 5000] [--insert 1000] [--read 20000] [--plan 1000]
    python benchmarks/faults.py --smoke   # seconds: small sizes, one scenario (the suite runs it)

Against one LocalZoho (real SDK over HTTP) and a throwaway PostgreSQL (tokens and the journal).
Each scenario arms its fault once a workload is a few calls in, so it lands mid-run:

    429 bursts; 500 JSON; 502/503 HTML; reset before / after the server applied the call; a write
    applied whose answer stalls past the client's timeout; a malformed 200 (before / after
    applying); access tokens expired mid-run; the token endpoint throttling; per-record failures;
    the applying process SIGKILLed mid-run, then resume and undo; undo SIGKILLed, then re-apply.

Workloads: an update of --update records (from 5,000 one Bulk Write job, whose creation call
takes the fault: a lost answer there must be resolved by reading the records back), an insert of
--insert records (with a key), a read of --read records, and a journalled plan over --plan
records, undone afterwards. After each run the
CRM is read back and compared with the result:

    applied   records holding what was written (read: records read)
    failed    records the result reports failed (per-record errors, as the CRM said)
    unknown   records reported 'unknown' → the number of lost answers resolved by reading back
    duplicated  twins (insert), ids read twice (read), result rows repeated (update, plan)
    lost      reported success but not in the CRM, or in no state at all (read: ids never read)
    left changed after undo   plan records not back at their value from before the plan

A fault that never reached its workload (the workload ended first) is noted FAULT NEVER FIRED and
fails the run: that row tested nothing.

Prints the table and ends with one JSON line:
{"scenarios": N, "runs": R, "lost": 0, "duplicated": 0, "left_changed_after_undo": 0, "unresolved": 0,
 "faults_never_fired": 0}
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import pickle
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from sergas_nb.client import BULK_WRITE_MIN, ZohoClient, connect
from sergas_nb.edits.migrate import apply_migrations
from sergas_nb.edits.plans import EditPlan
from sergas_nb.edits.runs import apply, current_values, undo
from sergas_nb.emulator import LocalZoho
from sergas_nb.lab.pgcluster import ThrowawayPostgres

RECORDS = "/crm/v8/Accounts"
PATHS = {"update": ("PUT", RECORDS), "insert": ("POST", RECORDS), "read": ("GET", RECORDS), "plan": ("PUT", RECORDS)}
PLAN_BATCH = 100
# --smoke: sizes that still cross the 2,000 records a paged read reaches (so the COQL part of a
# full read runs), and one scenario whose lost answers must be resolved (the full run has them all).
SMOKE_SIZES = {"update": 150, "insert": 30, "read": 2100, "plan": 120}
SMOKE_SCENARIOS = ("reset after applying",)


@dataclass
class Scenario:
    name: str
    fault: dict[str, Any] | None = None  # emulator fault, armed mid-run on the workload's path
    action: str | None = None  # "expire" | "throttle" | "records" | "kill_apply" | "kill_undo"
    timeout: tuple[float, float] = (5.0, 30.0)
    workloads: tuple[str, ...] = ("update", "insert", "read", "plan")


SCENARIOS = [
    Scenario("no fault"),
    Scenario("429 burst", {"kind": "429", "count": 6}),
    Scenario("500 JSON", {"kind": "status", "status": 500, "count": 2}),
    Scenario("502 HTML", {"kind": "status", "status": 502, "body": "html", "count": 2}),
    Scenario("503 HTML", {"kind": "status", "status": 503, "body": "html", "count": 2}),
    Scenario("reset before applying", {"kind": "reset", "count": 2}),
    Scenario("reset after applying", {"kind": "reset", "after": True, "count": 2}),
    Scenario("502 HTML after applying", {"kind": "status", "status": 502, "body": "html", "after": True, "count": 2}),
    Scenario("stall past the timeout", {"kind": "stall", "after": True, "seconds": 4, "count": 1}, timeout=(5.0, 2.0)),
    Scenario("malformed 200", {"kind": "malformed", "count": 1}),
    Scenario("malformed 200 after applying", {"kind": "malformed", "after": True, "count": 1}),
    Scenario("token expiry mid-run", action="expire"),
    Scenario("token endpoint throttling", action="throttle"),
    Scenario("per-record failures", action="records"),
    Scenario("apply SIGKILLed, resume, undo", action="kill_apply", workloads=("plan",)),
    Scenario("undo SIGKILLed, re-apply", action="kill_undo", workloads=("plan",)),
]


@dataclass
class Row:
    scenario: str
    workload: str
    applied: int = 0
    failed: int = 0
    unknown: int = 0
    resolved: int = 0
    duplicated: int = 0
    lost: int = 0
    left_changed_after_undo: int = 0
    seconds: float = 0.0
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------ arming
BULK_WRITE_JOB = ("POST", "/crm/bulk/v8/write")  # a Bulk Write job's one creation call
COQL = ("POST", "/crm/v8/coql")


@dataclass
class Armed:
    """A fault or token action landing on a workload's path. ``done()`` (the workload returned)
    stops a wait that has not ended, so an action that never got its moment costs no time, and
    ``fired`` says whether it landed: a row whose fault never fired tested nothing and says so."""

    z: LocalZoho
    path: str
    method: str
    refreshes: int  # the token endpoint's refresh count before the workload
    finished: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    acted: bool = False

    def done(self) -> None:
        self.finished.set()
        if self.thread is not None:
            self.thread.join()

    def fired(self) -> bool:
        """Whether the fault fired at least once; a token action: whether the client had to refresh."""
        if not self.acted:
            return False
        if self.thread is not None:
            return int(self.z.oauth.stats()["refresh_token"]) > self.refreshes
        pending = [f for f in self.z.control.stats()["pending_faults"] if f["path"] == f"^{self.path}$"]
        return not any(f["fired"] == 0 for f in pending)


def _arm_mid_run(
    z: LocalZoho, scenario: Scenario, workload: str, calls: int, path: tuple[str, str] | None = None
) -> Armed | None:
    """Land the scenario once the workload has made a third of its ``calls`` on its path (3 at
    most); ``calls`` 0 or 1: on its first call (a Bulk Write job has one creation call).

    A fault is armed before the workload starts and fires on the next call after that third, then
    on every such call until its count is spent (the emulator's ``every``): writes and plans send
    ten calls at once, so a fault armed once three had arrived came after all ten and fired on
    nothing. A token action is taken by a thread once the calls have arrived."""
    if scenario.fault is None and scenario.action not in ("expire", "throttle"):
        return None
    method, route = path or PATHS[workload]
    armed = Armed(z, route, method, int(z.oauth.stats()["refresh_token"]))
    after = 0 if calls <= 1 else max(1, min(3, calls // 3))  # one call: it takes the fault
    if scenario.fault is not None:
        z.control.add_fault(path=f"^{route}$", method=method, every=after + 1, **scenario.fault)
        armed.acted = True
        return armed
    start = z.control.requests_to(route, method)

    def act() -> None:
        while z.control.requests_to(route, method) < start + after:
            if armed.finished.wait(0.01):
                return  # the workload ended first: nothing to land on
        armed.acted = True
        if scenario.action == "expire":
            z.oauth.expire_access_tokens()
            return
        # one refresh goes through; for the next 4 s every refresh is throttled
        z.oauth.set_limits(refresh_limit=1, refresh_window=4)
        refreshed = z.oauth.stats()["refresh_token"]
        z.oauth.expire_access_tokens()
        waited = time.monotonic() + 5  # (a run that already ended makes no refresh)
        while z.oauth.stats()["refresh_token"] == refreshed and time.monotonic() < waited:
            time.sleep(0.01)
        z.oauth.expire_access_tokens()
        time.sleep(4.5)
        z.oauth.set_limits(refresh_limit=1000, refresh_window=600)

    armed.thread = threading.Thread(target=act, daemon=True)
    armed.thread.start()
    return armed


def _fired_note(armed: Armed | None, note: str) -> str:
    if armed is None or armed.fired():
        return note
    return ("FAULT NEVER FIRED; " + note).rstrip("; ")


# ---------------------------------------------------------------------------------- workloads
def _update(crm: ZohoClient, z: LocalZoho, s: Scenario, ids: list[str], dsn: str, tag: str) -> Row:
    targets = list(ids)
    if s.action == "records":
        targets[::100] = [str(9_000_000_000_000_000_000 + n) for n in range(len(targets[::100]))]  # no such record
    marker = f"upd {tag}"
    if len(targets) >= BULK_WRITE_MIN:  # crm.update sends one Bulk Write job: fault its creation
        # a token action once the job exists (its polls and download meet the dead tokens)
        armed = _arm_mid_run(z, s, "update", 2 if s.fault is None else 0, path=BULK_WRITE_JOB)
    else:
        armed = _arm_mid_run(z, s, "update", -(-len(targets) // 100))
    result = crm.update("Accounts", [{"id": i, "Description": marker} for i in targets], progress=False)
    if armed:
        armed.done()
    now = crm.records("Accounts", fields=["Description"], where=None)
    holds = set(now.loc[now["Description"] == marker, "id"])
    rec = result.records
    ok_ids = set(rec.loc[rec["status"] == "success", "id"])
    reported = set(rec["id"])
    lost = len(ok_ids - holds) + len(set(targets) - reported)  # said ok but not there, or not said at all
    return Row(
        s.name,
        "update",
        applied=len(holds),
        failed=result.failed,
        unknown=int(rec["resolution"].notna().sum()),
        resolved=result.resolved,
        duplicated=int(rec["id"].duplicated().sum()),
        lost=lost,
        note=_fired_note(armed, _failure_codes(rec)),
    )


def _insert(crm: ZohoClient, z: LocalZoho, s: Scenario, n: int, dsn: str, tag: str) -> Row:
    prefix = f"Ins {tag} "
    rows = [{"Account_Name": f"{prefix}{i:05d}", "Employees": i} for i in range(n)]
    if s.action == "records":  # names that exist already: the CRM refuses them (DUPLICATE_DATA)
        taken = list(crm.records("Accounts", fields=["Account_Name"], limit=n // 100)["Account_Name"])
        for k, name in enumerate(taken):
            rows[k * 100]["Account_Name"] = name
    armed = _arm_mid_run(z, s, "insert", -(-n // 100))
    result = crm.insert("Accounts", rows, key="Account_Name", progress=False)
    if armed:
        armed.done()
    found = crm.records("Accounts", fields=["Account_Name"], where=f"Account_Name like '{prefix}%'")
    rec = result.records
    ok = rec[rec["status"] == "success"]
    existing = set(found["id"])
    mine = {str(r["Account_Name"]) for r in rows if str(r["Account_Name"]).startswith(prefix)}
    lost = int((~ok["id"].isin(existing)).sum()) + (n - len(rec))
    # a name of ours that the result calls failed but the CRM holds is lost too (the caller cannot know)
    failed_names = {rows[int(r)]["Account_Name"] for r in rec.loc[rec["status"] == "error", "row"]}
    lost += len(failed_names & set(found["Account_Name"]) & mine)
    return Row(
        s.name,
        "insert",
        applied=int(found["Account_Name"].nunique()),
        failed=result.failed,
        unknown=int(rec["resolution"].notna().sum()),
        resolved=result.resolved,
        duplicated=int(len(found) - found["Account_Name"].nunique()),
        lost=lost,
        note=_fired_note(armed, _failure_codes(rec)),
    )


def _read(crm: ZohoClient, z: LocalZoho, s: Scenario, expected: set[str], dsn: str, tag: str) -> Row:
    # Past 2,000 records a read is ten parallel pages, then COQL partitions after the edge
    # queries: the fault lands on the partitions (from the second COQL call).
    if len(expected) > 2000:
        armed = _arm_mid_run(z, s, "read", 3, path=COQL)
    else:
        armed = _arm_mid_run(z, s, "read", -(-len(expected) // 200))
    try:
        df = crm.records("Accounts", fields=["Account_Name"])
        note = ""
    except Exception as exc:  # a read may raise (all or nothing); that is not a loss
        df, note = pd.DataFrame({"id": pd.Series([], dtype="string")}), f"raised {type(exc).__name__}"
    if armed:
        armed.done()
    got = list(df["id"])
    if note:
        return Row(s.name, "read", note=_fired_note(armed, note))
    return Row(
        s.name,
        "read",
        applied=len(set(got)),
        duplicated=len(got) - len(set(got)),
        lost=len(expected - set(got)),
        note=_fired_note(armed, ""),
    )


def _run_in_child(creds: dict[str, Any], dsn: str, plan_file: str, action: str, queue: Any) -> None:
    """A spawned process applying or undoing a plan, telling the parent its progress."""
    logging.disable(logging.CRITICAL)
    with connect(emulator=SimpleNamespace(**creds), env_file=None, database_url=dsn, backoff=0.05) as client:
        plan = pickle.loads(Path(plan_file).read_bytes())

        def tell(done: int, total: int) -> None:
            queue.put(done)

        if action == "apply":
            apply(plan, client, journal=dsn, batch_size=PLAN_BATCH, progress=tell)
        else:
            undo(plan.plan_id, client, journal=dsn, batch_size=PLAN_BATCH, progress=tell)
    queue.put("finished")


def _kill_mid_run(z: LocalZoho, dsn: str, plan: EditPlan, action: str, workdir: Path) -> None:
    """Run ``action`` in a child process; SIGKILL it while a write it sent is applied but unanswered."""
    plan_file = workdir / f"{plan.plan_id}-{action}.pickle"
    plan_file.write_bytes(pickle.dumps(plan))
    names = ("url", "content_url", "download_url", "client_id", "client_secret", "refresh_token", "redirect_url")
    creds = {k: getattr(z, k) for k in names}
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    puts = z.control.requests_to(RECORDS, "PUT")
    child = ctx.Process(target=_run_in_child, args=(creds, dsn, str(plan_file), action, queue))
    child.start()
    try:
        while True:
            msg = queue.get(timeout=300)
            if msg == "finished":
                raise RuntimeError(f"the {action} finished before it could be killed")
            if msg >= 2 * PLAN_BATCH:
                break
        z.control.add_fault("stall", path=f"^{RECORDS}$", method="PUT", after=True, seconds=60)
        deadline = time.monotonic() + 60
        while z.control.requests_to(RECORDS, "PUT") < puts + 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        child.kill()
        child.join(30)
    finally:
        if child.is_alive():
            child.kill()
        z.control.clear_faults()


def _plan(crm: ZohoClient, z: LocalZoho, s: Scenario, ids: list[str], dsn: str, tag: str, workdir: Path) -> Row:
    frame = crm.records("Accounts", fields=["Description"], sort_by="id", limit=len(ids))
    plan = EditPlan.from_frame(frame, "Description", f"plan {tag}", fields=crm.fields("Accounts"))
    before = dict(zip(plan.diff()["id"], plan.diff()["old"], strict=True))
    planned = list(before)
    gone: list[str] = []
    if s.action == "records":  # records deleted between plan and apply: the CRM refuses those
        gone = planned[::100]
        crm.delete("Accounts", gone, progress=False)
    result = None
    fired_note = ""
    if s.action == "kill_apply":
        _kill_mid_run(z, dsn, plan, "apply", workdir)
        result = apply(plan, crm, journal=dsn, batch_size=PLAN_BATCH, progress=False)  # resume
    elif s.action == "kill_undo":
        apply(plan, crm, journal=dsn, batch_size=PLAN_BATCH, progress=False)
        _kill_mid_run(z, dsn, plan, "undo", workdir)
        result = apply(plan, crm, journal=dsn, batch_size=PLAN_BATCH, progress=False)  # re-apply
    else:
        armed = _arm_mid_run(z, s, "plan", -(-len(planned) // PLAN_BATCH))
        result = apply(plan, crm, journal=dsn, batch_size=PLAN_BATCH, progress=False)
        if armed:
            armed.done()
        fired_note = _fired_note(armed, "")
    now = current_values(crm, "Accounts", "Description", planned)
    rec = result.records
    at_new = {i for i, v in now.items() if v == f"plan {tag}"}
    said = dict(zip(rec["id"], rec["status"], strict=True))
    # every planned record should now hold the new value, unless the result says it failed or is unknown
    lost = sum(1 for i in planned if i not in gone and i not in at_new and said.get(i) not in ("error", "unknown"))
    undone = undo(plan.plan_id, crm, journal=dsn, batch_size=PLAN_BATCH, progress=False)
    after = current_values(crm, "Accounts", "Description", planned)
    left = sum(1 for i in planned if i in after and after[i] != before[i])
    return Row(
        s.name,
        "plan",
        applied=len(at_new),
        failed=result.failed,
        unknown=result.unknown,
        resolved=0,
        duplicated=int(rec.duplicated(["id", "field"]).sum()),
        lost=lost,
        left_changed_after_undo=left,
        note=fired_note,
        extra={"undo_failed": undone.failed},
    )


def _failure_codes(rec: pd.DataFrame) -> str:
    codes = rec.loc[rec["status"] != "success", "code"].value_counts()
    return ", ".join(f"{code} x{n}" for code, n in codes.items())


# --------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--update", type=int, default=5000)
    p.add_argument("--insert", type=int, default=1000)
    p.add_argument("--read", type=int, default=20000)
    p.add_argument("--plan", type=int, default=1000)
    p.add_argument("--only", default="", help="run the scenarios whose name contains this text")
    p.add_argument("--smoke", action="store_true", help="small sizes and one scenario: a check that it runs")
    args = p.parse_args(argv)
    if args.smoke:
        for name, size in SMOKE_SIZES.items():
            setattr(args, name, min(getattr(args, name), size))
    scenarios = [
        sc
        for sc in SCENARIOS
        if args.only.lower() in sc.name.lower() and (not args.smoke or args.only or sc.name in SMOKE_SCENARIOS)
    ]
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("sergas_nb").setLevel(logging.CRITICAL)  # the table says what happened

    rows: list[Row] = []
    workdir = Path(tempfile.mkdtemp(prefix="sergas-faults-", dir="/tmp"))
    workdir.chmod(0o755)
    with ThrowawayPostgres(workdir / "pg") as pg, LocalZoho(accounts=max(args.read, args.update), seed=7) as z:
        dsn = pg.dsn
        apply_migrations(dsn)
        z.oauth.set_limits(refresh_limit=1000)  # the scenarios refresh more than Zoho's 10 in 10 minutes
        for n, s in enumerate(scenarios):
            with connect(emulator=z, env_file=None, database_url=dsn, timeout=s.timeout, backoff=0.2, retries=4) as crm:
                ids = list(
                    crm.records("Accounts", fields=["id"], sort_by="id", limit=max(args.update, args.plan))["id"]
                )
                expected = set(crm.records("Accounts", fields=["id"])["id"])
                for workload in s.workloads:
                    tag = f"s{n}-{workload}"
                    start = time.perf_counter()
                    if workload == "update":
                        row = _update(crm, z, s, ids[: args.update], dsn, tag)
                    elif workload == "insert":
                        row = _insert(crm, z, s, args.insert, dsn, tag)
                    elif workload == "read":
                        row = _read(crm, z, s, expected, dsn, tag)
                        expected = set(crm.records("Accounts", fields=["id"])["id"])
                    else:
                        row = _plan(crm, z, s, ids[: args.plan], dsn, tag, workdir)
                    row.seconds = time.perf_counter() - start
                    z.control.clear_faults()
                    if workload == "insert":  # the inserted records change what a full read returns
                        expected = set(crm.records("Accounts", fields=["id"])["id"])
                    rows.append(row)
                    _print_row(row, first=len(rows) == 1)
    total = {
        "scenarios": len({r.scenario for r in rows}),
        "runs": len(rows),
        "lost": sum(r.lost for r in rows),
        "duplicated": sum(r.duplicated for r in rows),
        "left_changed_after_undo": sum(r.left_changed_after_undo for r in rows),
        "unresolved": sum(r.unknown - r.resolved for r in rows if r.workload in ("update", "insert")),
        "faults_never_fired": sum("FAULT NEVER FIRED" in r.note for r in rows),
    }
    print(json.dumps(total))
    bad = ("lost", "duplicated", "left_changed_after_undo", "unresolved", "faults_never_fired")
    return 0 if all(total[k] == 0 for k in bad) else 1


def _print_row(r: Row, first: bool) -> None:
    if first:
        print(
            f"{'scenario':32} {'workload':8} {'applied':>8} {'failed':>6} {'unknown→resolved':>17} "
            f"{'duplicated':>10} {'lost':>5} {'left changed after undo':>24} {'s':>6}"
        )
    left = str(r.left_changed_after_undo) if r.workload == "plan" else "-"
    lost_answers = f"{r.unknown}→{r.resolved}" if r.workload in ("update", "insert") else str(r.unknown)
    print(
        f"{r.scenario:32} {r.workload:8} {r.applied:>8} {r.failed:>6} {lost_answers:>17} {r.duplicated:>10} "
        f"{r.lost:>5} {left:>24} {r.seconds:>6.1f}{'  ' + r.note if r.note else ''}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
