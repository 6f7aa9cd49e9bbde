"""The report a sync returns: one row per module (added, changed, deleted, API calls, credits, seconds,
strategy, watermark), counted from the client's own ``metrics()``."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

COLUMNS = ["module", "added", "changed", "deleted", "calls", "credits", "seconds", "strategy", "watermark"]
# Zoho's credit costs (../shared/reference/zoho-crm-v8.md, "Limits"): most calls 1; a COQL call of
# LIMIT 1001-2000 (what the client asks) 3; a Bulk Write job about 500.
_COQL_CREDITS = 3
_BULK_WRITE_CREDITS = 500


@dataclass
class ModuleReport:
    module: str
    added: int = 0
    changed: int = 0
    deleted: int = 0
    calls: int = 0
    credits: int = 0
    seconds: float = 0.0
    strategy: str = ""
    watermark: str | None = None


def usage(metrics: pd.DataFrame, since: pd.Timestamp) -> tuple[int, int]:
    """(HTTP calls, credits) the client made since ``since``: each call and each retry of it."""
    calls = metrics[(metrics["kind"] == "call") & (metrics["at"] >= since) & (metrics["operation"] != "connect")]
    n = int(len(calls) + calls["retries"].fillna(0).sum())
    credits = 0
    for op, retries in zip(calls["operation"].astype(str), calls["retries"].fillna(0), strict=True):
        each = _COQL_CREDITS if "coql" in op else _BULK_WRITE_CREDITS if "bulk_write" in op else 1
        credits += each * (1 + int(retries))
    return n, credits


def frame(rows: list[ModuleReport]) -> pd.DataFrame:
    df = pd.DataFrame([r.__dict__ for r in rows], columns=COLUMNS)
    return df.astype(
        {
            "module": "string",
            "added": "Int64",
            "changed": "Int64",
            "deleted": "Int64",
            "calls": "Int64",
            "credits": "Int64",
            "seconds": "Float64",
            "strategy": "string",
            "watermark": "string",
        }
    )
