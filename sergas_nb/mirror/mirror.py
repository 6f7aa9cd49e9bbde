"""``sn.Mirror``: the org's modules on disk, synced incrementally, read as typed frames or SQL.

    with sn.Mirror(crm, "~/sergas-mirror") as m:
        m.sync()                        # one row per module: added, changed, deleted, calls, ...
        m.frame("Accounts")             # the same columns and dtypes as crm.records("Accounts")
        m.sql('select "Industry", count(*) n from Accounts group by 1')
        m.changes("Accounts")           # what the last sync changed, field by field

How a sync reads is in sync.py; the file, its lock and transactions in store.py.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from sergas_nb import frames
from sergas_nb._metrics import scope as metrics_scope
from sergas_nb.mirror import columns, write
from sergas_nb.mirror import report as report_mod
from sergas_nb.mirror.columns import quote
from sergas_nb.mirror.store import MirrorError, MirrorStore
from sergas_nb.mirror.sync import Delta, ModuleSync, Options, State, parents_of

if TYPE_CHECKING:
    from sergas_nb.client import ZohoClient

# Modules Zoho lists but whose records the list API does not serve (settings-like, or not records).
_NOT_RECORDS = frozenset({"Home", "Feeds", "Reports", "Dashboards", "Analytics", "Documents", "Visits", "Social"})


@dataclass
class _Read:
    """A module's reads, waiting to be written: the state they started from, and their cost."""

    state: State
    delta: Delta
    calls: int
    credits: int
    seconds: float


class _Earlier:
    """The modules read before one in a run: their field metadata once their reads are done (a
    parent read earlier in the run: its children's syncs refresh its rollups, as it now has them)."""

    def __init__(self, names: list[str], reads: list[Future[_Read]], known: dict[str, list[dict[str, Any]]]) -> None:
        self.names, self.reads, self.known = names, reads, known

    def metas(self) -> dict[str, list[dict[str, Any]]]:
        out = dict(self.known)
        for name, f in zip(self.names, self.reads, strict=True):
            out[name] = f.result().delta.meta
        return out


