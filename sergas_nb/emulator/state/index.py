"""A sorted id index per module: the records of an id range by bisection, not by a scan.

The store builds one per module on demand and drops it when the module's version moves (every
write bumps it), so reads between writes reuse it.
"""

from __future__ import annotations

import bisect
from typing import Any

Record = dict[str, Any]


class IdIndex:
    """Ascending integer ids of one module and the string keys they came from."""

    def __init__(self, records: dict[str, Record], version: int) -> None:
        pairs = sorted((int(k), k) for k in records if k.isascii() and k.isdigit())
        self.ints = [p[0] for p in pairs]
        self.keys = [p[1] for p in pairs]
        self.version = version

    def between(self, low: int | None, high: int | None) -> list[str]:
        """Keys of ids with ``low <= id <= high`` (None: unbounded), ascending."""
        start = 0 if low is None else bisect.bisect_left(self.ints, low)
        end = len(self.ints) if high is None else bisect.bisect_right(self.ints, high)
        return self.keys[start:end]
