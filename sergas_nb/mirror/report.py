"""The report a sync returns: one row per module (added, changed, deleted, API calls, credits, seconds,
strategy, watermark), counted from the client's own ``metrics()``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from sergas_nb._metrics import Event

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


def usage(events: Sequence[Event]) -> tuple[int, int]:
    """(HTTP calls, credits) of these ``metrics()`` events: each call and each retry of it."""
    n = credits = 0
    for e in events:
        if e.kind != "call" or e.operation == "connect":
            continue
        tries = 1 + int(e.retries or 0)
        each = _COQL_CREDITS if "coql" in e.operation else _BULK_WRITE_CREDITS if "bulk_write" in e.operation else 1
        n += tries
        credits += each * tries
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
