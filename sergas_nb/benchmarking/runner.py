"""Running a benchmark: the plan, the warm-up and the timed loop over every path."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from sergas_nb.benchmarking.operations import OPS, WRITE_OPS, BenchmarkError, BenchPath

# ------------------------------------------------------------------------------------------
# Running
# ------------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What to run: sizes x ops x repeats over the given paths."""

    sizes: Sequence[int]
    ops: Sequence[str] = OPS
    repeats: int = 3
    single_update_max: int = 50  # one HTTP call per record: cap it so large sizes stay affordable
    extra_points: Sequence[tuple[str, int]] = field(default_factory=tuple)  # (op, size) measured besides

    def points(self) -> list[tuple[str, int]]:
        """(op, size) pairs in run order, without duplicates.

        A single-update point's size is its capped record count, so sizes above the cap are
        measured once, not once per size.
        """
        wanted = [(op, int(size)) for size in self.sizes for op in self.ops]
        wanted += [(op, int(size)) for op, size in self.extra_points if op in self.ops]
        return list(dict.fromkeys((op, self.records_for(op, size)) for op, size in wanted))

    def records_for(self, op: str, size: int) -> int:
        return min(size, self.single_update_max) if op == "update" else size


def _call(path: BenchPath, op: str, n: int, ids: Sequence[str], value: str) -> int:
    if op == "update":
        return path.update(ids[:n], value)
    if op == "bulk_update":
        return path.bulk_update(ids[:n], value)
    return getattr(path, op)(n)


def warm_up(paths: Sequence[BenchPath], ids: Sequence[str]) -> None:
    """One small untimed call per op: field metadata downloads and connection set-up happen here."""
    for p in paths:
        p.read(5)
        p.search(5)
        p.coql(5)
        if ids:
            p.update(ids[:1], "benchmark warm-up")
            p.bulk_update(ids[:2], "benchmark warm-up")


def run(
    paths: Sequence[BenchPath],
    plan: Plan,
    ids: Sequence[str],
    progress: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> pd.DataFrame:
    """Time every (op, size) of ``plan`` through every path, ``plan.repeats`` times.

    Paths take turns inside each repeat, in a rotating order, so a slow spell of the machine
    hits all of them alike. A path that handles fewer records than asked raises: a rate
    computed over missing work would flatter it.
    """
    for op in plan.ops:
        if op not in OPS:
            raise BenchmarkError(f"unknown operation {op!r}; expected one of {', '.join(OPS)}")
    needed = max((plan.records_for(op, s) for op, s in plan.points() if op in WRITE_OPS), default=0)
    if needed > len(ids):
        raise BenchmarkError(f"the write benchmarks need {needed} record ids, only {len(ids)} were given")
    rows = []
    for op, size in plan.points():
        n = plan.records_for(op, size)
        for rep in range(plan.repeats):
            order = list(paths[rep % len(paths) :]) + list(paths[: rep % len(paths)])
            for p in order:
                value = f"benchmark {p.name} {op} {size} #{rep}"
                t0 = clock()
                got = _call(p, op, n, ids, value)
                seconds = clock() - t0
                if got != n:
                    raise BenchmarkError(
                        f"{p.name} {op}: asked for {n} records, handled {got}", {"path": p.name, "op": op, "size": size}
                    )
                rows.append({"path": p.name, "op": op, "size": size, "repeat": rep, "records": got, "seconds": seconds})
        if progress:
            progress(f"{op} x {size}: done")
    return pd.DataFrame(rows)
