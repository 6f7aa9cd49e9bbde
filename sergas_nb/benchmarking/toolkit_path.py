"""The ``toolkit`` path: this project's client, serial or spread over threads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sergas_nb.benchmarking.operations import COQL_PAGE, DISCRETE_PAGES_LIMIT, Workload, _batches, _pages

# ------------------------------------------------------------------------------------------
# The toolkit: sergas_nb.client
# ------------------------------------------------------------------------------------------


class ToolkitPath:
    """``sergas_nb.client.ZohoClient``: what an analyst calls, typed DataFrames out.

    Reads, search and COQL are the client's own paged calls; a single update is one
    ``update()`` of one record (``update_account`` would add a read-back GET per record);
    bulk update is ``bulk_update_accounts`` (batches of 100, every outcome read).

    With ``concurrency`` > 1 (path name ``toolkit_xN``) the same public calls are spread over N
    threads: pages of ``get_accounts``, single updates and 100-record batches. Search and COQL
    stay serial (their paging is sequential in the API: search pages carry no state we can
    split safely, and one COQL call already returns up to 2,000 rows).
    """

    def __init__(self, client: Any, workload: Workload, concurrency: int = 1) -> None:
        self.client = client
        self.w = workload
        self.concurrency = max(1, int(concurrency))
        self.name = "toolkit" if self.concurrency == 1 else f"toolkit_x{self.concurrency}"
        self._pool = None
        if self.concurrency > 1:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="bench-toolkit")

    def _map(self, fn: Callable[[Any], int], items: Sequence[Any]) -> int:
        if self._pool is None:
            return sum(fn(i) for i in items)
        return sum(self._pool.map(fn, items))

    def read(self, n: int) -> int:
        if self._pool is None or n > DISCRETE_PAGES_LIMIT:  # past 2,000 only page tokens work: serial
            return len(self.client.records(self.w.module, fields=list(self.w.fields), limit=n))
        pages = list(_pages(n))
        frames_ = list(
            self._pool.map(
                lambda pp: self.client.get_accounts(limit=pp[1], page=pp[0], fields=list(self.w.fields)), pages
            )
        )
        return min(n, sum(len(f) for f in frames_))

    def search(self, n: int) -> int:
        return len(
            self.client.search(self.w.module, criteria=self.w.search_criteria, fields=list(self.w.fields), limit=n)
        )

    def coql(self, n: int) -> int:
        got = 0
        while got < n:
            df = self.client.coql(self.w.coql_query(min(COQL_PAGE, n - got), got))
            got += len(df)
            if len(df) == 0:
                break
        return got

    def update(self, ids: Sequence[str], value: str) -> int:
        field_name = self.w.update_field
        return self._map(
            lambda rid: self.client.update(self.w.module, [{"id": rid, field_name: value}]).succeeded, list(ids)
        )

    def bulk_update(self, ids: Sequence[str], value: str) -> int:
        rows = [{"id": rid, self.w.update_field: value} for rid in ids]
        if self._pool is None:
            return self.client.bulk_update_accounts(rows).succeeded
        return self._map(lambda part: self.client.bulk_update_accounts(part).succeeded, list(_batches(rows)))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
