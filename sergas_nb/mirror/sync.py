"""Planning and running one module's sync: what to read from the CRM, and reading it (no writes here).

A module's first sync (and ``full``, and a changed field type) reads the whole module with
``crm.records`` (its best strategy). Later syncs read only what changed:

- records with ``Modified_Time`` after the watermark (``If-Modified-Since`` on the list API, one
  call and a 304 when nothing changed). Zoho's timestamps have one-second resolution, so when the
  last read may have run in the watermark's own second the watermark is moved back ``overlap``
  seconds (a write in that second after the read is not missed); rows read twice are de-duplicated
  by id and only real differences count as changes. More changes than the first page holds are read
  by COQL below that page, in id ranges at once (``change_ranges``). The reads are timed by Zoho's
  clock (its answers' ``Date``): when the last one began, and, for a read spread over several
  calls, where its watermark stops;
- deletions from Get Deleted Records since the deletion watermark (also with ``If-Modified-Since``);
- rollup fields (they change without ``Modified_Time``, when a child record changes): the child
  module's sync knows which parents its changed, deleted and restored records point at (old and new
  lookup ids) and re-reads id + rollup columns of only those parents. A rollup whose child module is
  not mirrored is re-read for every record every ``computed_every`` syncs (default 1);
- formula fields, and every rollup: id + those columns for every record on each id reconciliation
  (and every ``computed_every`` syncs when it is set);
- an id reconciliation (id + Modified_Time of every record, compared with the local copy) every
  ``reconcile_every`` syncs and on ``full``: it catches records restored from the recycle bin and
  anything else that drifted;
- the field metadata on the first sync of a module in a session, on reconciliation and when a read
  fails on a field (see drift.py).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pandas as pd

from sergas_nb import frames
from sergas_nb._metrics import ContextExecutor, ServerClock, server_clock
from sergas_nb._paging import COQL_LIMIT, IdRange
from sergas_nb.errors import ZohoAPIError
from sergas_nb.mirror import drift as drift_mod

if TYPE_CHECKING:
    from sergas_nb.client import ZohoClient

MAX_FIELDS = 50  # fields per list call
PART_ROWS = 150  # changes an id range is sized for: a LIMIT of 200 (one credit) holds it with room
MAX_PARTS = 8  # id ranges of changes read at once (COQL counts against Zoho's sub-concurrency of 10)
NEAR = 50  # the first page's lowest ids that tell how dense the changes are just below it
# A capped watermark stops this long before the earliest answer's Date: Date has one-second
# resolution and is written after the server read what it answers (a large answer's reading and
# sending take a good part of a second).
DATE_MARGIN = timedelta(seconds=2)


@dataclass
class State:
    """What the mirror holds about a module (``_mirror_modules``); empty for a new module."""

    module: str
    meta: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    watermark: str | None = None
    deleted_watermark: str | None = None
    read_started: str | None = None  # Zoho's clock when it ends in Z, else this machine's (see ``since``)
    syncs: int = 0
    last_reconcile: int = 0

    @classmethod
    def from_row(cls, module: str, row: Mapping[str, Any] | None) -> State:
        if not row:
            return cls(module)
        return cls(
            module,
            meta=_meta_json(row["fields_json"]),
            removed=list(_meta_json(row["removed_json"])),
            watermark=row["watermark"],
            deleted_watermark=row["deleted_watermark"],
            read_started=row["read_started"],
            syncs=int(row["syncs"] or 0),
            last_reconcile=int(row["last_reconcile"] or 0),
        )


@dataclass
class Options:
    reconcile_every: int = 10
    computed_every: int = 1
    overlap: float = 1.0
    clock_skew: float = 300.0


@dataclass
class Parent:
    """A mirrored module with rollups over this module's records, through the lookup ``column``."""

    module: str
    meta: list[dict[str, Any]]
    rollups: list[str]
    column: str  # e.g. "Account_Name.id" on Deals


@dataclass
class ParentRefresh:
    """Rollup values re-read for the parents a child's sync touched (written with the child)."""

    module: str
    meta: list[dict[str, Any]]
    values: pd.DataFrame


