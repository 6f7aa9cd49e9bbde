"""What one sync changed: one row per added or deleted record, one per changed field of a changed record.

Values are compared in their stored form (``columns.to_arrow``), so a field counts as changed only
when what ``frame()`` returns for it differs; old and new are kept as JSON text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import pandas as pd

COLUMNS = ["id", "change", "field", "old", "new"]
Row = tuple[str, str, str | None, str | None, str | None]


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return orjson.dumps(v, default=str).decode()


def diff(
    old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]], *, added: bool = True
) -> list[Row]:
    """Rows for every id of ``new``: ``added`` when ``old`` lacks it, else one per differing field."""
    rows: list[Row] = []
    for rid, values in new.items():
        before = old.get(rid)
        if before is None:
            if added:
                rows.append((rid, "added", None, None, None))
            continue
        for name, value in values.items():
            was = before.get(name)
            if was != value:
                rows.append((rid, "changed", name, _text(was), _text(value)))
    return rows


def deleted(ids: Iterable[str]) -> list[Row]:
    return [(rid, "deleted", None, None, None) for rid in ids]


def frame(rows: list[Row]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=COLUMNS)
    return df.astype(dict.fromkeys(COLUMNS, "string"))


def counts(rows: Iterable[Row]) -> dict[str, int]:
    """Records (not fields) added, changed and deleted."""
    seen: dict[str, set[str]] = {"added": set(), "changed": set(), "deleted": set()}
    for rid, change, *_ in rows:
        seen[change].add(rid)
    return {k: len(v) for k, v in seen.items()}
