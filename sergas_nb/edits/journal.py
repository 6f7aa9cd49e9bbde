"""The bulk edit journal in PostgreSQL (tables from migrations/002_create_edit_journal.sql).

Every write a plan makes is journaled before it is sent (status 'pending', with the value the CRM
held just before) and completed with the per-record outcome afterwards. That gives an audit trail,
undo (restore old_value where the write succeeded) and idempotent re-apply (skip what succeeded).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
import psycopg
from psycopg.types.json import Jsonb

from sergas_nb._database import connect, database_error
from sergas_nb.config import dsn_label, normalise_database_url
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
    """One journaled write, as handed to :meth:`Journal.begin`."""

    record_id: str
    old_value: Any
    new_value: Any


@dataclass(frozen=True)
class Outcome:
    """The result of one journaled write, as handed to :meth:`Journal.finish`."""

    entry_id: int
    status: str  # 'success' | 'error'
    code: str | None
    message: str | None


class Journal:
    """Read and write the edit journal of the database at ``dsn`` (psycopg 3, autocommit)."""

    def __init__(self, dsn: str) -> None:
        self._dsn = normalise_database_url(dsn)
        self.where = dsn_label(self._dsn)

    def __repr__(self) -> str:
        return f"Journal({self.where})"

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection]:
        conn = connect(self._dsn)  # ZohoDatabaseError (host:port/db, no password) when unreachable
        try:
            with conn:
                yield conn
        except psycopg.errors.UndefinedTable:
            raise ZohoDatabaseError(
                f"the edit journal tables are missing in {self.where}: run `sergas-nb migrate` first",
                {"database": self.where},
            ) from None
        except psycopg.Error as exc:
            raise database_error(self._dsn, exc, doing="use the edit journal in") from None

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

    def save_plan(self, plan_id: str, module: str, field: str, selection: str, rule: str, planned: int) -> None:
        """Record the plan once (a rebuilt identical plan has the same id and keeps its first row)."""
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO edit_plans (plan_id, module, field, selection, rule, planned)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (plan_id) DO NOTHING",
                (plan_id, module, field, selection, rule, planned),
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
        """Journal writes about to be sent (status 'pending'); returns their entry ids in order."""
        if not entries:
            return []
        with self._connect() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO edit_journal (plan_id, action, module, record_id, field, old_value, new_value)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING entry_id",
                [
                    (plan_id, action, module, e.record_id, field, Jsonb(e.old_value), Jsonb(e.new_value))
                    for e in entries
                ],
                returning=True,
            )
            ids = []
            while True:
                row = cur.fetchone()
                assert row is not None  # RETURNING yields one row per insert
                ids.append(row[0])
                if not cur.nextset():
                    break
        return ids

    def finish(self, outcomes: Iterable[Outcome]) -> None:
        """Record each write's outcome (applied_at = now)."""
        rows = [(o.status, o.code, o.message, o.entry_id) for o in outcomes]
        if not rows:
            return
        with self._connect() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(
                "UPDATE edit_journal SET status = %s, code = %s, message = %s, applied_at = now() WHERE entry_id = %s",
                rows,
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

    def mark_undone(self, plan_id: str, record_ids: Iterable[str]) -> None:
        """Flag the plan's successful apply entries of these records as restored."""
        ids = list(record_ids)
        if not ids:
            return
        with self._connect() as conn:
            conn.execute(
                "UPDATE edit_journal SET undone_at = now() WHERE plan_id = %s AND action = 'apply'"
                " AND status = 'success' AND undone_at IS NULL AND record_id = ANY(%s)",
                (plan_id, ids),
            )

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
