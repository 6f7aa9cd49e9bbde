"""The seed guide's claims held against a run: its published timings and "the SDK is 30-40% faster
than REST"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

# ------------------------------------------------------------------------------------------
# The seed guide's published figures
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedFigure:
    label: str
    op: str
    records: int
    seconds: float

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds


SEED_FIGURES: tuple[SeedFigure, ...] = (
    SeedFigure("Get 100 accounts", "read", 100, 1.2),
    SeedFigure("Bulk read 200 records", "read", 200, 2.1),  # the seed's "bulk read" is one page of get_records
    SeedFigure("Bulk update 150 records", "bulk_update", 150, 3.8),
    SeedFigure("Search 50 accounts", "search", 50, 0.9),
)


def sdk_claim_verdict(ratios: dict[str, float], low: float = 1.30, high: float = 1.40) -> str:
    """Plain-words verdict on "the SDK is 30-40% faster than REST".

    ``ratios`` maps an operation to SDK records/s divided by REST records/s (same run, same
    server, same latency). The claim holds for an operation whose ratio is at least ``low``;
    below 1 the SDK was slower.
    """
    if not ratios:
        return "No operation was measured through both the SDK and REST, so the claim was not tested."
    held = sorted(op for op, r in ratios.items() if r >= low)
    slower = sorted(op for op, r in ratios.items() if r < 1)
    parts = [f"{op}: SDK {_pct(r)}" for op, r in sorted(ratios.items())]
    if len(held) == len(ratios):
        head = "The claim holds here: the SDK was at least 30% faster than plain REST for every operation."
    elif not held and len(slower) == len(ratios):
        head = (
            "The claim does not hold: the SDK was slower than plain REST (one requests.Session) for "
            "every operation measured."
        )
    elif not held:
        head = "The claim does not hold: the SDK was never 30% faster than plain REST."
    else:
        head = (
            f"The claim holds only for {', '.join(held)}; "
            f"{'the SDK was slower for ' + ', '.join(slower) if slower else 'not for the rest'}."
        )
    return head + " Measured (SDK vs REST, records per second): " + "; ".join(parts) + "."


def _pct(ratio: float) -> str:
    if ratio >= 1:
        return f"{(ratio - 1) * 100:.0f}% faster"
    return f"{(1 - ratio) * 100:.0f}% slower ({1 / ratio:.1f}x the time)"


def seed_comparison(summary: pd.DataFrame) -> pd.DataFrame:
    """The seed's published figures beside this run's median for each path at the same size."""
    rows = []
    for fig in SEED_FIGURES:
        row: dict[str, Any] = {
            "operation": fig.label,
            "seed_s": fig.seconds,
            "seed_records_per_s": round(fig.records_per_s, 1),
        }
        hit = summary[(summary["op"] == fig.op) & (summary["size"] == fig.records)]
        for _, r in hit.iterrows():
            row[f"{r['path']}_s"] = round(float(r["median_s"]), 3)
            row[f"{r['path']}_records_per_s"] = round(float(r["records_per_s"]), 1)
        rows.append(row)
    return pd.DataFrame(rows)
