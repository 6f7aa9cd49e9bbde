"""How ``records()`` reads a module: three strategies behind one call, the same rows and dtypes.

- ``pages``: the list API (``GET /{module}``, 200 a page). The first 2,000 records are reachable by
  page number, so those pages are fetched in parallel; past them each page token chains to the
  previous page, so the rest is serial. Sorted reads (``sort_by``) and small reads use it.
- ``coql_partitions``: the id range is cut into parts of about 1,800 records and each part is one
  COQL call (``where id >= a and id < b order by id limit 2000``, continued when a part holds
  more), fetched in parallel within the sub-concurrency pool. COQL selects at most 50 columns
  (lookups count twice or three times: id, name[, email]).
- ``bulk_read``: Zoho's asynchronous Bulk Read job (``_bulk_api.py``): for pulls past what page
  tokens reach (100,000) when COQL cannot select every field, or when asked for.

Auto choice (``strategy="auto"``): a sorted or limited read uses pages; a full read starts the first
ten pages and the count and id range together, and stops there when the module holds at most
2,000 records; otherwise the rest comes by COQL partitions (or pages/bulk read when COQL cannot
select the fields). The choice and the reason go to the log and to ``metrics()`` (kind
``read_strategy``).

Rows are turned into typed frame chunks as each answer arrives: an answer body lands in a memory
mapping of its own (``_http.read_body``), is parsed a piece at a time, and each piece's dicts are
taken apart into value lists (``frames.RecordColumns``) before the next piece is parsed;
``frames.concat_frames`` joins the chunks at the end, or each chunk is appended to a Parquet file
(``to_parquet=``) and nothing is kept in memory.

Row order without ``sort_by``: the list API's default order (id descending) for a full read, and
ascending id (COQL's default) when ``where`` is given, whichever strategy ran.
"""

from __future__ import annotations

import logging
import math
import mmap
import queue
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from sergas_nb import _secrets, frames
from sergas_nb._coql import aggregate_frame, aggregate_select, coql_shape, criteria_to_coql, has_limit
from sergas_nb._fields import FieldMeta, names_with_lookups
from sergas_nb._gc import gc_paused
from sergas_nb._http import Body
from sergas_nb._json_rows import rows_and_info, rows_in_pieces
from sergas_nb._metrics import Event
from sergas_nb._paging import (
    COQL_LIMIT,
    PAGE_LIMIT,
    PER_PAGE,
    SEARCH_REACH,
    TOKEN_LIMIT,
    IdRange,
    OffsetCursor,
    PageCursor,
    Walk,
    data_rows,
)
from sergas_nb._paging import more as has_more
from sergas_nb._pipeline import Pipeline
from sergas_nb.errors import Problem, ZohoAPIError, ZohoError, ZohoValidationError

log = logging.getLogger("sergas_nb.reads")
client_log = logging.getLogger("sergas_nb.client")

STRATEGIES = ("auto", "pages", "coql_partitions", "bulk_read")
MAX_FIELDS = 50  # fields per list call
# Ids per GET /{module}?ids= call: Zoho's limit, documented for the older API's idlist
# (https://www.zoho.com/developer/help/api/getrecordbyid.html; not re-checked on the v8 page).
IDS_PER_CALL = 100
PART_SIZE = 1800  # records per COQL partition: under 2,000 so most parts take one call
MAX_COQL_COLUMNS = 50
CHUNK_ROWS = 2000  # page rows typed together (pandas has a cost per column and chunk)
PROGRESS_MIN = 5000  # progress bars for reads of at least this many records (progress=None)


@dataclass(frozen=True)
class StrategyChoice:
    """The read strategy taken and why (logged, and in ``metrics()`` as kind ``read_strategy``)."""

    strategy: str
    reason: str


@dataclass(frozen=True)
class CoqlColumns:
    """What a COQL partition selects, and where each lookup's name/email comes from in its rows."""

    select: list[str]
    lookups: list[tuple[str, dict[str, str]]]  # (field, {flat COQL key: sub-column})

    @property
    def aliases(self) -> dict[str, str]:
        """Frame column -> the flat COQL key it is read from (``Owner.name`` <- ``Owner.full_name``)."""
        return {f"{name}.{sub}": key for name, subs in self.lookups for key, sub in subs.items()}


# Zoho's COQL serves "leads, accounts, contacts, users, deals, campaigns, tasks, cases, events, calls,
# solutions, products, vendors, pricebooks, quotes, salesorders, purchaseorders, invoices, and
# custom" (https://zoho.com/crm/developer/docs/api/v8/Get-Records-through-COQL-Query.html): not
# Notes, which our emulator would answer; the list API and Bulk Read read them.
NOT_IN_COQL = frozenset({"Notes"})


