"""The local mirror against reading the module again (issue 17's table).

    python benchmarks/mirror.py [--quick | --smoke] [--accounts N]

The emulator runs in its own process (``sergas-nb emulator``: 0.1 s per call + 0.2 ms per record),
100,000 accounts (``--quick``: 20,000; ``--smoke``: 1,000 and no latency, seconds). Measured on
Accounts and Deals (Accounts' Open_Deals_Amount rollup sums its open deals, so the mirror holds both):
a full ``crm.records`` read of both; the first sync; a re-sync with nothing changed (the rollups follow
the Deals sync; and with Deals not mirrored, where Accounts' rollup is re-read whole); a re-sync after 1%
of the accounts changed (the newest, as edits tend to be) and 0.1% were deleted, and after 1% changed spread
evenly over the ids; ``m.frame("Accounts")`` from disk (median of 3, beside DuckDB's
read of the table to Arrow alone); the sync's peak memory (tracemalloc and RSS growth in a fresh process)
against the frame's size. Prints a table, then one JSON line with each figure and ratio.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from types import SimpleNamespace
from typing import Any

from sergas_nb import connect
from sergas_nb.benchmarking.scale import EmulatorProcess
from sergas_nb.mirror import Mirror

MODULES = ["Accounts", "Deals"]


def _timed(fn: Any) -> tuple[float, Any]:
    # Every timed step (the full reads it is compared with included) starts from a collected heap,
    # as in timeit and pyperf: a full collection the set-up's garbage sets off (the update and
    # delete before the 1% re-sync: 0.15-0.18 s over the 165,000 objects the imports left) is not
    # charged to the step after it. The step's own collections still count.
    gc.collect()
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _table_arrow(m: Mirror, module: str) -> Any:
    """The module's table as Arrow, nothing else: the part of ``frame()`` DuckDB does."""
    from sergas_nb.mirror import write

    with m.store.read() as con:
        return write._arrow(con, f'SELECT * FROM "{module}"')


