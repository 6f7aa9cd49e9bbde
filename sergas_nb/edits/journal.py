"""The bulk edit journal in PostgreSQL (migrations 002 and 004).

Every write a plan makes is journaled before it is sent (status 'pending', with the value the CRM
held just before) and completed with the per-record outcome afterwards: success, error, or unknown
(the answer was lost and the record could not be read back). That is the audit trail. It is not
the truth about the CRM: a process killed after sending leaves 'pending' rows for applied writes.
So apply, resume and undo read the CRM first (runs.py) and record here, in
``edit_reconciliations``, every record where the journal's last word and the CRM disagreed; the
journal rows left pending or unknown are then settled to what the CRM showed.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import pandas as pd
import psycopg
from psycopg.types.json import Jsonb, set_json_loads

from sergas_nb._database import connect, database_error
from sergas_nb.config import dsn_label, normalise_database_url
from sergas_nb.edits import pgpool
from sergas_nb.errors import ZohoDatabaseError, ZohoError

JOURNAL_COLUMNS = [
    "entry_id",
    "plan_id",
    "action",
    "module",
    "record_id",
    "field",
    "old_value",
    "new_value",
    "status",
    "code",
    "message",
    "created_at",
    "applied_at",
    "undone_at",
]


def _entries_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Journal rows as a frame; old/new values stay JSON-native objects (None is not turned into NaN)."""
    index = pd.RangeIndex(len(rows))
    return pd.DataFrame(
        {
            c: pd.Series([r[c] for r in rows], index=index, dtype=object if c in ("old_value", "new_value") else None)
            for c in JOURNAL_COLUMNS
        },
        index=index,
    )


@dataclass(frozen=True)
class Entry:
    """One journaled write, as handed to :meth:`Journal.begin` (``field``: the begin call's when None)."""

    record_id: str
    old_value: Any
    new_value: Any
    field: str | None = None


@dataclass(frozen=True)
class Reconciled:
    """A record whose journal and CRM disagreed, as handed to :meth:`Journal.reconcile`."""

    record_id: str
    field: str
    journal_status: str | None
    crm_state: str  # new | old | other | missing (relative to the plan: new = the plan's new value)
    verdict: str  # applied | not_applied (an apply write) | restored | not_restored (an undo write)


@dataclass(frozen=True)
class Outcome:
    """The result of one journaled write, as handed to :meth:`Journal.finish`."""

    entry_id: int
    status: str  # 'success' | 'error' | 'unknown'
    code: str | None
    message: str | None


_LONG_DIGITS = re.compile(rb"[0-9]{20}")