def coql_columns(
    meta: Sequence[dict[str, Any]], names: Sequence[str], module: str | None = None
) -> tuple[CoqlColumns | None, str]:
    """The COQL select list for these fields, or None and why COQL cannot read them."""
    if module in NOT_IN_COQL:
        return None, f"Zoho's COQL does not serve the {module} module"
    select, lookups, missing = names_with_lookups(meta, names)
    if missing is not None:
        return None, missing
    # A polymorphic What_Id / Parent_Id answers {"id"} only; its module comes as the column
    # $se_module, selected once (the emulator's coql._SE_MODULE says where that is from).
    select = list(dict.fromkeys(select))
    if len(select) > MAX_COQL_COLUMNS:
        return None, f"{len(select)} COQL columns (lookups count 2-3), over COQL's {MAX_COQL_COLUMNS}"
    # Only ids asked for (``fields=["id"]`` leaves no names): COQL refuses an empty select list.
    select = select or ["id"]
    return CoqlColumns(select, lookups), f"{len(select)} COQL columns"


class Read:
    """One read of ``module``: choose a strategy, fetch chunks in parallel, build the frame."""

    def __init__(
        self,
        reader: Reader,
        module: str,
        names: list[str],
        *,
        where: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        limit: int | None = None,
        progress: bool | None = None,
        to_parquet: str | Path | None = None,
        operation: str = "records",
        prefetched: dict[int, Future[Body | None]] | None = None,
    ) -> None:
        self.r, self.p = reader, reader.p
        self.prefetched = prefetched or {}
        self.module, self.names = module, names
        self.meta = reader.fields.meta(module)
        self.where = where.strip() if where and where.strip() else None
        self.sort_by, self.sort_order, self.limit = sort_by, sort_order, limit
        self.progress, self.operation = progress, operation
        self.sink = ParquetSink(Path(to_parquet)) if to_parquet is not None else None
        self.chunks: list[pd.DataFrame] = []
        self.bar: Any = None
        self.rows = 0
        self._convert = threading.Lock()
        self._pending: list[dict[str, Any]] = []

    # -- public --------------------------------------------------------------------------------
    def run(self, strategy: str = "auto") -> pd.DataFrame | Path:
        if strategy not in STRATEGIES:
            raise ZohoValidationError([Problem("strategy", f"must be one of {', '.join(STRATEGIES)}", None, strategy)])
        start = time.perf_counter()
        try:
            with gc_paused():
                choice = self._run(strategy)
        finally:
            _cancel(self.prefetched)  # pages sent beside the metadata call that this strategy did not take
            if self.bar is not None:
                self.bar.close()
        self.p.metrics.add(
            Event(
                "read_strategy",
                self.operation,
                choice.strategy,
                time.perf_counter() - start,
                records=self.rows,
                module=self.module,
                detail=choice.reason,
            )
        )
        log.info("%s %s: %d records by %s (%s)", self.operation, self.module, self.rows, choice.strategy, choice.reason)
        if self.sink is not None:
            return self.sink.close(self._empty())
        return self._frame()

    # -- choosing --------------------------------------------------------------------------------
    def _run(self, strategy: str) -> StrategyChoice:
        shape, shape_reason = coql_columns(self.meta, self.names, self.module)
        if strategy == "pages":
            return self._pages(StrategyChoice("pages", "asked for"))
        if strategy == "coql_partitions":
            if shape is None:
                raise ZohoValidationError([Problem("strategy", f"COQL cannot read these fields: {shape_reason}")])
            if self.sort_by not in (None, "id"):
                raise ZohoValidationError([Problem("strategy", "COQL partitions read in id order; drop sort_by")])
            return self._partitions(shape, StrategyChoice("coql_partitions", "asked for"))
        subforms = [n for n in self.names if (frames.field_map(self.meta).get(n) or {}).get("data_type") == "subform"]
        if strategy == "bulk_read":
            if subforms:
                # No Zoho Bulk Read page documents exporting subform rows (Bulk Write takes them as a
                # child CSV: zoho.com/crm/developer/docs/api/bulk-write/limitations.html); the list API
                # answers them on the parent (zoho.com/crm/developer/docs/api/v8/subforms.html).
                raise ZohoValidationError(
                    [
                        Problem(
                            name,
                            f"bulk_read cannot export subform {name}: read it with strategy='pages' "
                            f"(or leave it out), then crm.subform(frame, {name!r}) for its rows",
                            None,
                            None,
                        )
                        for name in subforms
                    ]
                )
            if self.where or self.sort_by or self.limit is not None:
                raise ZohoValidationError(
                    [Problem("strategy", "bulk_read reads whole modules: no where, sort_by or limit")]
                )
            return self._bulk(StrategyChoice("bulk_read", "asked for"))
        # auto
        if self.sort_by is not None:
            return self._pages(StrategyChoice("pages", f"sorted by {self.sort_by}: only the list API sorts"))
        if self.limit is not None and self.limit <= PAGE_LIMIT:
            return self._pages(StrategyChoice("pages", f"limit {self.limit} <= {PAGE_LIMIT}: parallel pages"))
        if shape is None:
            if not subforms and self.where is None and self.limit is None and self.r.count(self.module) > TOKEN_LIMIT:
                return self._bulk(StrategyChoice("bulk_read", f"{shape_reason}; more than page tokens reach"))
            return self._pages(StrategyChoice("pages", shape_reason))
        if self.limit is not None:
            return self._pages(StrategyChoice("pages", f"limit {self.limit}: the list's own order"))
        if self.where is not None:
            return self._partitions(shape, StrategyChoice("coql_partitions", f"where given; {shape_reason}"))
        return self._speculative(shape, shape_reason)

    # -- strategies ------------------------------------------------------------------------------
    def _speculative(self, shape: CoqlColumns, shape_reason: str) -> StrategyChoice:
        """A full read: the first 2,000 (ten parallel pages), the count and the id range at once."""
        pool = self.p.workers()
        count_f = pool.submit(self.r.count, self.module)
        low_f = pool.submit(self._edge_id, "asc", None)
        pages = [
            partial(_taken, self.prefetched.pop(p), self.operation)
            if p in self.prefetched
            else pool.submit(self._page_bytes, p).result
            for p in range(1, PAGE_LIMIT // PER_PAGE + 1)
        ]
        got, more, lowest = 0, False, None
        # Typed as one chunk (ten small ones cost more than their rows); each page's dicts go
        # as soon as its values are taken apart into columns.
        first = self._columns()
        for answer in pages:
            body = answer()
            rows, info = rows_and_info(body) if body else ([], {})
            more = bool(info.get("more_records"))
            del body, info
            n = len(rows)
            if n:
                got += n
                lowest = int(rows[-1]["id"])  # pages come in descending id order
                first.add(rows)
            del rows
            if not n or not more:
                break
        self._add(first.frame())
        del first
        total = count_f.result()
        self._start_bar(total)
        if not more or lowest is None:
            return StrategyChoice("pages", f"{got} records: ten parallel pages hold them")
        low = low_f.result()
        if low is None or low >= lowest:
            return StrategyChoice("pages", f"{got} records: ten parallel pages hold them")
        self._run_parts(pool, shape, low, lowest, total - got, descending=True)
        return StrategyChoice(
            "coql_partitions",
            f"{total} records: first {got} by parallel pages, the rest by COQL ({shape_reason})",
        )

    def _partitions(self, shape: CoqlColumns, choice: StrategyChoice) -> StrategyChoice:
        descending = self.where is None
        pool = self.p.workers()
        count_f = pool.submit(self.r.count, self.module) if self.where is None else None
        low_f = pool.submit(self._edge_id, "asc", self.where)
        high_f = pool.submit(self._edge_id, "desc", self.where)
        low, high = low_f.result(), high_f.result()
        total = count_f.result() if count_f is not None else None
        if low is None or high is None:
            return choice
        if total is None:  # with a condition the matches are unknown: size parts by the module
            total = self.r.count(self.module)
        self._start_bar(total if self.where is None else None)
        self._run_parts(pool, shape, low, high + 1, total, descending=descending)
        if self.limit is not None:
            self._truncate(self.limit)
        return choice

    def _run_parts(
        self, pool: ThreadPoolExecutor, shape: CoqlColumns, low: int, high: int, expected: int, *, descending: bool
    ) -> None:
        """COQL parts covering ids in [low, high), in parallel; chunks kept in the read's order."""
        parts = max(1, math.ceil(max(expected, 1) / PART_SIZE))
        step = max(1, math.ceil((high - low) / parts))
        bounds = [(a, min(a + step, high)) for a in range(low, high, step)]
        if descending:
            bounds.reverse()
        _PartWindow(self, pool, shape, bounds, descending).run()

    def _part(self, shape: CoqlColumns, a: int, b: int, descending: bool) -> list[Body]:
        """One id range (in a worker thread): the raw COQL answers until the range is exhausted.

        Answers are parsed and typed by the thread collecting them (``_PartWindow``), one at a time:
        parsed rows weigh about 5 KB each, and parsing in every worker would leave each worker's
        malloc arena holding its own peak. A worker parses only an answer that may say
        ``more_records``, to learn where to continue.
        """
        out: list[Body] = []
        lo, hi = a, b
        order = "desc" if descending else "asc"
        cond = self._coql_where() if self.where else None
        while True:
            # COQL takes two conditions per level: more need their own parentheses.
            span = f"id >= {lo} and id < {hi}"
            clause = f"(({span}) and ({cond}))" if cond else span
            query = (
                f"select {', '.join(shape.select)} from {self.module} where {clause} "
                f"order by id {order} limit {COQL_LIMIT}"
            )
            body = self.p.call(
                "coql",
                lambda q=query: self.p.http_bytes("POST", "/crm/v8/coql", json_body={"select_query": q}),  # type: ignore[misc]
                idempotent=True,
                module=self.module,
            )
            if body is None:
                break
            out.append(body)
            # A cheap look (compact or spaced JSON); a false hit only costs a parse.
            if body.find(b'"more_records":true') < 0 and body.find(b'"more_records": true') < 0:
                break
            with self._convert:
                batch, info = rows_and_info(body)
                more = bool(info.get("more_records"))
                last = int(batch[-1]["id"]) if batch else None
                del batch
            if last is None or not more:
                break
            if descending:  # the part holds more: continue after the last row
                hi = last
            else:
                lo = last + 1
        return out

    def _typed(self, body: Body, shape: CoqlColumns | None) -> pd.DataFrame:
        """One raw answer parsed a piece at a time and typed; each piece's dicts die before the next."""
        with self._convert:
            columns = self._columns(shape.aliases if shape is not None else None)
            pieces, _ = rows_in_pieces(body)
            for rows in pieces:
                columns.add(rows)
                del rows
            return columns.frame()

    def _pages(self, choice: StrategyChoice) -> StrategyChoice:
        if self.where is not None:  # ids by COQL, then the records by id (100 a call, in parallel)
            ids = self.r.ids_where(self.module, self.where, self.sort_by, self.sort_order, self.limit)
            self._start_bar(len(ids))
            self._by_ids(ids)
            return StrategyChoice(choice.strategy, choice.reason + "; ids by COQL, records by id")
        chunks = _field_chunks(self.names)
        if len(chunks) > 1:  # wider than one list call: the pages of each field set, joined on id
            rows = self.r.list_wide(self.module, self.names, self.sort_by, self.sort_order, self.limit)
            self._add(self._chunk(rows))
            return choice
        wanted = self.limit
        self._start_bar(wanted)
        per_page = min(PER_PAGE, wanted) if wanted else PER_PAGE
        if wanted == 0:
            return choice
        n_pages = (
            PAGE_LIMIT // per_page if wanted is None else min(math.ceil(wanted / per_page), PAGE_LIMIT // per_page)
        )
        got, token, done = 0, None, False
        pool = self.p.workers()
        futures = [pool.submit(self._page_raw, p, per_page) for p in range(1, n_pages + 1)]
        for f in futures:
            if done:
                f.cancel()
                continue
            data = f.result()
            rows = (data or {}).get("data") or []
            if wanted is not None:
                rows = rows[: wanted - got]
            got += len(rows)
            if rows:
                self._buffer(rows)
            done = not rows or not has_more(data) or (wanted is not None and got >= wanted)
            token = None if done else ((data or {}).get("info") or {}).get("next_page_token")
        if not done and not token:
            raise ZohoAPIError(
                f"{self.module}: more records, but no next_page_token to reach them",
                code="MALFORMED_RESPONSE",
                status=200,
            )
        # Past record 2,000 every page needs the previous page's token: serial from here.
        if token and (wanted is None or got < wanted):
            base = self._page_params(per_page)
            walk = Walk(
                lambda q: self.p.get(self.operation, f"/crm/v8/{self.module}", dict(base, **q), self.module),
                PageCursor(per_page, page=n_pages + 1, token=token, what=self.module),
                limit=None if wanted is None else wanted - got,
            )
            for page in walk:
                if page.rows:
                    self._buffer(page.rows)
        self._buffer(None)
        return choice

    def _bulk(self, choice: StrategyChoice) -> StrategyChoice:
        from sergas_nb._bulk_api import bulk_read_chunks

        for chunk in bulk_read_chunks(self.p, self.module, self.names, self.meta, on_total=self._start_bar):
            self._add(chunk)
        # Zoho's export has no documented order: put it in the list's default order (id descending).
        if self.sink is None and self.chunks:
            frame = frames.concat_frames(self.chunks, self.meta, self.names)
            order = frame["id"].astype("int64").to_numpy().argsort(kind="stable")[::-1]
            self.chunks = [frame.take(order).reset_index(drop=True)]
        return choice

    # -- calls -----------------------------------------------------------------------------------
    def _page_params(self, per_page: int) -> dict[str, Any]:
        params: dict[str, Any] = {"fields": ",".join(self.names or ["id"]), "per_page": per_page}
        if self.sort_by:
            params["sort_by"] = self.sort_by
        if self.sort_order:
            params["sort_order"] = self.sort_order
        return params

    def _page_raw(self, page: int, per_page: int) -> dict[str, Any] | None:
        return self.p.get(
            self.operation, f"/crm/v8/{self.module}", dict(self._page_params(per_page), page=page), self.module
        )

    def _page_bytes(self, page: int) -> Body | None:
        return _list_page(self.p, self.module, self._page_params(PER_PAGE), page, self.operation)

    def _coql_where(self) -> str:
        assert self.where is not None
        return criteria_to_coql(self.where, frames.field_map(self.meta))

    def _edge_id(self, order: str, where: str | None) -> int | None:
        cond = f" and ({self._coql_where()})" if where else ""
        data = self.p.coql(
            f"select id from {self.module} where id is not null{cond} order by id {order} limit 1", self.module
        )
        rows = (data or {}).get("data") or []
        return int(rows[0]["id"]) if rows else None

    def by_ids(self, ids: Sequence[str]) -> pd.DataFrame:
        """These records (100 ids a call, in parallel) as one typed frame, in the order given."""
        self._by_ids(ids)
        return self._frame()

    def _by_ids(self, ids: Sequence[str]) -> None:
        pool = self.p.workers()
        self._collect([pool.submit(lambda part: self._chunk(self.json_by_ids(part)), p) for p in _id_parts(ids)])

    def json_by_ids(self, part: Sequence[str]) -> list[dict[str, Any]]:
        """At most ``IDS_PER_CALL`` records as the API answers them (one call per 50 fields), in
        the order given; ids not found are left out."""
        got: dict[str, dict[str, Any]] = {}
        ids = ",".join(part)
        for fields in _field_chunks(self.names):
            data = self.p.get(
                self.operation,
                f"/crm/v8/{self.module}",
                {"fields": ",".join(fields or ["id"]), "ids": ids, "per_page": PER_PAGE},
                self.module,
            )
            for r in (data or {}).get("data") or []:
                got.setdefault(str(r["id"]), {}).update(r)
        return [got[i] for i in part if i in got]

    # -- chunks, progress, result ----------------------------------------------------------------
    def _buffer(self, rows: list[dict[str, Any]] | None) -> None:
        """Page rows gathered into chunks of about 2,000 before typing (None: type what is left)."""
        if rows:
            self._pending.extend(rows)
        if self._pending and (rows is None or len(self._pending) >= CHUNK_ROWS):
            self._add(self._chunk(self._pending))
            self._pending = []

    def _chunk(self, rows: list[dict[str, Any]], aliases: dict[str, str] | None = None) -> pd.DataFrame:
        return frames.to_frame(rows, self.meta, self.names, aliases=aliases)

    def _columns(self, aliases: dict[str, str] | None = None) -> frames.RecordColumns:
        return frames.RecordColumns(self.meta, self.names, aliases=aliases)

    def _collect(self, futures: Sequence[Future[Any]], shape: CoqlColumns | None = None) -> None:
        """Results in submission order: typed chunks, or raw answers typed here one at a time."""
        try:
            for f in futures:
                got = f.result()
                for item in got if isinstance(got, list) else [got]:
                    self._add(self._typed(item, shape) if isinstance(item, bytes | mmap.mmap) else item)
        except BaseException:
            for f in futures:
                f.cancel()
            raise

    def _add(self, chunk: pd.DataFrame) -> None:
        self.rows += len(chunk)
        if self.bar is not None:
            self.bar.update(len(chunk))
        if self.sink is not None:
            self.sink.write(chunk)
        elif len(chunk) or not self.chunks:
            self.chunks.append(chunk)
        _release_arrow_cache()

    def _start_bar(self, total: int | None) -> None:
        if self.bar is not None:
            return
        show = self.progress if self.progress is not None else (total or 0) >= PROGRESS_MIN
        if not show:
            return
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, unit="rec", desc=f"{self.module}", leave=False)
        if self.rows:
            self.bar.update(self.rows)

    def _truncate(self, limit: int) -> None:
        if self.sink is None:
            frame = frames.concat_frames(self.chunks, self.meta, self.names)
            self.chunks = [frame.iloc[:limit].reset_index(drop=True)]
            self.rows = min(self.rows, limit)

    def _empty(self) -> pd.DataFrame:
        return frames.to_frame([], self.meta, self.names)

    def _frame(self) -> pd.DataFrame:
        frame = frames.concat_frames(self.chunks, self.meta, self.names)
        self.chunks = []
        return frame