def rollups_over(meta: list[dict[str, Any]], child: str) -> list[str]:
    """Rollup fields of a module summarising ``child`` records (``rollup_summary.based_on_module``)."""
    out = []
    for f in meta:
        if f.get("data_type") == "rollup_summary":
            based = ((f.get("rollup_summary") or {}).get("based_on_module") or {}).get("api_name")
            if based == child:
                out.append(str(f["api_name"]))
    return out


def rollup_children(meta: list[dict[str, Any]]) -> set[str]:
    out = set()
    for f in meta:
        if f.get("data_type") == "rollup_summary":
            based = ((f.get("rollup_summary") or {}).get("based_on_module") or {}).get("api_name")
            out.add(str(based))
    return out


def parents_of(child: str, child_meta: list[dict[str, Any]], known: Mapping[str, list[dict[str, Any]]]) -> list[Parent]:
    """The mirrored modules whose rollups summarise ``child``, with the child's lookup to each."""
    out = []
    for module, meta in known.items():
        rollups = rollups_over(meta, child) if module != child else []
        if not rollups:
            continue
        for f in child_meta:
            target = ((f.get("lookup") or {}).get("module") or {}).get("api_name")
            if f.get("data_type") == "lookup" and target == module:
                out.append(Parent(module, meta, rollups, f"{f['api_name']}.id"))
    return out


@dataclass
class Delta:
    """What a module's sync read; ``write.apply`` lands it in one transaction."""

    module: str
    meta: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    full: pd.DataFrame | None = None
    upserts: pd.DataFrame | None = None
    deleted: list[dict[str, Any]] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)
    refresh: pd.DataFrame | None = None
    watermark: str | None = None
    deleted_watermark: str | None = None
    read_started: str | None = None
    strategy: str = ""
    reconciled: bool = False
    drift: drift_mod.Drift | None = None
    parents: list[ParentRefresh] = field(default_factory=list)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(microsecond=0).isoformat()


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def since(watermark: str | None, read_started: str | None, opts: Options) -> str | None:
    """The If-Modified-Since to send: the watermark, moved back ``overlap`` seconds when the last
    read may have run within the watermark's second. ``read_started`` is Zoho's clock when it ends
    in ``Z`` (``server_started``: its answers' ``Date``, allowing ``DATE_MARGIN``), else this
    machine's (allowing ``clock_skew`` between the clocks)."""
    if watermark is None:
        return None
    wm = _parse(watermark)
    started = _parse(read_started) if read_started else None
    slack = DATE_MARGIN.total_seconds() if read_started and read_started.endswith("Z") else opts.clock_skew
    if started is None or started <= wm + timedelta(seconds=opts.overlap + slack):
        return _iso(wm - timedelta(seconds=max(opts.overlap, 1.0)))
    return _iso(wm)


def server_started(when: datetime) -> str:
    """A read's start by Zoho's clock, as ``read_started`` keeps it (``Z``: see ``since``)."""
    return when.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def fetch_meta(crm: ZohoClient, module: str) -> list[dict[str, Any]]:
    """The module's field metadata as the client types frames with (fresh from the CRM)."""
    crm.refresh_metadata(module)
    df = crm.fields(module)
    out = []
    for row in df.drop(columns=["dtype", "writable"]).to_dict("records"):
        out.append({k: v for k, v in row.items() if not (isinstance(v, float) and math.isnan(v)) and v is not pd.NA})
    return out


def _max_time(values: Any) -> str | None:
    s = pd.Series(values).dropna()
    if s.empty:
        return None
    return _iso(pd.Timestamp(s.max()).to_pydatetime())


