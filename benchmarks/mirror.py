"""The local mirror against reading the module again (issue 17's table).

    python benchmarks/mirror.py [--quick | --smoke] [--accounts N]

The emulator runs in its own process (``sergas-nb emulator``: 0.1 s per call + 0.2 ms per record),
100,000 accounts (``--quick``: 20,000; ``--smoke``: 1,000 and no latency, seconds). Measured on
Accounts and Deals (Accounts' Open_Deals_Amount rollup sums its open deals, so the mirror holds both):
a full ``crm.records`` read of both; the first sync; a re-sync with nothing changed (the rollups follow
the Deals sync; and with Deals not mirrored, where Accounts' rollup is re-read whole); a re-sync after 1%
of the accounts changed and 0.1% were deleted; ``m.frame("Accounts")`` from disk; the sync's peak memory (tracemalloc)
against the frame's size. Prints a table, then one JSON line with each figure and ratio.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
from typing import Any

from sergas_nb import connect
from sergas_nb.benchmarking.scale import EmulatorProcess
from sergas_nb.mirror import Mirror

MODULES = ["Accounts", "Deals"]


def _timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20,000 accounts")
    ap.add_argument("--smoke", action="store_true", help="1,000 accounts, no latency: seconds")
    ap.add_argument("--accounts", type=int, default=None)
    args = ap.parse_args(argv)
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
            frame_s, _ = _timed(lambda: m.frame("Accounts"))
            out["frame_from_disk_s"] = round(frame_s, 3)
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
        ('m.frame("Accounts") from disk', f"{out['frame_from_disk_s']:.2f} s", "target <= 0.5 s at 100,000"),
        (
            "peak memory of the first sync",
            f"{out['sync_peak_mb']} MB",
            f"{out['peak_ratio']}x the frame (target <= 2.5x)",
        ),
    ]
    print(f"| measurement ({n:,} accounts) | result | note |\n|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