class _PartWindow:
    """COQL parts fetched in parallel, typed in the order they land, added in the read's order.

    The answers that landed but are not typed yet are most of a large read's peak memory (about
    1.4 KB a record as bytes, against 0.8 KB in the frame): when the typing is slower than the
    network they pile up. So at most ``window`` parts are outstanding (in flight or landed and
    waiting): it starts at ``START_WINDOW`` and grows by one, up to the sub-concurrency and two
    spare, when the typing, after a first answer, finds no answer ready although every part it
    waits for was sent after the last growth: the network is the slower side even with the
    window as it is. In flight, an answer costs the client nothing; so the window settles near
    latency / typing time, the typing stays busy and few answers wait. Typed chunks (small) wait
    for the parts before them, so rows keep the read's order.
    """

    START_WINDOW = 3

    def __init__(
        self, read: Read, pool: ThreadPoolExecutor, shape: CoqlColumns, bounds: list[tuple[int, int]], descending: bool
    ) -> None:
        self.read, self.pool, self.shape, self.bounds, self.descending = read, pool, shape, bounds, descending
        self.limit = read.p.governor.sub_concurrency + 2
        self.window = min(self.START_WINDOW, self.limit)
        self.outstanding: dict[int, Future[list[Body]]] = {}
        self.landed: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.next_part = 0

    def _fill(self) -> None:
        while self.next_part < len(self.bounds) and len(self.outstanding) < self.window:
            i = self.next_part
            a, b = self.bounds[i]
            f = self.pool.submit(self.read._part, self.shape, a, b, self.descending)
            self.outstanding[i] = f
            f.add_done_callback(partial(self._landed, i))
            self.next_part += 1

    def _landed(self, i: int, _f: Future[list[Body]]) -> None:
        self.landed.put(i)

    def run(self) -> None:
        typed: dict[int, list[pd.DataFrame]] = {}
        emitted, grown_at, typed_any = 0, 0, False
        try:
            self._fill()
            while self.outstanding:
                try:
                    i = self.landed.get_nowait()
                except queue.Empty:
                    if typed_any and min(self.outstanding) >= grown_at and self.window < self.limit:
                        self.window += 1
                        self._fill()
                        grown_at = self.next_part - 1
                    i = self.landed.get()
                typed_any = True
                bodies = self.outstanding.pop(i).result()
                chunks = []
                while bodies:  # each answer's bytes go as soon as it is typed
                    chunks.append(self.read._typed(bodies.pop(0), self.shape))
                typed[i] = chunks
                del bodies
                self._fill()
                while emitted in typed:
                    for chunk in typed.pop(emitted):
                        self.read._add(chunk)
                    emitted += 1
        except BaseException:
            for f in self.outstanding.values():
                f.cancel()
            raise


