"""The one paging walker: list pages, page tokens past record 2,000, search, COQL continuation,
``crm.paginate`` and the assistant's cursors all walk with :class:`Walk`.

A walk asks ``fetch(params)`` for one answer at a time; a cursor says what the next request
carries (``page``/``page_token`` or COQL ``limit``/``offset``) and when to stop:

- :class:`PageCursor`: ``?page=`` while the next page starts within the first 2,000 records, then
  ``?page_token=`` from the previous answer (``tokens="past_limit"``, the list API's rule), or the
  answer's token whenever it has one (``tokens="given"``, for endpoints we do not know). With a
  ``reach`` (search: Zoho answers the first 2,000 matches only) the walk stops there.
- :class:`OffsetCursor`: COQL, 2,000 rows a call, by offset, up to Zoho's 100,000.

Every walk stops at an empty page, at ``info.more_records`` false, or after ``limit`` rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sergas_nb.errors import ZohoAPIError

PER_PAGE = 200  # Zoho's maximum page size (list, search and most REST lists)
PAGE_LIMIT = 2000  # records reachable with ?page=; beyond that only page_token works
TOKEN_LIMIT = 100_000  # records reachable with ?page_token=
SEARCH_REACH = 2000  # search answers the first 2,000 matches only
COQL_LIMIT = 2000  # rows per COQL call
COQL_OFFSET_LIMIT = 100_000  # rows COQL reaches by offset

Answer = Mapping[str, Any] | None


@dataclass(frozen=True)
class IdRange:
    """Record ids in [lo, hi) (None: unbounded), read ``limit`` rows a COQL call; Zoho charges
    COQL by its LIMIT (up to 200: one credit, 1,000: two, 2,000: three)."""

    lo: int | None = None
    hi: int | None = None
    limit: int = COQL_LIMIT

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= COQL_LIMIT:
            raise ValueError(f"a COQL LIMIT is between 1 and {COQL_LIMIT}, not {self.limit}")
        if self.lo is not None and self.hi is not None and self.lo >= self.hi:
            raise ValueError(f"an empty id range: [{self.lo}, {self.hi})")


def more(data: Any) -> bool:
    """Whether an answer says more records follow."""
    return bool(((data or {}).get("info") or {}).get("more_records"))


def next_token(data: Any) -> str | None:
    return ((data or {}).get("info") or {}).get("next_page_token") or None


def data_rows(data: Any) -> list[Any]:
    """The records of an answer (none for 204 / no ``data``)."""
    return (data or {}).get("data") or []


class Cursor(Protocol):
    def params(self, seen: int, limit: int | None) -> dict[str, Any]: ...

    def advance(self, data: Answer, seen: int) -> bool: ...


@dataclass
class PageCursor:
    """Page numbers, then page tokens (see the module docstring)."""

    per_page: int = PER_PAGE
    page: int = 1
    token: str | None = None
    tokens: Literal["past_limit", "given", "never"] = "past_limit"
    reach: int | None = None
    what: str = "list"
    reached: bool = False  # stopped at ``reach`` while the answer said more

    def params(self, seen: int, limit: int | None) -> dict[str, Any]:
        return {"page_token": self.token} if self.token else {"page": self.page}

    def advance(self, data: Answer, seen: int) -> bool:
        if self.reach is not None and self.page * self.per_page >= self.reach:
            self.reached = True
            return False
        if self.tokens == "given":
            self.token = next_token(data)
            self.page += 1
            return True
        # The next page would reach past record 2,000 (per_page need not divide it): use its token.
        if self.tokens == "past_limit" and (self.token is not None or (self.page + 1) * self.per_page > PAGE_LIMIT):
            self.token = next_token(data)
            if not self.token:
                raise ZohoAPIError(
                    f"{self.what}: more records, but no next_page_token to reach them",
                    code="MALFORMED_RESPONSE",
                    status=200,
                )
            return True
        self.page += 1
        return True


@dataclass
class OffsetCursor:
    """COQL ``limit n offset k``: 2,000 rows a call, at most 100,000 in all."""

    size: int = COQL_LIMIT
    reach: int = COQL_OFFSET_LIMIT

    def params(self, seen: int, limit: int | None) -> dict[str, Any]:
        n = self.size if limit is None else min(self.size, limit - seen)
        return {"limit": n, "offset": seen}

    def advance(self, data: Answer, seen: int) -> bool:
        if seen >= self.reach:
            raise ZohoAPIError(
                f"more than {self.reach} matches: COQL cannot page further; narrow the condition",
                code="LIMIT_REACHED",
                status=None,
            )
        return True


@dataclass
class Page:
    rows: list[Any]
    data: Answer


class Walk:
    """Answers one after another (``fetch(params)``), as :class:`Page` s, until the cursor, the
    answer or ``limit`` says stop. ``rows``: how to take the records out of an answer."""

    def __init__(
        self,
        fetch: Callable[[dict[str, Any]], Answer],
        cursor: Cursor,
        *,
        limit: int | None = None,
        rows: Callable[[Answer], list[Any]] = data_rows,
    ) -> None:
        self.fetch, self.cursor, self.limit, self.rows_of = fetch, cursor, limit, rows
        self.seen = 0

    def __iter__(self) -> Iterator[Page]:
        while self.limit is None or self.seen < self.limit:
            data = self.fetch(self.cursor.params(self.seen, self.limit))
            rows = self.rows_of(data)
            if self.limit is not None:
                rows = rows[: self.limit - self.seen]
            self.seen += len(rows)
            yield Page(rows, data)
            if not rows or not more(data):
                return
            if self.limit is not None and self.seen >= self.limit:
                return
            if not self.cursor.advance(data, self.seen):
                return

    def all_rows(self) -> list[Any]:
        """Every row of the walk, in order."""
        return [row for page in self for row in page.rows]


__all__ = [
    "PER_PAGE",
    "PAGE_LIMIT",
    "TOKEN_LIMIT",
    "SEARCH_REACH",
    "COQL_LIMIT",
    "COQL_OFFSET_LIMIT",
    "PageCursor",
    "OffsetCursor",
    "Page",
    "Walk",
    "more",
    "data_rows",
]