def _later(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if _parse(a) >= _parse(b) else b


def _names(meta: list[dict[str, Any]]) -> list[str]:
    return [str(f["api_name"]) for f in meta if f["api_name"] != "id"]


def _strategy(crm: ZohoClient, module: str, start: pd.Timestamp) -> str:
    kinds = [e.status for e in crm.events_since(start) if e.kind == "read_strategy" and e.module == module]
    return ",".join(dict.fromkeys(kinds))


_META: dict[str, list[dict[str, Any]]] = {}


def _meta_json(text: str | None) -> list[dict[str, Any]]:
    """Field metadata from its JSON, parsed once per text: every module sync reads every module's
    (100 KB for Accounts), and parsing it beside large frames set off full garbage collections."""
    text = text or "[]"
    got = _META.get(text)
    if got is None:
        if len(_META) > 64:
            _META.clear()
        got = _META[text] = orjson.loads(text)
    return got  # shared: nothing in the mirror changes a parsed field list in place


def change_ranges(local_ids: np.ndarray, listed: Sequence[int]) -> list[IdRange]:
    """Id ranges, highest first, for the changes below a first list page of changes (id-descending)
    whose ids are ``listed``. Each range has a LIMIT for the changes it is expected to hold, and
    they are read at once.

    ``local_ids`` (the copy's ids, ascending) tell how dense the changes are just above the page's
    floor: its lowest ``NEAR`` ids among the copy's ids they span. Ranges of the copy's ids that
    hold ``PART_ROWS`` changes at that density tile the ids below: evenly when ``MAX_PARTS`` of
    them reach the bottom, else from the page down, the last two taking what is left. Changes
    spread evenly fill them all; a block of changes (edits follow the newest records, or one
    import) the first ones; either way no range is read one call after another."""
    below = min(listed) if listed else None
    if below is None:
        return [IdRange()]
    ids = local_ids[: int(np.searchsorted(local_ids, below, "left"))]
    n = len(ids)
    if n == 0:
        return [IdRange(None, below)]
    near = sorted(listed)[: min(len(listed), NEAR)]
    spanned = int(np.searchsorted(local_ids, near[-1], "right")) - n  # the copy's ids in [below, near[-1]]
    density = min(1.0, len(near) / max(spanned, 1))
    out: list[IdRange] = []
    top: int | None = below
    taken = 0
    sizes = _range_sizes(max(1.0, PART_ROWS / density), n, MAX_PARTS)
    for i, size in enumerate(sizes):
        taken += size
        lo = None if i == len(sizes) - 1 else int(ids[n - taken])
        expected = density * size * 1.3  # room for the density's error
        out.append(IdRange(lo, top, next((t for t in (200, 1000) if expected <= t), COQL_LIMIT)))
        top = lo
    return out


def _range_sizes(first: float, n: int, parts: int) -> list[int]:
    """``n`` split into at most ``parts`` whole sizes: equal ones of about ``first`` when they
    suffice; else ``parts - 2`` of ``first`` (where the changes are likeliest) and the rest in two."""
    if n <= first * parts:
        k = max(1, math.ceil(n / first))
        return [n // k + (1 if i < n % k else 0) for i in range(k)]
    head = [max(1, int(first))] * (parts - 2)
    rest = n - sum(head)
    return [*head, rest // 2, rest - rest // 2]


def listed_ids(info: Mapping[str, Any], rows: list[dict[str, Any]]) -> list[int] | None:
    """The ids of a list page that says it is id-descending (its ``info.sort_by`` and
    ``sort_order``): every change with a higher id than its lowest is on it. None when it says
    otherwise (or an id is not digits)."""
    if info.get("sort_by") != "id" or info.get("sort_order") != "desc" or not rows:
        return None
    ids = [str(r.get("id")) for r in rows]
    return [int(i) for i in ids] if all(i.isdigit() for i in ids) else None


class ModuleSync:
    """Reads one module's changes from the CRM (no writes to the mirror)."""

    def __init__(
        self,
        crm: ZohoClient,
        state: State,
        opts: Options,
        local_times: Callable[[], pd.DataFrame],
        *,
        full: bool = False,
        reconcile: bool = False,
        check_schema: bool = False,
        parents: Callable[[], list[Parent]] | None = None,
        local_lookups: Callable[[list[str], str], list[str]] | None = None,
        local_ids: Callable[[], np.ndarray] | None = None,
        watched: set[str] | None = None,
    ) -> None:
        self.crm, self.state, self.opts = crm, state, opts
        # The mirrored modules with rollups over this one; asked only when this sync touched records
        # (it may wait for the reads of modules synced before this one).
        self.parents = parents or list
        self.local_lookups = local_lookups  # (child ids, lookup column) -> parent ids in the copy
        self.watched = watched or set()  # modules mirrored (their syncs refresh their parents' rollups)
        self.module = state.module
        self.local_times = local_times  # id + Modified_Time of the copy (for reconciliation)
        self.local_ids = local_ids  # the copy's ids as integers, ascending (to split a read of changes)
        self._local_ids_f: Future[np.ndarray] | None = None
        self.sync_no = state.syncs + 1
        self.full = full or not state.meta
        self.reconcile = (
            full
            or reconcile
            or (opts.reconcile_every > 0 and self.sync_no - state.last_reconcile >= opts.reconcile_every)
        )
        self.check_schema = check_schema or self.full or self.reconcile
        self.started = pd.Timestamp.now(tz="UTC")
        # When this module's reads began, if they took more than one call: a record changed
        # meanwhile, in a part already read, is missed, though records read later may be newer. The
        # watermark then stops at the reads' start, so the next sync asks from before that record's
        # change: at the earliest Date the CRM's answers carried (Zoho's clock), or without one at
        # this machine's time less ``clock_skew``. One call is one moment: no cap.
        self.spread_from: datetime | None = None
        self.clock: ServerClock | None = None

    def run(self) -> Delta:
        with server_clock() as self.clock:
            delta = self._run()
        if self.clock.earliest is not None:
            # When the reads began by Zoho's clock: the next sync knows from it, without allowing
            # for this machine's clock, whether a write could have followed them in the
            # watermark's second (``since``).
            delta.read_started = server_started(self.clock.earliest)
        return delta

    def _run(self) -> Delta:
        read_started = _iso(datetime.now(UTC))
        meta, removed, drift = self.state.meta, list(self.state.removed), None
        if self.check_schema:
            meta, removed, drift = self._schema()
        full = self.full or bool(drift and drift.retyped)
        delta = Delta(self.module, meta, removed, read_started=read_started, drift=drift)
        if full:
            self._read_full(delta)
        else:
            try:
                self._read_changes(delta)
            except (ZohoAPIError, ValueError) as exc:
                # A field removed (the list refuses it) or retyped (its values no longer fit): look again.
                if self.check_schema or not _field_trouble(exc):
                    raise
                self.check_schema = True
                return self._run()
            if drift and drift.added:
                self._read_columns(delta, drift.added)
        delta.strategy = _strategy(self.crm, self.module, self.started) or ("full" if full else "incremental")
        return delta

    # -- schema --------------------------------------------------------------------------------
    def _schema(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], drift_mod.Drift | None]:
        current = fetch_meta(self.crm, self.module)
        if not self.state.meta:
            return current, list(self.state.removed), None
        d = drift_mod.compare(self.state.meta, current)
        removed = [f for f in self.state.removed if f["api_name"] not in {g["api_name"] for g in current}]
        removed += [f for f in self.state.meta if f["api_name"] in d.removed]
        return current, removed, d

    # -- reads ---------------------------------------------------------------------------------
    def _read_full(self, delta: Delta) -> None:
        self.spread_from = datetime.now(UTC)  # many calls, in parallel: see ``spread_from``
        df = self.crm.records(self.module, strategy="auto")
        delta.full = df
        delta.watermark = self._capped(_max_time(df["Modified_Time"])) if "Modified_Time" in df else None
        delta.reconciled = True
        # Deletions before this read are not in the copy; the next sync asks from a little before now.
        started = _parse(delta.read_started or _iso(datetime.now(UTC)))
        delta.deleted_watermark = _later(
            self.state.deleted_watermark, _iso(started - timedelta(seconds=self.opts.clock_skew))
        )

    def _read_changes(self, delta: Delta) -> None:
        st, meta = self.state, delta.meta
        del_headers = {}
        del_since = since(st.deleted_watermark, st.read_started, self.opts)
        if del_since:
            del_headers["If-Modified-Since"] = del_since
        # The deletions and the changed records are independent reads: both at once (a call each
        # when nothing changed, so an unchanged module costs one round trip, not two). The copy's
        # ids, which a read of more than a page of changes is cut by, are fetched meanwhile too.
        with ContextExecutor(2, thread_name_prefix="sergas-mirror") as pool:
            if self.local_ids is not None:
                self._local_ids_f = pool.submit(self.local_ids)
            deleted_f = pool.submit(
                lambda: list(self.crm.paginate(f"/crm/v8/{self.module}/deleted", {"type": "all"}, headers=del_headers))
            )
            try:
                upserts = self._changed(meta)
            except BaseException:
                with contextlib.suppress(Exception):
                    deleted_f.result()
                raise
            entries = deleted_f.result()
        newest = _max_time(upserts["Modified_Time"]) if len(upserts) else None
        # The old watermark was read before these reads began: never later than their start.
        delta.watermark = _later(st.watermark, self._capped(newest))
        delta.deleted = [
            {"id": str(e["id"]), "deleted_time": e.get("deleted_time"), "display_name": e.get("display_name")}
            for e in entries
            if e.get("id") is not None
        ]
        delta.deleted_watermark = _later(
            st.deleted_watermark, max((d["deleted_time"] for d in delta.deleted if d["deleted_time"]), default=None)
        )
        gone = {d["id"] for d in delta.deleted}
        upserts = upserts[~upserts["id"].isin(gone)]  # deleted after it was listed: the deletion wins

        computed = drift_mod.computed_fields(meta)
        # Rollups over a mirrored child are refreshed by the child's sync; the others are re-read whole.
        unwatched = [
            f["api_name"]
            for f in meta
            if f.get("data_type") == "rollup_summary" and not rollup_children([f]) <= self.watched
        ]
        due = self.opts.computed_every > 0 and self.sync_no % self.opts.computed_every == 0
        if self.reconcile:
            upserts = self._reconcile(delta, upserts, computed)
        elif due and unwatched:
            delta.refresh = self.crm.records(self.module, fields=unwatched)
        delta.upserts = upserts.reset_index(drop=True)
        self._touch_parents(delta)

    def _changed(self, meta: list[dict[str, Any]]) -> pd.DataFrame:
        """Records modified since the watermark (moved back by the overlap), de-duplicated by id.

        The first list page goes with ``If-Modified-Since`` (a 304 when nothing changed: one call).
        When it says more records changed, the rest comes by COQL on ``Modified_Time`` (2,000 a call
        instead of 200 a page, one page after another): below the page's lowest id, in id ranges
        read at once (``change_ranges``), when the page is id-descending; else everything since
        the same time, this page's records again."""
        st = self.state
        names = _names(meta)
        headers = {}
        mod_since = since(st.watermark, st.read_started, self.opts)
        if mod_since:
            headers["If-Modified-Since"] = mod_since
        first = names[:MAX_FIELDS] if len(names) > MAX_FIELDS else names
        rows: dict[str, dict[str, Any]] = {}
        began = datetime.now(UTC)
        pages = self.crm.paginate(f"/crm/v8/{self.module}", {"fields": ",".join(first)}, headers=headers, pages=True)
        for n, page in enumerate(pages):
            listed = page.get("data") or []
            for r in listed:
                rows[str(r["id"])] = r  # read twice (the overlap, a page shift): the last copy wins
            if n:
                self.spread_from = began  # more than one page
            info = page.get("info") or {}
            if info.get("more_records") and mod_since and len(names) <= MAX_FIELDS:
                page_ids = listed_ids(info, listed) if n == 0 else None
                if page_ids is None:
                    ranges = [IdRange()]
                else:
                    local = self._local_ids_f.result() if self._local_ids_f else np.empty(0, np.int64)
                    ranges = change_ranges(local, page_ids)
                got = self.crm.modified_since(
                    self.module, names, mod_since, ranges=ranges, listed=listed if page_ids is not None else ()
                )
                if got is not None:
                    close = getattr(pages, "close", None)
                    if close is not None:
                        close()
                    if page_ids is not None:
                        # This page's part is not read again: a record of it changed before the
                        # COQL calls would be missed, so the watermark stops at this read's start.
                        self.spread_from = began
                    elif len(got) >= COQL_LIMIT:
                        self.spread_from = began  # more than one COQL call
                    # Else the COQL read this page's records again, in one call: no record changed
                    # after the page was served is missed, so the two calls need no cap.
                    return got.drop_duplicates("id", keep="last").reset_index(drop=True)
        if len(names) > MAX_FIELDS and rows:
            self.spread_from = began  # the rows' other fields, read by id after the pages
            return self.crm.records_by_ids(self.module, list(rows), names)
        if rows:
            return frames.to_frame(list(rows.values()), meta, names)
        # nothing changed (a 304): no typed frame to build (a tenth of a second for none)
        return pd.DataFrame({c: pd.Series(dtype="object") for c in ["id", "Modified_Time"]})

    def _capped(self, newest: str | None) -> str | None:
        """The newest ``Modified_Time`` read, no later than the reads' start when they were spread
        over several calls (``spread_from``)."""
        if newest is None or self.spread_from is None:
            return newest
        earliest = self.clock.earliest if self.clock is not None else None
        if earliest is not None:
            cap = _iso(earliest - DATE_MARGIN)
        else:
            cap = _iso(self.spread_from - timedelta(seconds=self.opts.clock_skew))
        return newest if _parse(newest) <= _parse(cap) else cap

    def _touch_parents(self, delta: Delta) -> None:
        """Re-read the rollups of the parents this sync's changed, deleted and restored records point
        at, before (in the copy) and after (in what was read)."""
        up = delta.upserts if delta.upserts is not None else pd.DataFrame({"id": []})
        touched_ids = [str(i) for i in up["id"]] + [d["id"] for d in delta.deleted] + list(delta.vanished)
        if not touched_ids:
            return
        for parent in self.parents():
            ids = set(up[parent.column].dropna().astype(str)) if parent.column in up else set()
            if self.local_lookups is not None:
                ids |= set(self.local_lookups(touched_ids, parent.column))
            if ids:
                values = self.crm.records_by_ids(parent.module, sorted(ids), parent.rollups)
                delta.parents.append(ParentRefresh(parent.module, parent.meta, values))

    def _reconcile(self, delta: Delta, upserts: pd.DataFrame, computed: list[str]) -> pd.DataFrame:
        """Every id (and Modified_Time) in the CRM against the copy: restored, missed, vanished."""
        remote = self.crm.records(self.module, fields=["Modified_Time", *computed])
        if computed:
            delta.refresh = remote[["id", *[c for c in remote.columns if c in _computed_cols(delta.meta, computed)]]]
        local = self.local_times()
        gone = {d["id"] for d in delta.deleted}
        merged = local.merge(
            remote[["id", "Modified_Time"]], on="id", how="outer", suffixes=("_local", ""), indicator=True
        )
        stale = merged[
            (merged["_merge"] == "right_only")
            | ((merged["_merge"] == "both") & (merged["Modified_Time_local"] != merged["Modified_Time"]))
        ]["id"]
        fetch = [i for i in stale.astype(str) if i not in gone and i not in set(upserts["id"].astype(str))]
        delta.vanished = [i for i in merged[merged["_merge"] == "left_only"]["id"].astype(str) if i not in gone]
        delta.reconciled = True
        if fetch:
            extra = self.crm.records_by_ids(self.module, fetch, _names(delta.meta))
            upserts = frames.concat_frames([upserts, extra], delta.meta, _names(delta.meta)) if len(upserts) else extra
        return upserts

    def _read_columns(self, delta: Delta, added: list[str]) -> None:
        """Values of fields just added in the CRM, for every record."""
        new = self.crm.records(self.module, fields=added)
        delta.refresh = new if delta.refresh is None else delta.refresh.merge(new, on="id", how="outer")


def _computed_cols(meta: list[dict[str, Any]], names: list[str]) -> list[str]:
    return [c for c in frames.columns_for(meta, names) if c != "id"]


def _field_trouble(exc: Exception) -> bool:
    if isinstance(exc, ValueError):
        return "field" in str(exc)
    details = getattr(exc, "details", None) or {}
    return getattr(exc, "code", None) == "INVALID_DATA" and bool(details.get("api_name"))
