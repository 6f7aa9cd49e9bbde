"""Whole modules and large edits at the API's speed: toolkit vs a floor client vs the seed guide's path.

    python benchmarks/scale.py            # reads of 2,000, 20,000 and 100,000 accounts; updates of
                                          # 200, 2,000 and 4,999 (batches) and 10,000 (Bulk Write);
                                          # a journalled plan apply of 2,000
    python benchmarks/scale.py --quick    # reads of 2,000 and 20,000; update 2,000; plan 2,000
    python benchmarks/scale.py --smoke    # seconds: small sizes, one repeat (the suite runs it)
    python benchmarks/scale.py --quick --no-seed --only writes,plan --ops update,insert,upsert \
        --write-sizes 200,2000,4999       # the batch writes and the plan alone, with client CPU
    python benchmarks/scale.py --quick --no-seed --no-memory --only plan --plan-sizes 2000,4999
    python benchmarks/scale.py --quick --only reads --no-seed   # the reads alone (CPU, memory)

The emulator runs in its own process (``sergas-nb emulator``: 0.1 s per call + 0.2 ms per record,
concurrency 20 / sub-concurrency 10; ``--smoke`` uses 10 ms per call). The plan's journal is a
throwaway PostgreSQL cluster started for the run from the machine's binaries. See
sergas_nb/benchmarking/scale.py for the paths. Prints the table of medians and ratios, then, as its
last line, one JSON object:
{"workloads": {name: {"toolkit_s", "floor_s", "seed_s", "ratio_to_floor", "speedup_vs_seed", ...}},
 "cpu_per_1k_ratio", "mem_ratio_100k", ...}. ``mem_ratio_100k`` is measured on the largest read run
(``memory.records`` says which: 20,000 with --quick). A plan's row also has ``toolkit_update_s``
(``crm.update`` of the same records), ``toolkit_undo_s`` and ``ratio_to_update`` and ``undo_ratio_to_update``.
"""

from __future__ import annotations

import argparse
import json
import sys

FULL = {"reads": (2000, 20000, 100000), "updates": (200, 2000, 4999, 10000), "plan": 2000}
QUICK = {"reads": (2000, 20000), "updates": (2000,), "plan": 2000}
# Still past 2,000 records (the read's COQL part runs) and below Bulk Write: every path, in seconds.
SMOKE = {"reads": (2050,), "updates": (100,), "plan": 100}
SMOKE_LATENCY = (0.01, 0.00002)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="reads of 2,000 and 20,000, update 2,000, plan 2,000")
    ap.add_argument("--smoke", action="store_true", help="small sizes, one repeat: a check that it runs")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-seed", action="store_true", help="skip the seed guide's serial SDK path")
    ap.add_argument("--no-memory", action="store_true", help="skip the child-process memory measurement")
    ap.add_argument("--no-plan", action="store_true", help="skip the journalled plan apply (needs PostgreSQL)")
    ap.add_argument(
        "--only",
        default="reads,writes,plan",
        help="comma-separated parts to run: reads, writes, plan (default: all)",
    )
    ap.add_argument(
        "--ops",
        default="update",
        help="writes to measure at each update size: update, insert, upsert (comma-separated)",
    )
    ap.add_argument("--write-sizes", default=None, help="comma-separated write sizes instead of the mode's")
    ap.add_argument("--plan-sizes", default=None, help="comma-separated plan sizes instead of the mode's")
    args = ap.parse_args(argv)
    only = {p.strip() for p in args.only.split(",") if p.strip()}
    ops = tuple(o.strip() for o in args.ops.split(",") if o.strip())
    if not only <= {"reads", "writes", "plan"} or not set(ops) <= {"update", "insert", "upsert"}:
        ap.error("--only takes reads, writes, plan; --ops takes update, insert, upsert")

    from sergas_nb.benchmarking.scale import LATENCY_FIXED, LATENCY_PER_RECORD, run_scale

    sizes = SMOKE if args.smoke else QUICK if args.quick else FULL
    latency = SMOKE_LATENCY if args.smoke else (LATENCY_FIXED, LATENCY_PER_RECORD)
    repeats = 1 if args.smoke else args.repeats
    write_sizes = tuple(int(n) for n in args.write_sizes.split(",")) if args.write_sizes else sizes["updates"]
    plan_sizes = tuple(int(n) for n in args.plan_sizes.split(",")) if args.plan_sizes else (sizes["plan"],)
    result = run_scale(
        sizes["reads"] if "reads" in only else (),
        write_sizes if "writes" in only else (),
        repeats,
        seed_path=not args.no_seed,
        memory=not args.no_memory,
        latency=latency,
        progress=print,
        plan_size=None if args.no_plan or "plan" not in only else plan_sizes,
        write_ops=ops,
    )
    print()
    print(
        f"medians of {repeats} (seconds); emulator {latency[0]} s/call + {latency[1] * 1000:g} ms/record, "
        "concurrency 20/10"
    )
    print(result.table().to_string())
    print(f"client CPU per 1,000 records: {result.cpu}")
    print(f"peak memory of the largest read: {result.memory}")
    print(json.dumps(result.summary()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