def _child_rss(creds: Any) -> dict[str, float]:
    """A first sync in a fresh process: its RSS high-water mark growth (VmHWM, reset before)."""
    env = dict(os.environ, SCALE_CREDS=json.dumps(vars(creds)))
    done = subprocess.run(
        [sys.executable, __file__, "--child-rss"], env=env, capture_output=True, text=True, check=True
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def child_rss() -> dict[str, float]:
    from sergas_nb.benchmarking.scale import _vm

    crm = connect(emulator=SimpleNamespace(**json.loads(os.environ["SCALE_CREDS"])), env_file=None)
    crm.records("Accounts", limit=200, progress=False)  # imports, metadata, connections
    crm.records("Deals", limit=200, progress=False)
    with tempfile.TemporaryDirectory() as d:
        with Mirror(crm, d) as warm:  # DuckDB loaded
            warm.sql("select 1")
        gc.collect()
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # the high-water mark back to the current RSS
        except OSError:
            pass
        base = _vm("VmRSS")
        with Mirror(crm, d) as m:
            m.sync(MODULES, progress=False)
        peak = _vm("VmHWM")
    crm.close()
    return {"growth_mb": round((peak - base) / 1e6, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20,000 accounts")
    ap.add_argument("--smoke", action="store_true", help="1,000 accounts, no latency: seconds")
    ap.add_argument("--accounts", type=int, default=None)
    ap.add_argument("--child-rss", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_rss:
        print(json.dumps(child_rss()))
        return 0
    n = args.accounts or (1000 if args.smoke else 20_000 if args.quick else 100_000)
    latency = (0.0, 0.0) if args.smoke else (0.1, 0.0002)
    emu = EmulatorProcess(n, latency=latency)
    out: dict[str, Any] = {"accounts": n}
    try:
        crm = connect(emulator=emu.creds, env_file=None)
        records_s, df = _timed(lambda: crm.records("Accounts", progress=False))
        deals_s, deals = _timed(lambda: crm.records("Deals", progress=False))
        records_s += deals_s
        out["records_s"] = round(records_s, 3)
        frame_mb = (df.memory_usage(deep=True).sum() + deals.memory_usage(deep=True).sum()) / 1e6
        out["frame_mb"] = round(frame_mb, 1)
        del df, deals
        with tempfile.TemporaryDirectory() as d, Mirror(crm, d) as m:
            tracemalloc.start()  # a sync of its own: tracing slows the one that is timed
            m.sync(MODULES, progress=False)
            peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
        rss = _child_rss(emu.creds)  # what tracemalloc misses: Arrow's and DuckDB's own allocations
        out.update(sync_rss_growth_mb=rss["growth_mb"], rss_ratio=round(rss["growth_mb"] / frame_mb, 2))
        with tempfile.TemporaryDirectory() as d, Mirror(crm, d) as m:
            first_s, rep = _timed(lambda: m.sync(MODULES, progress=False))
            out.update(first_sync_s=round(first_s, 3), first_sync_calls=int(rep["calls"].sum()))
            out["first_sync_ratio"] = round(first_s / records_s, 2)
            out["sync_peak_mb"] = round(peak, 1)
            out["peak_ratio"] = round(peak / frame_mb, 2)
            resync_s, rep = _timed(lambda: m.sync(MODULES, progress=False))
            out.update(
                resync_unchanged_s=round(resync_s, 3),
                resync_unchanged_calls=int(rep["calls"].sum()),
                resync_unchanged_max_calls=int(rep["calls"].max()),
            )
            with Mirror(crm, d, modules=["Accounts"]) as alone:  # Deals not mirrored: the rollup re-read whole
                resync_s, rep = _timed(lambda: alone.sync(["Accounts"], progress=False))
            out.update(
                resync_unchanged_accounts_only_s=round(resync_s, 3),
                resync_unchanged_accounts_only_calls=int(rep["calls"].sum()),
            )
            ids = list(m.frame("Accounts")["id"])
            changed, deleted = ids[: max(1, n // 100)], ids[-max(1, n // 1000) :]
            crm.update("Accounts", [{"id": i, "Phone": "555-0100"} for i in changed])
            crm.delete("Accounts", deleted)
            delta_s, rep = _timed(lambda: m.sync(MODULES, progress=False))
            out.update(
                resync_1pct_s=round(delta_s, 3),
                resync_1pct_calls=int(rep["calls"].sum()),
                resync_1pct_changed=int(rep["changed"][0]),
                resync_1pct_deleted=int(rep["deleted"][0]),
                resync_1pct_pages=-(-len(changed) // 200),
                resync_1pct_ratio=round(delta_s / records_s, 3),
            )
            # The same share of changes spread evenly over the ids rather than on the newest records
            # (the read below the first page is cut differently; beside the table, not a target).
            # First a sync that starts three seconds after those edits (untimed): the one above began
            # within their second, so it must read them again (a write of that second may follow it).
            time.sleep(3.1)
            m.sync(MODULES, progress=False)
            spread = ids[:: max(1, len(ids) // max(1, n // 100))][: max(1, n // 100)]
            crm.update("Accounts", [{"id": i, "Phone": "555-0101"} for i in spread], progress=False)
            spread_s, rep = _timed(lambda: m.sync(MODULES, progress=False))
            out.update(
                resync_1pct_spread_s=round(spread_s, 3),
                resync_1pct_spread_calls=int(rep["calls"].sum()),
                resync_1pct_spread_changed=int(rep["changed"][0]),
                resync_1pct_spread_ratio=round(spread_s / records_s, 3),
            )
            # median of 3, each beside a read of the same table to Arrow alone (DuckDB's part of it)
            frame_runs, fetch_runs = [], []
            for _ in range(3):
                frame_runs.append(_timed(lambda: m.frame("Accounts"))[0])
                fetch_runs.append(_timed(lambda: _table_arrow(m, "Accounts"))[0])
            out["frame_from_disk_s"] = round(statistics.median(frame_runs), 3)
            out["frame_duckdb_arrow_s"] = round(statistics.median(fetch_runs), 3)
        crm.close()
    finally:
        emu.stop()
    rows = [
        ("crm.records (full read, Accounts + Deals)", f"{out['records_s']:.2f} s", ""),
        ("first sync", f"{out['first_sync_s']:.2f} s", f"{out['first_sync_ratio']}x records (target <= 1.3x)"),
        (
            "re-sync, nothing changed (Accounts + Deals)",
            f"{out['resync_unchanged_s']:.2f} s, {out['resync_unchanged_calls']} calls",
            f"at most {out['resync_unchanged_max_calls']} a module (target <= 2 calls a module, < 1 s)",
        ),
        (
            "re-sync, nothing changed, Deals not mirrored",
            f"{out['resync_unchanged_accounts_only_s']:.2f} s, {out['resync_unchanged_accounts_only_calls']} calls",
            "Accounts' rollup re-read whole (no child sync to follow)",
        ),
        (
            "re-sync after 1% changed, 0.1% deleted",
            f"{out['resync_1pct_s']:.2f} s, {out['resync_1pct_calls']} calls",
            f"{out['resync_1pct_pages']} changed pages; {out['resync_1pct_ratio']:.1%} of a full read (target <= 5%)",
        ),
        (
            "re-sync after 1% changed, spread evenly over the ids",
            f"{out['resync_1pct_spread_s']:.2f} s, {out['resync_1pct_spread_calls']} calls",
            f"{out['resync_1pct_spread_changed']} changed; {out['resync_1pct_spread_ratio']:.1%} of a full read",
        ),
        (
            'm.frame("Accounts") from disk (median of 3)',
            f"{out['frame_from_disk_s']:.2f} s",
            f"target <= 0.5 s at 100,000; of it DuckDB's table to Arrow alone: {out['frame_duckdb_arrow_s']:.2f} s",
        ),
        (
            "peak memory of the first sync (tracemalloc: Python objects only)",
            f"{out['sync_peak_mb']} MB",
            f"{out['peak_ratio']}x the frames (target <= 2.5x)",
        ),
        (
            "peak memory of the first sync (RSS growth, fresh process)",
            f"{out['sync_rss_growth_mb']} MB",
            f"{out['rss_ratio']}x the frames ({out['frame_mb']} MB; target <= 2.5x)",
        ),
    ]
    print(f"| measurement ({n:,} accounts) | result | note |\n|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
