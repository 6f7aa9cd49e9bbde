"""pytest-xdist's ``loadfile`` scheduling, the longest files first and the `last` tests held back
until the rest is done.

The `last` tests (tests/test_suite_log.py) scan what the whole suite left behind. Plain ``loadfile``
hands their file to whichever worker is free when the queue reaches it, while other workers may
still be running long files; this scheduler keeps them queued until no other file is queued and
every worker is down to the one test it holds back, then gives them to the worker that got there
last and shuts the others down (each runs that one test and its session teardown meanwhile, and
scans the log itself: tests/conftest.py's worker-end check).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from xdist.scheduler import LoadFileScheduling


class LastFilesLastScheduling(LoadFileScheduling):
    def __init__(
        self, config: pytest.Config, log: Any, last_files: Iterable[str], first_files: Iterable[str] = ()
    ) -> None:
        super().__init__(config, log)
        self.last_files = frozenset(last_files)
        # Longest files first (longest-processing-time order): one started late would be the run's tail.
        self.first_rank = {name: i for i, name in enumerate(first_files)}

    def _others_queued(self) -> bool:
        return any(scope not in self.last_files for scope in self.workqueue)

    def _busy(self, node: Any) -> bool:
        # A worker holds its last queued test back until it gets more work or is shut down (the test
        # needs to know its successor to tear fixtures down): one pending test means it is done.
        return self._pending_of(self.assigned_work.get(node, {})) > 1

    def _assign_work_unit(self, node: Any) -> None:
        if self._others_queued():
            # The longest known file still queued, else the first queued that is not a `last` one.
            others = [s for s in self.workqueue if s not in self.last_files]
            scope = min(others, key=lambda s: self.first_rank.get(s, len(self.first_rank)))
            self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)
            return
        if any(self._busy(other) for other in self.nodes):
            return  # wait: the last worker to get through its tests is given the `last` files
        while self.workqueue:
            super()._assign_work_unit(node)
        for other in self.nodes:
            if other is not node and not other.shutting_down:
                other.shutdown()

    def remove_node(self, node: Any) -> str | None:
        crashed = super().remove_node(node)
        for other in self.nodes:  # a worker waiting for the `last` files may have waited for this one
            self._reschedule(other)
        return crashed

    def _reschedule(self, node: Any) -> None:
        if node.shutting_down:
            return
        if not self.workqueue:
            node.shutdown()
            return
        if self._pending_of(self.assigned_work[node]) > 2:
            return
        self._assign_work_unit(node)