class ParquetSink:
    """Typed chunks appended to one Parquet file as they arrive (pyarrow), nothing kept in memory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer: Any = None
        self.schema: Any = None
        self.rows = 0

    def write(self, chunk: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not len(chunk):
            return
        if self.writer is None:
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            self.schema = table.schema
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(self.path, self.schema)
        else:
            table = pa.Table.from_pandas(chunk, schema=self.schema, preserve_index=False)
        self.writer.write_table(table)
        self.rows += len(chunk)

    def close(self, empty: pd.DataFrame) -> Path:
        import pyarrow.parquet as pq

        if self.writer is None:  # nothing matched: an empty file with the frame's columns
            empty.to_parquet(self.path, index=False)
        else:
            self.writer.close()
            if self.schema is not None:
                pq.read_metadata(self.path)  # fail here, not in the analyst's next cell, if it is unreadable
        return self.path


def _release_arrow_cache() -> None:
    """Arrow's allocator (mimalloc) keeps the pages its builders freed while a chunk's columns
    were typed; handed back after each chunk, they do not add up over a large read (1.8 MB of a
    20,000-record read's peak, for 0.4 ms of CPU per 1,000 records)."""
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        pa.default_memory_pool().release_unused()


def _id_parts(ids: Sequence[str]) -> list[list[str]]:
    return [list(ids[i : i + IDS_PER_CALL]) for i in range(0, len(ids), IDS_PER_CALL)]


def _field_chunks(names: list[str]) -> list[list[str]]:
    """Field names in lists of 49: with ``id`` added, each stays within Zoho's 50 fields a call."""
    return [names[i : i + MAX_FIELDS - 1] for i in range(0, len(names), MAX_FIELDS - 1)] or [[]]


def _list_page(
    p: Pipeline, module: str, params: dict[str, Any], page: int, operation: str, *, speculative: bool = False
) -> Body | None:
    """Page ``page`` of the list API, its answer unparsed (``speculative``: see ``Pipeline.call``)."""
    query = dict(params, page=page)
    path = f"/crm/v8/{module}"
    return p.call(
        operation,
        lambda: p.http_bytes("GET", path, params=query),
        idempotent=True,
        module=module,
        speculative=speculative,
    )


def _taken(f: Future[Body | None], operation: str) -> Body | None:
    """A prefetched page's answer, now that the read uses it: its failure, logged at DEBUG while
    the page might have been dropped, is logged here as any other call's."""
    try:
        return f.result()
    except ZohoError as exc:
        client_log.error("%s failed: %s", operation, _secrets.redact(exc))
        raise


def _cancel(futures: dict[int, Future[Any]]) -> None:
    for f in futures.values():
        f.cancel()
    futures.clear()


def _named_fields(fields: Any) -> list[str] | None:
    """The field names a read asks for as ``FieldMeta.resolve`` will give them when all are known
    (``X.name`` -> ``X``, no ``id``), without the metadata; None when ``fields`` names none."""
    if fields is None:
        return None
    given = [fields] if isinstance(fields, str) else list(fields)
    return list(dict.fromkeys(f.split(".", 1)[0] for f in given if f.split(".", 1)[0] != "id"))


class Reader:
    """Every read of one client: ``records()`` (a :class:`Read`), lists, search, COQL, count, by id.
    Takes the client's pipeline and field metadata, never the client."""

    def __init__(self, pipeline: Pipeline, fields: FieldMeta) -> None:
        self.p, self.fields = pipeline, fields

    def records(
        self,
        module: str,
        fields: Any = None,
        where: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        limit: int | None = None,
        *,
        strategy: str = "auto",
        progress: bool | None = None,
        to_parquet: str | Path | None = None,
    ) -> Any:
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        if fields is not None and not isinstance(fields, str):
            fields = list(fields)  # read twice below
        prefetched = self._first_pages(module, fields, where, sort_by, limit, strategy)
        try:
            names = self.fields.resolve(module, fields)  # the metadata call, while the pages travel
        except BaseException:
            _cancel(prefetched)
            raise
        if prefetched and names != _named_fields(fields):
            _cancel(prefetched)  # a name resolve reads otherwise (a dotted api_name): asked again
        read = Read(
            self,
            module,
            names,
            where=where,
            sort_by=sort_by,
            sort_order=sort_order,
            limit=limit,
            progress=progress,
            to_parquet=to_parquet,
            prefetched=prefetched,
        )
        return read.run(strategy)

    def _first_pages(
        self, module: str, fields: Any, where: str | None, sort_by: str | None, limit: int | None, strategy: str
    ) -> dict[int, Future[Body | None]]:
        """The first ten list pages, sent before the field metadata is fetched, for a full read
        whose ``fields=`` names the columns and whose metadata is not cached yet: the pages then
        cross the metadata call instead of waiting for it (the auto strategy starts every full
        read with them). The names are still checked against the metadata before any other call
        and before a frame is returned; an unknown name raises as before, and these pages are
        dropped. Without ``fields`` the pages must wait for the metadata, which gives the names:
        Zoho v8's list API takes ``fields`` as "mandatory when fetching all records"
        (https://www.zoho.com/crm/developer/docs/api/v8/get-records.html; the emulator answers
        REQUIRED_PARAM_MISSING without it), so there is no list call without names."""
        names = _named_fields(fields)
        if (
            not names
            or len(names) > MAX_FIELDS - 1
            or self.fields.cached(module)
            or strategy != "auto"
            or where is not None
            or sort_by is not None
            or limit is not None
        ):
            return {}
        params: dict[str, Any] = {"fields": ",".join(names), "per_page": PER_PAGE}
        pool = self.p.workers()
        return {
            page: pool.submit(_list_page, self.p, module, params, page, "records", speculative=True)
            for page in range(1, PAGE_LIMIT // PER_PAGE + 1)
        }

    def by_ids(self, module: str, ids: list[str], fields: Any = None) -> pd.DataFrame:
        read = Read(self, module, self.fields.resolve(module, fields), operation="records_by_ids")
        return read.by_ids(list(dict.fromkeys(ids)))

    def json_by_ids(self, module: str, ids: list[str], fields: Any = None) -> list[dict[str, Any]]:
        """``by_ids`` as the API answers: the records' JSON objects, no frame built (100 ids a
        call, in parallel past the first 100)."""
        read = Read(self, module, self.fields.resolve(module, fields), operation="records_by_ids")
        parts = _id_parts(list(dict.fromkeys(ids)))
        if len(parts) <= 1:
            return read.json_by_ids(parts[0]) if parts else []
        pool = self.p.workers()
        futures = [pool.submit(read.json_by_ids, p) for p in parts]
        try:
            return [r for f in futures for r in f.result()]
        except BaseException:
            for f in futures:
                f.cancel()
            raise

    def modified_since(
        self,
        module: str,
        fields: Any,
        since: str,
        *,
        ranges: Sequence[IdRange] = (IdRange(),),
        listed: Sequence[Mapping[str, Any]] = (),
    ) -> pd.DataFrame | None:
        """Records with ``Modified_Time`` at or after ``since`` (ISO, with offset) and ids in
        ``ranges`` (read at once, in the order given): COQL, typed like ``records()`` (its COQL
        columns, lookups' names aliased), each range highest id first, then ``listed`` (records
        of these fields as the list API served them, typed with these rather than apart). The list
        API serves 200 a call, one page after another, with ``If-Modified-Since``. None when COQL
        cannot select these fields (over 50 COQL columns, or fields COQL does not serve).

        Each call continues below the last call's lowest id, not at an offset: a record deleted
        from a part already read between two calls would shift an offset past a record."""
        if not ranges:
            raise ValueError("no id range to read")
        names = self.fields.resolve(module, fields)
        meta = self.fields.meta(module)
        shape, _ = coql_columns(meta, names, module)
        if shape is None:
            return None
        # Zoho's COQL compares datetimes given as quoted ISO text with their offset
        # (https://www.zoho.com/crm/developer/docs/api/v8/Get-Records-through-COQL-Query.html).
        base = f"select {', '.join(shape.select)} from {module} where Modified_Time >= '{since}'"
        if len(ranges) == 1:
            rows = self._changed_range(module, base, ranges[0])
        else:
            pool = self.p.workers()
            futures = {i: pool.submit(self._changed_range, module, base, r) for i, r in enumerate(ranges)}
            try:
                rows = [row for i in range(len(ranges)) for row in futures[i].result()]
            except BaseException:
                _cancel(futures)
                raise
        return frames.to_frame([*rows, *listed], meta, names, aliases=shape.aliases)

    def _changed_range(self, module: str, base: str, r: IdRange) -> list[dict[str, Any]]:
        """``modified_since``'s rows in one id range, call after call."""
        rows: list[dict[str, Any]] = []
        hi = r.hi
        while True:
            span = [f"id >= {int(r.lo)}"] if r.lo is not None else []
            span += [f"id < {int(hi)}"] if hi is not None else []
            # COQL takes two conditions per level: a third needs its own parentheses.
            where = f" and ({span[0]} and {span[1]})" if len(span) == 2 else "".join(f" and {c}" for c in span)
            got = data_rows(self.p.coql(f"{base}{where} order by id desc limit {r.limit}", module))
            rows.extend(got)
            if len(got) < r.limit:
                return rows
            hi = int(got[-1]["id"])

    def list_wide(
        self,
        module: str,
        names: list[str],
        sort_by: str | None,
        sort_order: str | None,
        limit: int | None,
        **page_args: Any,
    ) -> list[dict[str, Any]]:
        """``list_pages`` for any number of fields: Zoho lists at most 50 a call, so wider reads go
        in chunks, joined on id in the order of the first."""
        chunks = _field_chunks(names)
        rows = self.list_pages(module, chunks[0], sort_by, sort_order, limit, **page_args)
        if len(chunks) > 1:
            by_id = {r["id"]: dict(r) for r in rows}
            for chunk in chunks[1:]:
                for r in self.list_pages(module, chunk, sort_by, sort_order, limit, **page_args):
                    if r["id"] in by_id:
                        by_id[r["id"]].update(r)
            rows = [by_id[r["id"]] for r in rows]
        return rows

    def list_pages(
        self,
        module: str,
        names: list[str],
        sort_by: str | None,
        sort_order: str | None,
        limit: int | None,
        first_page: int = 1,
        per_page: int | None = None,
        operation: str = "records",
    ) -> list[dict[str, Any]]:
        """Pages of GET /{module}: ?page= up to record 2,000, then ?page_token=."""
        per_page = per_page or (min(PER_PAGE, limit) if limit else PER_PAGE)
        if limit == 0:
            return []
        params: dict[str, Any] = {"fields": ",".join(names or ["id"]), "per_page": per_page}
        if sort_by:
            params["sort_by"] = sort_by
        if sort_order:
            params["sort_order"] = sort_order
        return Walk(
            lambda q: self.p.get(operation, f"/crm/v8/{module}", dict(params, **q), module),
            PageCursor(per_page, page=first_page, what=module),
            limit=limit,
        ).all_rows()

    def page_of(
        self,
        module: str,
        fields: Any,
        sort_by: str | None,
        sort_order: str | None,
        limit: int,
        page: int,
        operation: str,
    ) -> pd.DataFrame:
        """Page ``page`` of ``limit`` records; past record 2,000 a page number is not accepted, so
        page tokens are walked to it."""
        names = self.fields.resolve(module, fields)
        meta = self.fields.meta(module)
        if page * limit <= PAGE_LIMIT:
            rows = self.list_wide(
                module, names, sort_by, sort_order, limit, first_page=page, per_page=limit, operation=operation
            )
        else:
            rows = self.list_wide(module, names, sort_by, sort_order, page * limit, per_page=limit)[
                (page - 1) * limit :
            ]
        return frames.to_frame(rows, meta, names)

    def ids_where(
        self, module: str, where: str, sort_by: str | None, sort_order: str | None, limit: int | None
    ) -> list[str]:
        condition = criteria_to_coql(where, self.fields.field_map(module))
        query = f"select id from {module} where ({condition}) order by {sort_by or 'id'} {sort_order or 'asc'}"
        return [str(r["id"]) for r in self.coql_rows(query, module, limit)]

    def coql_rows(self, query: str, module: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Every row of a COQL query without LIMIT (or the first ``limit``): 2,000 a call, by offset."""
        text = query.rstrip().rstrip(";")
        return Walk(
            lambda q: self.p.coql(f"{text} limit {q['limit']} offset {q['offset']}", module),
            OffsetCursor(),
            limit=limit,
        ).all_rows()

    def record(self, module: str, id: str | int) -> dict[str, Any]:
        rid = str(id)
        meta = self.fields.meta(module)
        rows = data_rows(self.p.get("record", f"/crm/v8/{module}/{rid}", None, module))
        if not rows:
            raise ZohoAPIError(f"{module} record {rid} not found", code="RECORD_NOT_FOUND", status=204)
        return frames.to_frame(rows[:1], meta).iloc[0].to_dict()

    def search(self, module: str, given: dict[str, str], fields: Any, limit: int) -> pd.DataFrame:
        names = self.fields.resolve(module, fields)
        meta = self.fields.meta(module)
        limit = min(limit, SEARCH_REACH)
        per_page = min(PER_PAGE, max(limit, 1))
        base = dict(given, per_page=per_page, fields=",".join(names[:MAX_FIELDS]))
        cursor = PageCursor(per_page, tokens="never", reach=SEARCH_REACH, what=module)
        rows = Walk(
            lambda q: self.p.get("search", f"/crm/v8/{module}/search", dict(base, **q), module), cursor, limit=limit
        ).all_rows()
        if cursor.reached:
            client_log.warning(
                "search on %s stopped at Zoho's %d-match limit; use records(where=...) for all", module, SEARCH_REACH
            )
        return frames.to_frame(rows[:limit], meta, names)

    def coql(self, query: str) -> pd.DataFrame:
        module, selected = coql_shape(query)
        meta = self.fields.meta(module)
        rows = data_rows(self.p.coql(query, module)) if has_limit(query) else self.coql_rows(query, module)
        aggregate = aggregate_select(query)
        if aggregate is not None:
            return aggregate_frame(rows, aggregate, meta)
        return frames.to_frame(rows, meta, selected)

    def count(self, module: str, where: str | None = None) -> int:
        if where:
            return len(self.ids_where(module, where, None, None, None))
        data = self.p.get("count", f"/crm/v8/{module}/actions/count", None, module)
        if not data or "count" not in data:
            raise ZohoAPIError(f"{module}: the count answer had no count", code="MALFORMED_RESPONSE", status=200)
        return int(data["count"])


__all__ = ["Read", "Reader", "STRATEGIES", "coql_columns", "StrategyChoice", "ParquetSink"]