class Mirror:
    """A local copy of the modules an analyst works with, in a DuckDB file under ``path``.

    ``modules``: which modules (None: every module the CRM lists as API-supported, new ones as
    they appear). ``reconcile_every``: an id reconciliation every N syncs of a module (restored
    records, drift, and every formula and rollup column re-read). Rollups over a mirrored module
    (Accounts' open deals amount, Deals mirrored) follow that module's syncs: only the parents its
    changed records point at are re-read. ``computed_every``: rollups over a module that is not
    mirrored are re-read for every record every N syncs (0: only on reconciliation).
    ``overlap``: seconds the watermark is moved back when the last read may have shared its second.
    ``clock_skew``: how far this machine's clock may be from Zoho's (for a first sync's deletions,
    and where Zoho's answers carry no ``Date``: otherwise the sync times its reads by Zoho's clock).
    """

    def __init__(
        self,
        crm: ZohoClient,
        path: str | os.PathLike[str],
        *,
        modules: Sequence[str] | None = None,
        reconcile_every: int = 10,
        computed_every: int = 1,
        overlap: float = 1.0,
        clock_skew: float = 300.0,
        busy_timeout: float = 60.0,
    ) -> None:
        if reconcile_every < 0 or computed_every < 0:
            raise ValueError("reconcile_every and computed_every must be >= 0")
        if overlap < 0 or clock_skew < 0:
            raise ValueError("overlap and clock_skew must be >= 0")
        self.crm = crm
        self.path = Path(path).expanduser()
        self.store = MirrorStore(self.path, crm.api_url, busy_timeout=busy_timeout)
        self.modules = list(modules) if modules is not None else None
        self.opts = Options(reconcile_every, computed_every, overlap, clock_skew)
        self._checked: set[str] = set()  # modules whose metadata this session has looked at
        self._closed = False

    def __repr__(self) -> str:
        return f"Mirror({str(self.path)!r})"

    # -- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        self._closed = True
        self.store.close()

    def __enter__(self) -> Mirror:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self) -> None:
        if self._closed:
            raise MirrorError(f"{self!r} is closed")

    # -- sync ---------------------------------------------------------------------------------
    def _default_modules(self) -> list[str]:
        data = self.crm.request("GET", "/crm/v8/settings/modules")
        return [
            str(m["api_name"])
            for m in data.get("modules") or []
            if m.get("api_supported") and m.get("api_name") not in _NOT_RECORDS
        ]

    def sync(
        self,
        modules: Iterable[str] | None = None,
        *,
        full: bool = False,
        reconcile: bool = False,
        check_schema: bool = False,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """Bring the copy up to date; one report row per module (added, changed, deleted, calls,
        credits, seconds, strategy, watermark). Each module lands in one transaction: a sync
        stopped at any moment leaves the previous copy, and the next one converges.

        ``full``: read every module whole; ``reconcile``: compare every id now (not only every
        ``reconcile_every`` syncs); ``check_schema``: look for added, removed or retyped fields now."""
        self._open()
        with self.store.sync_lock(), self.store.hold():
            known = self.store.modules()
            names = list(modules) if modules is not None else self.modules
            if names is None:
                names = self._default_modules() if full or not known or not self._checked else sorted(known)
            names = list(dict.fromkeys(names))  # a module named twice is synced once
            bar = _bar(len(names), progress)
            rows: list[report_mod.ModuleReport] = []
            sync_no = 1 + max((int(r["syncs"] or 0) for r in known.values()), default=0)
            # modules whose syncs refresh their parents' rollups: what this mirror syncs
            watched = set(self.modules) if self.modules is not None else set(known) | set(names)
            read = functools.partial(self._read_module, full=full, reconcile=reconcile, check_schema=check_schema)
            base = {name: State.from_row(name, r).meta for name, r in known.items()}
            # Up to two modules' reads run at once: the next module's reads from the CRM go beside
            # this one's when this one reads only its changes (an unchanged module is two calls of
            # a round trip each, which need nothing from the module before), and beside this one's
            # landing otherwise. Not beside a whole module read or landing (a first or full sync):
            # two frames of whole modules would add up in memory. Writes stay in order, and the
            # rollups a module re-reads for its parents wait for every earlier module's reads
            # (``_Earlier``), so they are never older than what an earlier module read.
            reads: list[Future[_Read]] = []

            def start(j: int) -> None:
                if j == len(reads) and j < len(names):
                    earlier = _Earlier(names[:j], reads[:j], base)
                    reads.append(pool.submit(read, names[j], earlier, watched))

            try:
                # On a failure, leaving the pool waits for the read still running: none is left
                # running against a closed client or file.
                with ThreadPoolExecutor(2, thread_name_prefix="sergas-mirror-read") as pool:
                    for i, module in enumerate(names):
                        if bar is not None:
                            bar.set_postfix_str(module)
                        start(i)
                        if not full and module in known:
                            start(i + 1)
                        got = reads[i].result()
                        if got.delta.full is None:
                            start(i + 1)
                        # The last module's transaction writes the run's report rows too.
                        last = rows if i == len(names) - 1 else None
                        rows.append(self._write_module(got, report=last, sync_no=sync_no))
                        if bar is not None:
                            bar.update(1)
            finally:
                if bar is not None:
                    bar.close()
        return report_mod.frame(rows)

    def _read_module(
        self,
        module: str,
        earlier: _Earlier,
        watched: set[str],
        *,
        full: bool,
        reconcile: bool,
        check_schema: bool,
    ) -> _Read:
        """One module's reads from the CRM (nothing written): its ``Delta`` and what they cost
        (its own calls: another module's reads may run meanwhile, in their own metrics scope)."""
        t0 = time.perf_counter()
        # Only this module's own write changes its row, so the committed copy has it even while an
        # earlier module of the run is landing.
        state = State.from_row(module, self.store.modules().get(module))
        job = ModuleSync(
            self.crm,
            state,
            self.opts,
            lambda: self._local_times(module),
            full=full,
            reconcile=reconcile,
            check_schema=check_schema or module not in self._checked,
            parents=lambda: parents_of(module, state.meta, earlier.metas()),
            local_lookups=lambda ids, column: self._local_lookups(module, ids, column),
            local_ids=lambda: self._local_ids(module),
            watched=watched,
        )
        tag = f"mirror:{id(self)}:{module}:{time.monotonic_ns()}"
        with metrics_scope(tag):
            start = pd.Timestamp.now(tz="UTC")
            delta = job.run()
            events = [e for e in self.crm.events_since(start) if e.scope == tag]
        calls, credits = report_mod.usage(events)
        return _Read(state, delta, calls, credits, time.perf_counter() - t0)

    def _write_module(
        self, got: _Read, *, report: list[report_mod.ModuleReport] | None = None, sync_no: int = 0
    ) -> report_mod.ModuleReport:
        """Land one module's reads in one transaction; with ``report`` (the run's earlier rows),
        the run's report rows, this module's included, land in it as well (a transaction saved)."""
        t0 = time.perf_counter()
        delta, state = got.delta, got.state
        with self.store.transaction() as con:
            counts = write.apply(con, delta, state, state.syncs + 1)
            row = report_mod.ModuleReport(
                delta.module,
                counts["added"],
                counts["changed"],
                counts["deleted"],
                got.calls,
                got.credits,
                round(got.seconds + time.perf_counter() - t0, 3),
                delta.strategy,
                delta.watermark,
            )
            if report is not None:
                self._record(con, [*report, row], sync_no)
        self._checked.add(delta.module)
        return row

    @staticmethod
    def _record(con: duckdb.DuckDBPyConnection, rows: list[report_mod.ModuleReport], sync_no: int) -> None:
        con.executemany(
            "INSERT INTO _mirror_syncs VALUES (?, now(), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[sync_no, *(getattr(r, c) for c in report_mod.COLUMNS)] for r in rows],
        )

    def _local_times(self, module: str) -> pd.DataFrame:
        meta = self._state(module).meta
        dtypes = columns.dtypes_for(meta, ["Modified_Time"])
        with self.store.read() as con:
            if module not in self._tables(con):
                return frames.to_frame([], meta, ["Modified_Time"])
            return write.read_frame(con, module, dtypes, meta)

    def _local_ids(self, module: str) -> np.ndarray:
        """The copy's record ids as integers, ascending (Zoho's ids are digits; any other is left out)."""
        with self.store.read() as con:
            if module not in self._tables(con):
                return np.empty(0, np.int64)
            got = con.execute(
                f"SELECT i FROM (SELECT TRY_CAST(id AS BIGINT) AS i FROM {quote(module)}) "
                "WHERE i IS NOT NULL ORDER BY i"
            ).fetchnumpy()["i"]
        return np.asarray(got, dtype=np.int64)

    def _local_lookups(self, module: str, ids: list[str], column: str) -> list[str]:
        """The values of a lookup column (parent ids) the copy holds for these records."""
        with self.store.read() as con:
            if column not in write.existing_columns(con, module):
                return []
            con.register("_lk_ids", pa.table({"id": pa.array(ids, type=pa.large_string())}))
            try:
                got = con.execute(
                    f"SELECT DISTINCT {quote(column)} FROM {quote(module)} "
                    f"WHERE id IN (SELECT id FROM _lk_ids) AND {quote(column)} IS NOT NULL"
                ).fetchall()
            finally:
                con.unregister("_lk_ids")
        return [str(r[0]) for r in got]

    # -- reads --------------------------------------------------------------------------------
    def _state(self, module: str, con: duckdb.DuckDBPyConnection | None = None) -> State:
        row = self.store.modules(con).get(module)
        if row is None:
            raise MirrorError(f"{module} is not in this mirror yet; run sync(modules=[{module!r}]) first")
        return State.from_row(module, row)

    @staticmethod
    def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
        return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}

    def frame(self, module: str, *, removed: bool = False) -> pd.DataFrame:
        """The module as a typed frame: the columns and dtypes of ``crm.records(module)``, rows in
        its order (id descending). ``removed=True`` adds the columns of fields removed in the CRM."""
        self._open()
        # The field metadata (the dtypes) and the table from one snapshot: a sync committing between
        # the two reads (a field added or retyped) must not give columns and dtypes that disagree.
        with self.store.read() as con, self.store.snapshot(con):
            state = self._state(module, con)
            dtypes = write.table_dtypes(state.meta, state.removed) if removed else columns.dtypes_for(state.meta)
            return write.read_frame(con, module, dtypes, state.meta + state.removed)

    def sql(self, query: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """One read-only SQL statement (SELECT, WITH ..., DESCRIBE, SHOW) over the modules' tables;
        quote dotted columns: ``select "Account_Name.id" from Deals``."""
        self._open()
        with self.store.read() as con:
            check_select(con, query)
            return con.execute(query, params or []).df()

    def changes(self, module: str | None = None) -> pd.DataFrame:
        """The last sync's changes: id, change (added / changed / deleted), field, old, new."""
        self._open()
        where, args = ("WHERE module = ?", [module]) if module else ("", [])
        with self.store.read() as con:
            df = con.execute(f"SELECT module, id, change, field, old, new FROM _mirror_changes {where}", args).df()
        df = df.astype(dict.fromkeys(df.columns, "string"))
        return df.drop(columns="module") if module else df

    def tombstones(self, module: str) -> pd.DataFrame:
        """Records deleted in the CRM since they were mirrored: id, deleted_time, display_name."""
        self._open()
        with self.store.read() as con:
            t = quote(module + write.TOMBSTONE_SUFFIX)
            if module + write.TOMBSTONE_SUFFIX not in self._tables(con):
                return pd.DataFrame({"id": pd.Series(dtype="string")})
            return con.execute(f"SELECT * FROM {t} ORDER BY deleted_time DESC NULLS LAST").df()

    def schema(self, module: str) -> pd.DataFrame:
        """The module's columns: field, column, dtype, and status (``current`` or ``removed``)."""
        state = self._state(module)
        rows = []
        for status, meta in (("current", state.meta), ("removed", state.removed)):
            for col, dtype in columns.dtypes_for(meta).items() if meta else []:
                if status == "removed" and col == "id":
                    continue
                rows.append({"column": col, "dtype": dtype, "status": status})
        return pd.DataFrame(rows, columns=["column", "dtype", "status"]).astype("string")

    def history(self) -> pd.DataFrame:
        """Every sync's report rows, newest first."""
        with self.store.read() as con:
            return con.execute("SELECT * FROM _mirror_syncs ORDER BY sync DESC, module").df()

    def synced_modules(self) -> list[str]:
        return sorted(self.store.modules())

    def to_parquet(self, module: str, path: str | os.PathLike[str]) -> Path:
        """The module's table as one Parquet file (one call)."""
        out = Path(path).expanduser()
        with self.store.read() as con:
            con.execute(
                f"COPY (SELECT * FROM {quote(module)}) TO '{str(out).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)"
            )
        return out


def check_select(con: duckdb.DuckDBPyConnection, query: str) -> None:
    """Refuse anything but one read-only statement, before it runs."""
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise ValueError(f"not valid SQL: {exc}") from None
    if len(statements) != 1:
        raise ValueError(f"one statement at a time ({len(statements)} given)")
    kind = statements[0].type
    if kind not in (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN):
        raise ValueError(f"only SELECT queries read the mirror ({kind.name.lower()} given)")


def _bar(total: int, progress: bool | None) -> Any:
    if progress is False or (progress is None and total < 2):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="sync", unit="module")
