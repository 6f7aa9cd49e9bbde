"""Statistics over timing samples: percentiles, summaries, records per second, ratios, key figures."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

# ------------------------------------------------------------------------------------------
# Statistics
# ------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between closest ranks.

    Same definition as ``numpy.percentile(..., method="linear")``; with few repeats p95 lies
    between the two slowest samples, so it never claims more precision than the data has.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0..100, got {q}")
    xs = sorted(float(v) for v in values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    p95: float
    minimum: float
    maximum: float


def summarize(samples: Sequence[float]) -> Summary:
    """Median, p95, min and max of timing samples (seconds)."""
    if not samples:
        raise ValueError("no samples to summarize")
    return Summary(
        len(samples),
        float(statistics.median(samples)),
        percentile(samples, 95),
        float(min(samples)),
        float(max(samples)),
    )


def records_per_second(records: int, seconds: float) -> float:
    """Throughput; zero-time samples (clock resolution) count as infinitely fast, which we refuse."""
    if seconds <= 0:
        raise ValueError(f"non-positive duration {seconds!r}: the timer cannot measure this")
    return records / seconds


def summary_table(raw: pd.DataFrame) -> pd.DataFrame:
    """One row per (path, op, size): median/p95 seconds and records per second.

    ``records_per_s`` is computed from the median time, ``records_per_s_p95`` from the p95 time
    (the rate of a slow run), so the second is never higher than the first.
    """
    rows = []
    for (path, op, size), g in raw.groupby(["path", "op", "size"], sort=False):
        s = summarize(list(g["seconds"]))
        records = int(g["records"].iloc[0])
        rows.append(
            {
                "path": path,
                "op": op,
                "size": int(size),
                "records": records,
                "repeats": s.n,
                "median_s": s.median,
                "p95_s": s.p95,
                "records_per_s": records_per_second(records, s.median),
                "records_per_s_p95": records_per_second(records, s.p95),
            }
        )
    return pd.DataFrame(rows)


def ratio_table(summary: pd.DataFrame, numerator: str, denominator: str) -> pd.DataFrame:
    """records_per_s of ``numerator`` over ``denominator`` for every (op, size) both measured.

    A ratio above 1 means ``numerator`` handled more records per second.
    """
    piv = summary.pivot_table(index=["op", "size"], columns="path", values="records_per_s")
    if numerator not in piv or denominator not in piv:
        return pd.DataFrame(columns=["op", "size", "ratio"])
    out = (piv[numerator] / piv[denominator]).dropna().rename("ratio").reset_index()
    return out


def key_figures(summary: pd.DataFrame, verdict: str | None = None) -> dict[str, Any]:
    """The numbers the notebook prints as its last line (and the tests assert on).

    ``records_per_s[path][op]`` is at the largest size measured for that op; ratios compare
    paths at that same size.
    """
    out: dict[str, Any] = {"records_per_s": {}, "median_s": {}, "size": {}}
    for op, g in summary.groupby("op", sort=False):
        size = int(g["size"].max())
        out["size"][op] = size
        for _, r in g[g["size"] == size].iterrows():
            out["records_per_s"].setdefault(r["path"], {})[op] = round(float(r["records_per_s"]), 2)
            out["median_s"].setdefault(r["path"], {})[op] = round(float(r["median_s"]), 4)
    for key, (a, b) in {
        "sdk_vs_rest": ("seed_sdk", "rest"),
        "toolkit_vs_sdk": ("toolkit", "seed_sdk"),
        "toolkit_vs_rest": ("toolkit", "rest"),
    }.items():
        rps = out["records_per_s"]
        if a in rps and b in rps:
            out[key] = {op: round(rps[a][op] / rps[b][op], 3) for op in rps[a] if op in rps[b]}
    if verdict is not None:
        out["verdict"] = verdict
    return out
