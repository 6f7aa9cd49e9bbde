"""What applying or undoing a plan gives back (:class:`ApplyResult`, an outcome table like the
client's ``WriteResult``), and the constants plans and runs share. Its own module, so that
``plans`` (which builds plans and sends them through ``runs``) and ``runs`` need not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from sergas_nb._outcomes import OutcomeTable

MAX_BATCH = 100  # Zoho's limit for one update call
RESULT_COLUMNS = ["id", "field", "old", "new", "status", "code", "message"]
OnConflict = Literal["skip", "overwrite"]


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """Rows as a frame: old/new stay JSON-native objects (None stays None, not NaN); text as string."""
    index = pd.RangeIndex(len(rows))
    return pd.DataFrame(
        {
            c: pd.Series([r.get(c) for r in rows], index=index, dtype=object if c in ("old", "new") else "string")
            for c in columns
        },
        index=index,
    )


@dataclass
class ApplyResult(OutcomeTable):
    """Every record's outcome of an apply or undo, per field: status success | error | skipped |
    unknown (the answer was lost and the record could not be read back), with Zoho's code."""

    plan_id: str
    action: str
    records: pd.DataFrame
    sent: int = 0  # records actually sent to the CRM (0 on an idempotent re-apply)
    stopped: str | None = None  # why the run stopped early, if it did (transient failures never stop it)

    @property
    def skipped(self) -> int:
        return self._count("skipped")

    def summary(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "action": self.action,
            "total": self.total,
            "sent": self.sent,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "skipped": self.skipped,
            "unknown": self.unknown,
            "stopped": self.stopped,
        }

    def __repr__(self) -> str:
        return (
            f"ApplyResult({self.action} {self.plan_id}: {self.succeeded} succeeded, {self.failed} failed,"
            f" {self.skipped} skipped of {self.total}; {self.sent} sent)"
        )


__all__ = ["ApplyResult", "MAX_BATCH", "RESULT_COLUMNS", "OnConflict"]
