"""Which ids a COQL where clause pins down, so the store can hand over that range instead of a module.

A partitioned read (``where id >= a and id < b order by id limit 2000``) would otherwise scan every
record of the module per call. Only comparisons on ``id`` joined by ``and`` at the top level narrow
the range; the predicate still runs on every candidate, so the answer is exactly what a scan gives.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sergas_nb.emulator.query.coql_grammar import Compare, Logic


def id_bounds(where: Compare | Logic | None) -> tuple[int | None, int | None]:
    """Inclusive (low, high) integer id bounds implied by the where clause (None: not bounded).

    Only comparisons on ``id`` joined by ``and`` at the top level narrow the range; an ``or``
    anywhere above a comparison means it cannot (the other branch may match any id).
    """
    low: int | None = None
    high: int | None = None
    for node in conjuncts(where):
        if not isinstance(node, Compare) or len(node.ref.parts) != 1 or node.ref.parts[0].lower() != "id":
            continue
        vals = [_as_int(v) for v in node.values]
        if any(v is None for v in vals):
            continue
        ints = [v for v in vals if v is not None]
        lo, hi = _range(node.op, ints)
        if lo is not None:
            low = lo if low is None else max(low, lo)
        if hi is not None:
            high = hi if high is None else min(high, hi)
    return low, high


def conjuncts(node: Compare | Logic | None) -> Iterable[Compare | Logic]:
    if node is None:
        return []
    if isinstance(node, Logic) and node.op == "and":
        return [*conjuncts(node.left), *conjuncts(node.right)]
    return [node]


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


def _range(op: str, vals: list[int]) -> tuple[int | None, int | None]:
    if not vals:
        return None, None
    v = vals[0]
    if op == "=":
        return v, v
    if op == ">":
        return v + 1, None
    if op == ">=":
        return v, None
    if op == "<":
        return None, v - 1
    if op == "<=":
        return None, v
    if op == "between" and len(vals) == 2:
        return min(vals), max(vals)
    if op == "in":
        return min(vals), max(vals)
    return None, None