def _loads(data: str | bytes | memoryview) -> Any:
    """jsonb values read by orjson (an undo reads a plan's thousands of old and new values: json
    was most of that read's CPU), except where a run of 20 digits may be an integer past 64
    bits, which orjson reads as a float: json keeps it exact."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if _LONG_DIGITS.search(raw) is None:
        return orjson.loads(raw)
    return json.loads(raw)


def _connect_journal(dsn: str) -> psycopg.Connection[Any]:
    conn = connect(dsn)
    set_json_loads(_loads, conn)
    return conn


class Journal:
    """Read and write the edit journal of the database at ``dsn`` (psycopg 3, autocommit)."""

    def __init__(self, dsn: str) -> None:
        self._dsn = normalise_database_url(dsn)
        self.where = dsn_label(self._dsn)

    def __repr__(self) -> str:
        return f"Journal({self.where})"

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection]:
        held = self._held()
        if held is not None:  # this thread holds a connection for its run of journal calls
            with self._errors():
                yield held
            return
        with self._pooled() as conn, self._errors():
            yield conn

    @contextmanager
    def _pooled(self) -> Iterator[psycopg.Connection]:
        """A connection of this process's pool (``pgpool``), given back if its use raised nothing."""
        # ZohoDatabaseError (host:port/db, no password) when unreachable
        conn = pgpool.checkout(self._dsn, _connect_journal)
        try:
            yield conn
        except BaseException:
            conn.close()
            raise
        pgpool.checkin(self._dsn, conn)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except psycopg.errors.UndefinedTable:
            raise ZohoDatabaseError(
                f"the edit journal tables are missing in {self.where}: run `sergas-nb migrate` first",
                {"database": self.where},
            ) from None
        except psycopg.Error as exc:
            raise database_error(self._dsn, exc, doing="use the edit journal in") from None

    def _held(self) -> psycopg.Connection | None:
        local = self.__dict__.get("_local")
        return getattr(local, "conn", None) if local is not None else None

    @contextmanager
    def held(self) -> Iterator[None]:
        """Inside the block, this thread's journal calls share one connection of their own.

        A run journals every batch twice (before and after sending); a connection per call costs
        more than the SQL. psycopg connections are not to be shared between threads, so each
        worker of a parallel run holds its own."""
        if self._held() is not None:
            yield
            return
        with self._pooled() as conn:
            local = self.__dict__.setdefault("_local", threading.local())
            local.conn = conn
            try:
                yield
            finally:
                local.conn = None

    @contextmanager
    def lock(self, plan_id: str) -> Iterator[None]:
        """Hold a session advisory lock on ``plan_id``: two sessions never apply/undo one plan at once."""
        key = int.from_bytes(hashlib.sha256(plan_id.encode()).digest()[:8], "big", signed=True)
        with self._connect() as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            got = row is not None and row[0]
            if not got:
                raise ZohoError(f"plan {plan_id} is being applied or undone by another session", {"plan_id": plan_id})
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def save_plan(
        self,
        plan_id: str,
        module: str,
        field: str,
        selection: str,
        rule: str,
        planned: int,
        fields: Sequence[str] | None = None,
    ) -> None:
        """Record the plan once (a rebuilt identical plan has the same id and keeps its first row)."""
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO edit_plans (plan_id, module, field, selection, rule, planned, fields)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (plan_id) DO NOTHING",
                (plan_id, module, field, selection, rule, planned, list(fields or field.split("+"))),
            )

    def plan(self, plan_id: str) -> dict[str, Any] | None:
        with self._connect() as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            return cur.execute("SELECT * FROM edit_plans WHERE plan_id = %s", (plan_id,)).fetchone()

    def plans(self) -> pd.DataFrame:
        """Every plan with its journal counts, newest first."""
        with self._connect() as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            rows = cur.execute(
                "SELECT p.plan_id, p.module, p.field, p.planned, p.created_at,"
                " count(*) FILTER (WHERE j.action = 'apply' AND j.status = 'success') AS applied,"
                " count(*) FILTER (WHERE j.action = 'apply' AND j.status = 'error') AS failed,"
                " count(*) FILTER (WHERE j.action = 'apply' AND j.undone_at IS NOT NULL) AS undone"
                " FROM edit_plans p LEFT JOIN edit_journal j USING (plan_id)"
                " GROUP BY p.plan_id ORDER BY p.created_at DESC, p.plan_id"
            ).fetchall()
        return pd.DataFrame(
            rows, columns=["plan_id", "module", "field", "planned", "created_at", "applied", "failed", "undone"]
        )

    def begin(self, plan_id: str, action: str, module: str, field: str, entries: Sequence[Entry]) -> list[int]:
        """Journal writes about to be sent (status 'pending'); returns their entry ids in order.

        One statement a batch (rows from arrays), not one per record: a parallel run journals ten
        batches at once, and a statement per record made the journal half of each batch's time."""
        if not entries:
            return []
        keys = [(e.record_id, e.field or field) for e in entries]
        # The rows as one JSON document: psycopg dumps array parameters element by element in
        # Python (a regex per text), which cost more client CPU than the rest of a plan's batch.
        # A JSON null stays the jsonb 'null' it was as an element of a jsonb[].
        doc = [{"r": k[0], "f": k[1], "o": e.old_value, "v": e.new_value} for k, e in zip(keys, entries, strict=True)]
        # One statement is atomic on its own: no BEGIN and COMMIT round trips around it (each a
        # wake-up of the backend while ten workers journal at once).
        with self._connect() as conn:
            rows = conn.execute(
                "INSERT INTO edit_journal (plan_id, action, module, record_id, field, old_value, new_value)"
                " SELECT %s, %s, %s, u.e->>'r', u.e->>'f', u.e->'o', u.e->'v'"
                " FROM jsonb_array_elements(%s) WITH ORDINALITY AS u(e, n)"
                " ORDER BY u.n RETURNING entry_id, record_id, field",
                (plan_id, action, module, Jsonb(doc)),
            ).fetchall()
        if len(set(keys)) == len(keys):
            by_key = {(r[1], r[2]): int(r[0]) for r in rows}
            return [by_key[k] for k in keys]
        # a (record, field) twice in one call: identities are drawn in the rows' order
        return sorted(int(r[0]) for r in rows)

    def finish(self, outcomes: Iterable[Outcome], *, restored: bool = False) -> None:
        """Record each write's outcome (applied_at = now); one statement for them all.

        ``restored``: these are undo writes; the plan's apply entries that each successful one
        restored are flagged undone in the same statement (an undo flagged them all after its
        last batch, one statement of thousands of ids that cost it a tenth of a second; a kill
        in between left them for the next undo's read of the CRM to flag)."""
        last = {o.entry_id: o for o in outcomes}  # an entry given twice: its last outcome
        if not last:
            return
        done = list(last.values())
        doc = Jsonb([{"id": o.entry_id, "s": o.status, "c": o.code, "m": o.message} for o in done])
        outcomes_sql = (
            "UPDATE edit_journal AS j SET status = u.e->>'s', code = u.e->>'c', message = u.e->>'m',"
            " applied_at = now()"
            " FROM jsonb_array_elements(%s) AS u(e)"
            " WHERE j.entry_id = (u.e->>'id')::bigint"
        )
        with self._connect() as conn:  # one statement (one JSON document, as in begin()), atomic on its own
            if not restored:
                conn.execute(outcomes_sql, (doc,))
                return
            # the undo entries' outcomes and the apply entries they restored, in one statement
            conn.execute(
                f"WITH done AS ({outcomes_sql} RETURNING j.plan_id, j.record_id, j.field, j.status, j.action)"
                " UPDATE edit_journal AS a SET undone_at = now() FROM done"
                " WHERE done.status = 'success' AND done.action = 'undo' AND a.plan_id = done.plan_id"
                " AND a.action = 'apply' AND a.undone_at IS NULL AND a.record_id = done.record_id"
                " AND a.field = done.field",
                (doc,),
            )

    def applied(self, plan_id: str) -> pd.DataFrame:
        """The latest successful, not yet undone 'apply' entry per record of the plan."""
        with self._connect() as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            rows = cur.execute(
                "SELECT DISTINCT ON (record_id) * FROM edit_journal"
                " WHERE plan_id = %s AND action = 'apply' AND status = 'success' AND undone_at IS NULL"
                " ORDER BY record_id, entry_id DESC",
                (plan_id,),
            ).fetchall()
        return _entries_frame(rows)

    def touched(self, plan_id: str, action: str = "apply") -> pd.DataFrame:
        """The latest ``action`` entry per (record, field) of the plan, whatever its status: every
        record the plan may have written (a 'pending' or 'unknown' write may have been applied)."""
        with self._connect() as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            rows = cur.execute(
                "SELECT DISTINCT ON (record_id, field) * FROM edit_journal WHERE plan_id = %s AND action = %s"
                " ORDER BY record_id, field, entry_id DESC",
                (plan_id, action),
            ).fetchall()
        return _entries_frame(rows)

    def touched_values(self, plan_id: str, action: str = "apply") -> list[dict[str, Any]]:
        """:meth:`touched` as plain dicts of record_id, field, old_value, new_value and status,
        read as one JSON document: an undo reads its plan's thousands of entries before it can
        read the CRM, and rows typed into a frame and read back out cost it a tenth of a second."""
        with self._connect() as conn:
            row = conn.execute(
                # json, not jsonb: the server builds json text as it goes, a jsonb document it
                # builds whole (a third of the query's time at 2,000 entries)
                "SELECT coalesce(json_agg(json_build_object('record_id', t.record_id, 'field', t.field,"
                " 'old_value', t.old_value, 'new_value', t.new_value, 'status', t.status)"
                " ORDER BY t.record_id, t.field), '[]'::json)"
                " FROM (SELECT DISTINCT ON (record_id, field) record_id, field, old_value, new_value, status"
                " FROM edit_journal WHERE plan_id = %s AND action = %s"
                " ORDER BY record_id, field, entry_id DESC) AS t",
                (plan_id, action),
            ).fetchone()
        return list(row[0]) if row is not None else []

    def last_words(self, plan_id: str) -> dict[tuple[str, str, str], str]:
        """(action, record, field) -> the status of the plan's latest entry for it (no values read)."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT DISTINCT ON (action, record_id, field) action, record_id, field, status FROM edit_journal"
                " WHERE plan_id = %s ORDER BY action, record_id, field, entry_id DESC",
                (plan_id,),
            ).fetchall()
        return {(a, r, f): s for a, r, f, s in rows}

    def mark_undone(self, plan_id: str, record_ids: Iterable[str], field: str | None = None) -> None:
        """Flag the plan's apply entries of these records (of one field, or all) as restored."""
        ids = list(record_ids)
        if not ids:
            return
        with self._connect() as conn:
            conn.execute(
                "UPDATE edit_journal SET undone_at = now() WHERE plan_id = %s AND action = 'apply'"
                " AND undone_at IS NULL AND record_id = ANY(%s) AND (%s::text IS NULL OR field = %s)",
                (plan_id, ids, field, field),
            )

    def reconcile(self, plan_id: str, action: str, rows: Sequence[Reconciled]) -> None:
        """Record where the journal and the CRM disagreed, and settle the journal's open rows to
        what the CRM showed (code RECONCILED): a write it holds becomes 'success' (even from
        'error': a lost answer), one it does not hold turns 'pending'/'unknown' into 'error'."""
        if not rows:
            return
        settle = []
        for r in rows:
            written = r.verdict in ("applied", "restored")  # the CRM holds what that write sent
            settle.append(
                (
                    "success" if written else "error",
                    "RECONCILED",
                    f"reconciled before {action}: the CRM {'held' if written else 'did not hold'} this value",
                    plan_id,
                    "apply" if r.verdict in ("applied", "not_applied") else "undo",
                    r.record_id,
                    r.field,
                    ["pending", "unknown", "error"] if written else ["pending", "unknown"],
                )
            )
        with self._connect() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO edit_reconciliations (plan_id, action, record_id, field, journal_status, crm_state,"
                " verdict) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [(plan_id, action, r.record_id, r.field, r.journal_status, r.crm_state, r.verdict) for r in rows],
            )
            cur.executemany(
                "UPDATE edit_journal SET status = %s, code = %s, message = %s, applied_at = coalesce(applied_at, now())"
                " WHERE plan_id = %s AND action = %s AND record_id = %s AND field = %s AND status = ANY(%s)",
                settle,
            )

    def reconciliations(self, plan_id: str) -> pd.DataFrame:
        """What reconciliation found for a plan, oldest first."""
        with self._connect() as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            rows = cur.execute(
                "SELECT * FROM edit_reconciliations WHERE plan_id = %s ORDER BY reconciliation_id", (plan_id,)
            ).fetchall()
        cols = ["reconciliation_id", "plan_id", "action", "record_id", "field", "journal_status", "crm_state"]
        return pd.DataFrame(rows, columns=[*cols, "verdict", "reconciled_at"])

    def entries(self, plan_id: str | None = None) -> pd.DataFrame:
        """Journal rows (of one plan, or all), oldest first."""
        query = "SELECT * FROM edit_journal"
        params: tuple[Any, ...] = ()
        if plan_id is not None:
            query += " WHERE plan_id = %s"
            params = (plan_id,)
        with self._connect() as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            rows = cur.execute(query + " ORDER BY entry_id", params).fetchall()
        return _entries_frame(rows)
