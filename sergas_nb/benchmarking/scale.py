"""Whole modules at scale: the toolkit beside a floor client and the seed guide's serial SDK path.

The emulator runs in its own process (``sergas-nb emulator``) with Zoho-like latency (0.1 s a call
plus 0.2 ms a record) and limits (concurrency 20, sub-concurrency 10), so only client work is
measured in this process. Three paths read whole modules of N accounts (the emulator is reseeded
to N before each size) and update one field of M accounts:

- ``toolkit``: ``crm.records("Accounts")`` (strategy chosen automatically) and ``crm.update``
  (method chosen automatically: one Bulk Write job from 5,000 records); ``crm.update(...,
  method="batches")`` (100 a call, 10 in flight) is measured beside it as ``toolkit_batches``.
- ``floor``: what a careful hand-written client does inside Zoho's limits, written here: plain
  ``requests`` sessions, ``json.loads`` + ``pd.DataFrame`` only; at most 20 calls in flight and 10
  in the sub-concurrency pool; reads of up to 2,000 records as parallel pages, larger ones as COQL
  id partitions of about 1,800 records (``where id >= a and id < b order by id limit 2000``,
  continued when a part holds more); writes in 100-record batches, 10 at a time.
- ``seed``: the seed guide's serial SDK code (``SeedSDKPath``).

Updates are measured at each size asked for (``update_200`` ... ``update_10000``): below 5,000
records ``crm.update`` sends batches, from 5,000 one Bulk Write job (``toolkit_batches``,
``method="batches"``, beside it at every size). A plan apply (``plan_N``, with ``plan_size``)
changes the same field of N records through ``EditPlan`` and ``apply`` journalled in PostgreSQL (a
throwaway cluster unless ``journal`` names one), timed beside ``crm.update`` of the same records
(``toolkit_update``), the floor's update and the plan's undo (``toolkit_undo``, right after each
apply).

``read_N_cold_meta`` (N up to 2,000): the toolkit's ``records(fields=every field)`` with the
module's metadata forgotten first (a notebook's first read), beside the floor's read.

Also measured: client CPU of the toolkit's largest read against ``json.loads`` + ``pd.DataFrame``
of the same answers, and (in a fresh child process) the peak memory growth of the largest read
against the final DataFrame's ``memory_usage(deep=True)``.
"""

from __future__ import annotations

import gc
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pandas as pd
import requests

LATENCY_FIXED = 0.1
LATENCY_PER_RECORD = 0.0002
CONCURRENCY, SUB_CONCURRENCY = 20, 10
PART = 1800


# ----------------------------------------------------------------------------------- the emulator


