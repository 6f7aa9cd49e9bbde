"""Schema drift: how the CRM's field metadata moved since the mirror last looked.

- a field added in the CRM becomes a column (its values read for every record);
- a field removed from the CRM keeps its column and values, flagged ``removed`` in ``schema()``;
- a field whose type changed (its column's dtype would differ) makes the module re-read whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sergas_nb.mirror import columns

Meta = Sequence[Mapping[str, Any]]
COMPUTED_TYPES = ("formula", "rollup_summary")


@dataclass
class Drift:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    retyped: list[tuple[str, str, str]] = field(default_factory=list)  # (field, old dtype, new dtype)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.retyped)

    def describe(self) -> str:
        parts = [f"added {', '.join(self.added)}"] if self.added else []
        if self.removed:
            parts.append(f"removed {', '.join(self.removed)}")
        parts += [f"{name} {old} -> {new}" for name, old, new in self.retyped]
        return "; ".join(parts) or "no drift"


def _dtypes(meta: Meta, name: str) -> dict[str, str]:
    return {c: d for c, d in columns.dtypes_for(meta, [name]).items() if c != "id"}


def compare(old: Meta, new: Meta) -> Drift:
    before = {f["api_name"]: f for f in old}
    after = {f["api_name"]: f for f in new}
    drift = Drift(
        added=[n for n in after if n not in before],
        removed=[n for n in before if n not in after],
    )
    for name in after:
        if name in before:
            a, b = _dtypes(old, name), _dtypes(new, name)
            if a != b:
                drift.retyped.append((name, ", ".join(a.values()), ", ".join(b.values())))
    return drift


def computed_fields(meta: Meta) -> list[str]:
    """Fields whose values change without Modified_Time moving (formula, rollup summary)."""
    return [str(f["api_name"]) for f in meta if f.get("data_type") in COMPUTED_TYPES]
