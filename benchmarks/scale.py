"""Whole modules and large edits at the API's speed: toolkit vs a floor client vs the seed guide's path.

    python benchmarks/scale.py            # reads of 2,000, 20,000 and 100,000 accounts; update 10,000
    python benchmarks/scale.py --quick    # reads of 2,000 and 20,000; update 2,000

The emulator runs in its own process (``sergas-nb emulator``: 0.1 s per call + 0.2 ms per record,
concurrency 20 / sub-concurrency 10). See sergas_nb/benchmarking/scale.py for the three paths.
Prints the table of medians and ratios, then, as its last line, one JSON object:
{"workloads": {name: {"toolkit_s", "floor_s", "seed_s", "ratio_to_floor", "speedup_vs_seed"}},
 "cpu_per_1k_ratio", "mem_ratio_100k", ...}. ``mem_ratio_100k`` is measured on the largest read run
(``memory.records`` says which: 20,000 with --quick).
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="reads of 2,000 and 20,000, update 2,000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-seed", action="store_true", help="skip the seed guide's serial SDK path")
    ap.add_argument("--no-memory", action="store_true", help="skip the child-process memory measurement")
    args = ap.parse_args(argv)

    from sergas_nb.benchmarking.scale import run_scale

    sizes, update = ((2000, 20000), 2000) if args.quick else ((2000, 20000, 100000), 10000)
    result = run_scale(
        sizes, update, args.repeats, seed_path=not args.no_seed, memory=not args.no_memory, progress=print
    )
    print()
    print(f"medians of {args.repeats} (seconds); emulator 0.1 s/call + 0.2 ms/record, concurrency 20/10")
    print(result.table().to_string())
    print(f"client CPU per 1,000 records: {result.cpu}")
    print(f"peak memory of the largest read: {result.memory}")
    print(json.dumps(result.summary()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