class EmulatorProcess:
    """``sergas-nb emulator`` on a free loopback port in a child process, with latency and limits."""

    def __init__(
        self, accounts: int, seed: int = 42, latency: tuple[float, float] = (LATENCY_FIXED, LATENCY_PER_RECORD)
    ) -> None:
        from sergas_nb.emulator.control import Control

        port = _free_port()
        exe = shutil.which("sergas-nb", path=os.path.dirname(sys.executable)) or shutil.which("sergas-nb")
        cmd = [exe] if exe else [sys.executable, "-m", "sergas_nb.cli"]
        self.proc = subprocess.Popen(
            [*cmd, "emulator", "--port", str(port), "--accounts", str(accounts), "--seed", str(seed), "--auto-approve"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            raise RuntimeError("the emulator process did not start")
        info = json.loads(line)
        self.url = info["url"]
        self.creds = SimpleNamespace(**info)
        self.control = Control(self.url, timeout=300)
        self.control.set_latency(*latency)
        self.control.set_limits(CONCURRENCY, SUB_CONCURRENCY)
        self.accounts = accounts

    def reseed(self, accounts: int) -> None:
        if accounts != self.accounts:
            self.control.reseed(42, accounts)
            self.accounts = accounts

    def stop(self) -> None:
        self.control.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ----------------------------------------------------------------------------------- the floor


class FloorClient:
    """Plain HTTP within Zoho's limits, ``json.loads`` + ``pd.DataFrame`` only (see module docstring)."""

    name = "floor"

    def __init__(self, url: str, token: str, fields: Sequence[str], coql_select: Sequence[str]) -> None:
        self.base = url.rstrip("/") + "/crm/v8"
        self.fields, self.select = list(fields), list(coql_select)
        self.local = threading.local()
        self.token = token
        self.pool = ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="floor")
        self.sub = threading.Semaphore(SUB_CONCURRENCY)
        self.bodies: list[bytes] = []  # the last read's answers, for the CPU baseline

    def _session(self) -> requests.Session:
        s = getattr(self.local, "s", None)
        if s is None:
            s = self.local.s = requests.Session()
            s.headers["Authorization"] = f"Zoho-oauthtoken {self.token}"
        return s

    def _get(self, page: int) -> bytes:
        r = self._session().get(
            f"{self.base}/Accounts",
            params={"fields": ",".join(self.fields), "per_page": str(200), "page": str(page)},
            timeout=60,
        )
        r.raise_for_status()
        return r.content

    def _coql(self, query: str) -> bytes:
        with self.sub:
            r = self._session().post(f"{self.base}/coql", json={"select_query": query}, timeout=60)
        r.raise_for_status()
        return r.content if r.status_code == 200 else b'{"data": []}'

    def read(self, n: int) -> pd.DataFrame:
        bodies: list[bytes]
        if n <= 2000:
            bodies = list(self.pool.map(self._get, range(1, math.ceil(n / 200) + 1)))
        else:
            edge = lambda order: int(
                json.loads(self._coql(f"select id from Accounts where id is not null order by id {order} limit 1"))[
                    "data"
                ][0]["id"]
            )
            lo_f, hi_f = self.pool.submit(edge, "asc"), self.pool.submit(edge, "desc")
            lo, hi = lo_f.result(), hi_f.result() + 1
            parts = max(1, math.ceil(n / PART))
            step = math.ceil((hi - lo) / parts)
            bodies = [
                b
                for part in self.pool.map(self._part, [(a, min(a + step, hi)) for a in range(lo, hi, step)])
                for b in part
            ]
        self.bodies = bodies
        rows: list[dict[str, Any]] = []
        for b in bodies:
            rows.extend(json.loads(b).get("data") or [])
        return pd.DataFrame(rows)

    def _part(self, bounds: tuple[int, int]) -> list[bytes]:
        lo, hi = bounds
        out = []
        while True:
            body = self._coql(
                f"select {', '.join(self.select)} from Accounts where id >= {lo} and id < {hi} order by id limit 2000"
            )
            out.append(body)
            data = json.loads(body)
            rows = data.get("data") or []
            if not rows or not (data.get("info") or {}).get("more_records"):
                return out
            lo = int(rows[-1]["id"]) + 1

    def update(self, ids: Sequence[str], field_name: str, value: str) -> int:
        batches = [list(ids[i : i + 100]) for i in range(0, len(ids), 100)]

        def send(batch: list[str]) -> int:
            with self.sub:  # writes of more than 10 records count against sub-concurrency
                r = self._session().put(
                    f"{self.base}/Accounts", json={"data": [{"id": i, field_name: value} for i in batch]}, timeout=60
                )
            return sum(1 for d in r.json()["data"] if d.get("status") == "success")

        return sum(self.pool.map(send, batches))

    def create(self, rows: Sequence[dict[str, Any]], *, upsert: bool = False) -> int:
        """Insert (or upsert, matched on Account_Name) ``rows`` in 100-record batches, 10 at a time."""
        batches = [list(rows[i : i + 100]) for i in range(0, len(rows), 100)]
        url = f"{self.base}/Accounts" + ("/upsert" if upsert else "")

        def send(batch: list[dict[str, Any]]) -> int:
            body: dict[str, Any] = {"data": batch}
            if upsert:
                body["duplicate_check_fields"] = ["Account_Name"]
            with self.sub:
                r = self._session().post(url, json=body, timeout=60)
            return sum(1 for d in r.json()["data"] if d.get("status") == "success")

        return sum(self.pool.map(send, batches))

    def close(self) -> None:
        self.pool.shutdown()


# ----------------------------------------------------------------------------------- the run


@dataclass
class ScaleResult:
    samples: pd.DataFrame  # workload, path, repeat, seconds, records
    cpu: dict[str, float] = field(default_factory=dict)
    memory: dict[str, float] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """Median seconds per workload and path, and the ratios the issue asks for
        (``ratio_to_update``: a plan's apply over ``crm.update`` of the same records)."""
        med = self.samples.groupby(["workload", "path"], sort=False)["seconds"].median().unstack("path")
        out = pd.DataFrame(index=med.index)
        for col in _PATHS:
            if col in med:
                out[f"{col}_s"] = med[col].round(3)
        out["ratio_to_floor"] = (med["toolkit"] / med["floor"]).round(2)
        if "seed" in med:
            out["speedup_vs_seed"] = (med["seed"] / med["toolkit"]).round(2)
        if "toolkit_update" in med:
            out["ratio_to_update"] = (med["toolkit"] / med["toolkit_update"]).round(2)
            if "toolkit_undo" in med:
                out["undo_ratio_to_update"] = (med["toolkit_undo"] / med["toolkit_update"]).round(2)
        if "cpu" in self.samples:
            # Client CPU (every thread of this process; the emulator runs in its own) per 1,000
            # records, medians; only the writes' rows carry it (reads have their own CPU figure).
            writes = self.samples[self.samples["workload"].str.match(r"(update|insert|upsert)_")]
            if not writes.empty:
                per_k = writes.assign(cpu_ms=writes["cpu"] / writes["records"].clip(lower=1) * 1e6)
                cpu = per_k.groupby(["workload", "path"], sort=False)["cpu_ms"].median().unstack("path")
                out["toolkit_cpu_ms_per_1k"] = cpu["toolkit"].round(1)
                out["floor_cpu_ms_per_1k"] = cpu["floor"].round(1)
                out["cpu_ratio"] = (cpu["toolkit"] / cpu["floor"]).round(2)
        return out

    def summary(self) -> dict[str, Any]:
        """The JSON object the benchmark prints last."""
        t = self.table()
        workloads = {
            str(w): {
                "toolkit_s": _num(row.get("toolkit_s")),
                "floor_s": _num(row.get("floor_s")),
                "seed_s": _num(row.get("seed_s")),
                "ratio_to_floor": _num(row.get("ratio_to_floor")),
                "speedup_vs_seed": _num(row.get("speedup_vs_seed")),
                **({"toolkit_batches_s": _num(row.get("toolkit_batches_s"))} if "toolkit_batches_s" in row else {}),
                **{  # a plan's row, or a write's CPU figures
                    key: _num(row.get(key))
                    for key in (
                        "toolkit_update_s",
                        "toolkit_undo_s",
                        "ratio_to_update",
                        "undo_ratio_to_update",
                        "toolkit_cpu_ms_per_1k",
                        "floor_cpu_ms_per_1k",
                        "cpu_ratio",
                    )
                    if key in row and not pd.isna(row.get(key))
                },
            }
            for w, row in t.iterrows()
        }
        return {
            "workloads": workloads,
            "cpu_per_1k_ratio": self.cpu.get("ratio"),
            "mem_ratio_100k": self.memory.get("ratio"),
            "cpu": self.cpu,
            "memory": self.memory,
        }


# Paths in the table's order: ``toolkit`` and ``floor`` run in every workload, the others in some.
_PATHS = ("toolkit", "floor", "seed", "toolkit_batches", "toolkit_update", "toolkit_undo")


def _num(v: Any) -> float | None:
    return None if v is None or pd.isna(v) else round(float(v), 3)


def run_scale(
    read_sizes: Sequence[int] = (2000, 20000, 100000),
    update_size: int | Sequence[int] = 10000,
    repeats: int = 3,
    *,
    seed_path: bool = True,
    batches: bool = True,
    memory: bool = True,
    latency: tuple[float, float] = (LATENCY_FIXED, LATENCY_PER_RECORD),
    progress: Callable[[str], None] = print,
    plan_size: int | Sequence[int] | None = None,
    journal: str | None = None,
    write_ops: Sequence[str] = ("update",),
) -> ScaleResult:
    """Every workload, paths taking turns in a rotating order inside each repeat.

    ``update_size``: one size or several (0 or none: no update). ``plan_size``: records of the
    journalled plan apply, one size or several (None: no plan); ``journal``: its PostgreSQL DSN (migrations applied
    here), else a throwaway cluster is started for the run. ``latency``: the emulator's (seconds
    per call, seconds per record). ``write_ops``: which of update, insert and upsert run at each
    update size (inserts and upserts in 100-record batches, 10 in flight, beside the floor's)."""
    from sergas_nb import connect
    from sergas_nb._reads import coql_columns
    from sergas_nb.benchmarking.operations import Workload
    from sergas_nb.benchmarking.rest_path import fetch_access_token
    from sergas_nb.benchmarking.seed_sdk_path import SeedSDKPath

    update_sizes = sorted({update_size} if isinstance(update_size, int) else set(update_size)) if update_size else []
    update_sizes = [u for u in update_sizes if u > 0]
    plan_sizes = sorted({plan_size} if isinstance(plan_size, int) else set(plan_size)) if plan_size else []
    writes = [*update_sizes, *plan_sizes]
    emu = EmulatorProcess(accounts=min(read_sizes) if read_sizes else max(writes, default=1), latency=latency)
    samples: list[dict[str, Any]] = []
    cpu: dict[str, float] = {}
    mem: dict[str, float] = {}
    stack = ExitStack()
    try:
        c = emu.creds
        crm = stack.enter_context(connect(emulator=c, env_file=None))
        meta = crm.field_metadata("Accounts")
        names = [f["api_name"] for f in meta]
        shape, _ = coql_columns(meta, names)
        assert shape is not None
        token = fetch_access_token(c.token_url, c.client_id, c.client_secret, c.refresh_token)
        floor = FloorClient(emu.url, token, names, shape.select)
        workload = Workload(fields=tuple(names[:49]), update_field="Description")
        seed = (
            SeedSDKPath(c.url, c.token_url, c.client_id, c.client_secret, c.refresh_token, c.redirect_url, workload)
            if seed_path
            else None
        )

        def timed(workload_name: str, path: str, rep: int, fn: Callable[[], int]) -> None:
            c0, t0 = time.process_time(), time.perf_counter()
            n = fn()
            samples.append(
                {
                    "workload": workload_name,
                    "path": path,
                    "repeat": rep,
                    "seconds": time.perf_counter() - t0,
                    "records": n,
                    "cpu": time.process_time() - c0,
                }
            )

        for n in sorted(read_sizes):
            emu.reseed(n)
            crm.records("Accounts", progress=False)  # warm-up: metadata, connections, emulator caches
            floor.read(n)
            name = f"read_{n}"
            for rep in range(repeats):
                paths: list[tuple[str, Callable[[], int]]] = [
                    ("toolkit", partial(_toolkit_read, crm)),
                    ("floor", partial(_floor_read, floor, n)),
                ]
                if seed is not None:
                    paths.append(("seed", partial(seed.read, n)))
                for path, fn in _rotate(paths, rep):
                    timed(name, path, rep, fn)
                    got = samples[-1]["records"]
                    if got != n:
                        raise RuntimeError(f"{path} {name}: read {got} records, expected {n}")
            progress(f"{name}: done")
            if n <= 2000:  # a first read of a module: its metadata not fetched yet (issue 16)
                cold = f"read_{n}_cold_meta"
                for rep in range(repeats):
                    cold_paths: list[tuple[str, Callable[[], int]]] = [
                        ("toolkit", partial(_toolkit_read_cold, crm, names)),
                        ("floor", partial(_floor_read, floor, n)),
                    ]
                    for path, fn in _rotate(cold_paths, rep):
                        timed(cold, path, rep, fn)
                progress(f"{cold}: done")
            if n == max(read_sizes):
                cpu = _cpu(crm, floor, n)
                if memory:
                    mem = _memory(c, n)
        if writes:
            emu.reseed(max(*writes, emu.accounts))
            existing = crm.records("Accounts", fields=["Account_Name"], sort_by="id", limit=max(writes), progress=False)
            all_ids, all_names = list(existing["id"]), list(existing["Account_Name"])
        for size in update_sizes if "update" in write_ops else []:
            ids = all_ids[:size]
            name = f"update_{size}"
            for rep in range(repeats):
                frame = pd.DataFrame({"id": ids, "Description": f"scale benchmark {size} #{rep}"})
                paths = [
                    ("toolkit", partial(_toolkit_update, crm, frame)),
                    ("floor", partial(floor.update, ids, "Description", f"floor {size} #{rep}")),
                ]
                if seed is not None:
                    paths.append(("seed", partial(seed.bulk_update, ids, f"seed {size} #{rep}")))
                if batches:  # from BULK_WRITE_MIN the toolkit's own choice is one Bulk Write job
                    paths.append(("toolkit_batches", partial(_toolkit_batches, crm, frame)))
                for path, fn in _rotate(paths, rep):
                    timed(name, path, rep, fn)
                    if samples[-1]["records"] != len(ids):
                        raise RuntimeError(f"{path} {name}: {samples[-1]['records']} of {len(ids)} succeeded")
            progress(f"{name}: done")
        for op in [o for o in ("insert", "upsert") if o in write_ops]:
            for size in update_sizes:
                _create_workload(crm, floor, op, all_names[:size], repeats, timed, samples)
                progress(f"{op}_{size}: done")
        if plan_sizes:
            dsn = journal or _throwaway_journal(stack)
        for size in plan_sizes:
            _plan_workload(crm, floor, all_ids[:size], dsn, repeats, timed, samples)
            progress(f"plan_{size}: done")
        floor.close()
        if seed is not None:
            seed.close()
    finally:
        try:
            stack.close()
        finally:
            emu.stop()
    return ScaleResult(pd.DataFrame(samples), cpu, mem)


def _throwaway_journal(stack: ExitStack) -> str:
    """A PostgreSQL cluster for this run only (the machine's binaries, loopback), migrations applied."""
    from sergas_nb.edits.migrate import apply_migrations
    from sergas_nb.lab.pgcluster import ThrowawayPostgres

    root = Path(tempfile.mkdtemp(prefix="sergas-scale-pg-"))
    stack.callback(shutil.rmtree, root, ignore_errors=True)
    # As root the cluster runs as the postgres user, who must be able to enter the folder.
    root.chmod(0o755)
    pg = stack.enter_context(ThrowawayPostgres(root / "pg"))
    apply_migrations(pg.dsn)
    return pg.dsn


def _plan_workload(
    crm: Any,
    floor: FloorClient,
    ids: list[str],
    dsn: str,
    repeats: int,
    timed: Callable[[str, str, int, Callable[[], int]], None],
    samples: list[dict[str, Any]],
) -> None:
    """A journalled plan apply of one field on ``ids`` (and its undo right after), beside
    ``crm.update`` and the floor's update of the same records, in a rotating order."""
    from sergas_nb.edits.plans import EditPlan
    from sergas_nb.edits.runs import apply, undo

    name = f"plan_{len(ids)}"
    fields = crm.fields("Accounts")
    for rep in range(repeats):
        frame = pd.DataFrame({"id": ids, "Description": f"plan update {len(ids)} #{rep}"})

        def plan_then_undo(rep: int = rep) -> int:
            # Built (not timed) from the records as they are just before the apply: apply skips a
            # record changed since its plan was built, and the other paths change them all.
            current = crm.records_by_ids("Accounts", ids, fields=["Description"])
            plan = EditPlan.from_frame(current, "Description", f"plan {len(ids)} #{rep}", fields=fields)
            timed(name, "toolkit", rep, lambda: apply(crm, plan, journal=dsn, progress=False).succeeded)
            applied = int(samples[-1]["records"])
            timed(name, "toolkit_undo", rep, lambda: undo(crm, plan.plan_id, journal=dsn, progress=False).succeeded)
            return applied

        paths: list[tuple[str, Callable[[], int]]] = [
            ("toolkit", plan_then_undo),
            ("toolkit_update", partial(_toolkit_update, crm, frame)),
            ("floor", partial(floor.update, ids, "Description", f"plan floor {len(ids)} #{rep}")),
        ]
        for path, fn in _rotate(paths, rep):
            if path == "toolkit":
                fn()
                checks = samples[-2:]
            else:
                timed(name, path, rep, fn)
                checks = samples[-1:]
            for sample in checks:
                if sample["records"] != len(ids):
                    raise RuntimeError(f"{sample['path']} {name}: {sample['records']} of {len(ids)} succeeded")


def _create_workload(
    crm: Any,
    floor: FloorClient,
    op: str,
    names: list[str],
    repeats: int,
    timed: Callable[[str, str, int, Callable[[], int]], None],
    samples: list[dict[str, Any]],
) -> None:
    """Inserts of new accounts (the toolkit without ``key=``: its duplicate-check field,
    Account_Name, is the default) or upserts of existing ones matched on Account_Name, toolkit
    beside the floor, in a rotating order."""
    size = len(names)
    name = f"{op}_{size}"

    def rows(path: str, rep: int) -> list[dict[str, Any]]:
        if op == "insert":
            return [{"Account_Name": f"scale {path} {size} #{rep} {i}"} for i in range(size)]
        return [{"Account_Name": n, "Description": f"{path} upsert {size} #{rep}"} for n in names]

    def toolkit(frame: pd.DataFrame) -> int:
        if op == "insert":
            return _succeeded(crm.insert("Accounts", frame))
        return _succeeded(crm.upsert("Accounts", frame, duplicate_check_fields=["Account_Name"]))

    for rep in range(repeats):
        paths: list[tuple[str, Callable[[], int]]] = [
            ("toolkit", partial(toolkit, pd.DataFrame(rows("toolkit", rep)))),
            ("floor", partial(floor.create, rows("floor", rep), upsert=op == "upsert")),
        ]
        for path, fn in _rotate(paths, rep):
            timed(name, path, rep, fn)
            if samples[-1]["records"] != size:
                raise RuntimeError(f"{path} {name}: {samples[-1]['records']} of {size} succeeded")


def _toolkit_read(crm: Any) -> int:
    return len(crm.records("Accounts", progress=False))


def _toolkit_read_cold(crm: Any, names: list[str]) -> int:
    """``records(fields=...)`` with the module's metadata forgotten: the metadata call is part of it."""
    crm.refresh_metadata("Accounts")
    return len(crm.records("Accounts", fields=names, progress=False))


def _floor_read(floor: FloorClient, n: int) -> int:
    return len(floor.read(n))


def _succeeded(result: Any) -> int:
    # The outcome table is built when first read; a user sees it, so it is part of the cost.
    return int((result.records["status"] == "success").sum())


def _toolkit_update(crm: Any, frame: pd.DataFrame) -> int:
    return _succeeded(crm.update("Accounts", frame))


def _toolkit_batches(crm: Any, frame: pd.DataFrame) -> int:
    return _succeeded(crm.update("Accounts", frame, method="batches"))


def _rotate(items: list[Any], k: int) -> list[Any]:
    k %= len(items)
    return items[k:] + items[:k]


def _cpu(crm: Any, floor: FloorClient, n: int) -> dict[str, float]:
    """Client CPU per 1,000 records (medians of 5, the two sides taking turns; with 3 the
    ratio moved from 1.15 to 1.54 between runs of one build): the toolkit's whole read (HTTP and threads
    included) against json.loads + pd.DataFrame of the floor's answers for the same records; and
    ``typing_ratio``: the toolkit's parsing and typing alone (the same answers, no HTTP) against
    the same baseline."""
    from sergas_nb import frames
    from sergas_nb._gc import gc_paused
    from sergas_nb._reads import coql_columns

    meta = crm.field_metadata("Accounts")
    names = [f["api_name"] for f in meta]
    shape, _ = coql_columns(meta, names)
    aliases = shape.aliases if shape is not None else None
    tk, raw, typing = [], [], []
    for _ in range(5):
        gc.collect()
        t = time.process_time()
        df = crm.records("Accounts", progress=False)
        tk.append(time.process_time() - t)
        floor.read(n)
        bodies = floor.bodies
        # Each side starts from a collected heap, and the raw side runs with cyclic GC off, as
        # the toolkit's read and typing do: with the collector on, its figure moved from 20 to
        # 31 ms per 1,000 between runs of one build.
        gc.collect()
        t = time.process_time()
        with gc_paused():
            rows: list[dict[str, Any]] = []
            for b in bodies:
                rows.extend(json.loads(b).get("data") or [])
            pd.DataFrame(rows)
        raw.append(time.process_time() - t)
        del rows, df
        gc.collect()
        t = time.process_time()
        with gc_paused():
            chunks = [frames.to_frame(orjson.loads(b).get("data") or [], meta, names, aliases=aliases) for b in bodies]
            frames.concat_frames(chunks, meta, names)
        typing.append(time.process_time() - t)
        del chunks
    per_k = 1000 / n
    toolkit_ms, raw_ms = statistics.median(tk) * per_k * 1000, statistics.median(raw) * per_k * 1000
    typing_ms = statistics.median(typing) * per_k * 1000
    return {
        "records": n,
        "toolkit_ms_per_1k": round(toolkit_ms, 2),
        "raw_ms_per_1k": round(raw_ms, 2),
        "ratio": round(toolkit_ms / raw_ms, 2),
        "typing_ms_per_1k": round(typing_ms, 2),
        "typing_ratio": round(typing_ms / raw_ms, 2),
    }


def _memory(creds: Any, n: int) -> dict[str, float]:
    """Peak memory growth of one toolkit read in a fresh process, against the frame's own size."""
    env = dict(os.environ, SCALE_CREDS=json.dumps(vars(creds)))
    out = subprocess.run(
        [sys.executable, "-m", "sergas_nb.benchmarking.scale", "--child-memory", str(n)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def _vm(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def child_memory(n: int) -> dict[str, float]:
    """Run in a fresh process: RSS high-water mark growth over one read."""
    import gc

    from sergas_nb import connect

    creds = SimpleNamespace(**json.loads(os.environ["SCALE_CREDS"]))
    crm = connect(emulator=creds, env_file=None)
    crm.records("Accounts", limit=200, progress=False)  # metadata, imports, connections
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the high-water mark (VmHWM) to the current RSS
    except OSError:
        pass
    base = _vm("VmRSS")
    df = crm.records("Accounts", progress=False)
    peak = _vm("VmHWM")
    size = int(df.memory_usage(deep=True).sum())
    crm.close()
    return {
        "records": n,
        "rows": len(df),
        "frame_mb": round(size / 2**20, 1),
        "peak_growth_mb": round((peak - base) / 2**20, 1),
        "ratio": round((peak - base) / size, 2),
    }


if __name__ == "__main__" and "--child-memory" in sys.argv:
    print(json.dumps(child_memory(int(sys.argv[sys.argv.index("--child-memory") + 1]))))
