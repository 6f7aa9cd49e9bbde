"""What every benchmark path is asked to do: the five operations, Zoho's paging limits, the workload
and the protocol each path implements."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sergas_nb.errors import ZohoError

OPS: tuple[str, ...] = ("read", "search", "coql", "update", "bulk_update")
WRITE_OPS: frozenset[str] = frozenset({"update", "bulk_update"})
PAGE = 200  # Get Records / search: max per_page
COQL_PAGE = 2000  # COQL: max rows per call
WRITE_BATCH = 100  # insert/update: max records per call
DISCRETE_PAGES_LIMIT = 2000  # beyond this, `page` is refused and page_token is required


class BenchmarkError(ZohoError):
    """A benchmark could not be run as asked (bad parameters, a path that did less work than asked)."""


def allowed_ops(
    ops: Sequence[str], on_emulator: bool, allow_writes_on_real: bool = False
) -> tuple[list[str], list[str]]:
    """(operations to run, write operations refused): writes to a real org need explicit consent."""
    unknown = [op for op in ops if op not in OPS]
    if unknown:
        raise BenchmarkError(f"unknown operation(s) {unknown}; expected some of {', '.join(OPS)}")
    if on_emulator or allow_writes_on_real:
        return list(ops), []
    return [op for op in ops if op not in WRITE_OPS], [op for op in ops if op in WRITE_OPS]


# ------------------------------------------------------------------------------------------
# What is asked of every path
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """The same request for every path: which fields, which search, which rows, which field to write."""

    fields: tuple[str, ...]
    search_criteria: str = "(Annual_Revenue:greater_equal:0)"
    coql_where: str = "id is not null"
    update_field: str = "Description"
    module: str = "Accounts"

    def coql_query(self, limit: int, offset: int) -> str:
        return (
            f"select {', '.join(self.fields)} from {self.module} where {self.coql_where} "
            f"order by id asc limit {limit} offset {offset}"
        )


class BenchPath(Protocol):
    """One way of talking to Zoho CRM. Every method returns the number of records it handled."""

    name: str

    def read(self, n: int) -> int: ...
    def search(self, n: int) -> int: ...
    def coql(self, n: int) -> int: ...
    def update(self, ids: Sequence[str], value: str) -> int: ...
    def bulk_update(self, ids: Sequence[str], value: str) -> int: ...
    def close(self) -> None: ...


def _pages(n: int, max_per_page: int = PAGE) -> Iterator[tuple[int, int]]:
    """(page number, per_page) for the first ``n`` records: pages of ``min(n, max_per_page)``.

    The same pages the toolkit (and the seed's ``get_accounts(limit=n)``) asks for, so every path
    costs the same round trips and the server sends the same records.
    """
    per_page = max(1, min(n, max_per_page))
    page = 1
    while (page - 1) * per_page < n:
        yield page, per_page
        page += 1


def _batches(seq: Sequence[Any], size: int = WRITE_BATCH) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]
