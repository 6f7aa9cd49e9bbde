"""Landing a module's ``Delta`` in the mirror: all of it inside the caller's one transaction.

Tables: ``"Accounts"`` (one row per record, one column per frame column, removed fields' columns
kept), ``"Accounts__deleted"`` (tombstones: id, deleted_time, display_name), and the bookkeeping
rows in ``_mirror_modules`` / ``_mirror_changes`` / ``_mirror_syncs``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import duckdb
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sergas_nb.mirror import changes, columns
from sergas_nb.mirror.columns import from_arrow, quote, sql_type, to_arrow
from sergas_nb.mirror.sync import Delta, State

TOMBSTONE_SUFFIX = "__deleted"


def table_dtypes(meta: list[dict[str, Any]], removed: list[dict[str, Any]]) -> dict[str, str]:
    """Every column the module's table holds: the current fields', then removed fields' (kept)."""
    dtypes = columns.dtypes_for(meta) if meta else {"id": "string"}
    if removed:
        for col, d in columns.dtypes_for(removed).items():
            dtypes.setdefault(col, d)
    return dtypes


def existing_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    # duckdb_columns() without its internal rows is information_schema.columns at half the cost.
    rows = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE NOT internal AND table_name = ? "
        "ORDER BY column_index",
        [table],
    ).fetchall()
    return {r[0]: r[1] for r in rows}


class _Schemas:
    """The tables' columns as one ``apply`` sees them: looked up once per table (each look-up
    took 5-25 ms inside a re-sync, three to five of them a module), kept current by our own DDL."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.known: dict[str, dict[str, str]] = {}

    def get(self, table: str) -> dict[str, str]:
        got = self.known.get(table)
        if got is None:
            got = self.known[table] = existing_columns(self.con, table)
        return got

    def forget(self, table: str) -> None:
        self.known.pop(table, None)


def _ensure_table(con: duckdb.DuckDBPyConnection, module: str, dtypes: dict[str, str], schemas: _Schemas) -> None:
    have = schemas.get(module)
    if not have:
        cols = ", ".join(f"{quote(c)} {sql_type(d)}" for c, d in dtypes.items())
        con.execute(f"CREATE TABLE {quote(module)} ({cols})")
        schemas.forget(module)
    elif any(c not in have for c in dtypes):
        for c, d in dtypes.items():
            if c not in have:
                con.execute(f"ALTER TABLE {quote(module)} ADD COLUMN {quote(c)} {sql_type(d)}")
        schemas.forget(module)
    tomb = module + TOMBSTONE_SUFFIX
    if not schemas.get(tomb):
        con.execute(f"CREATE TABLE {quote(tomb)} (id VARCHAR, deleted_time TIMESTAMPTZ, display_name VARCHAR)")
        schemas.forget(tomb)


def _text(col: str, sql_type_name: str) -> str:
    """SQL for a column's value as the change rows keep it (ISO times, JSON-like numbers)."""
    q = quote(col)
    if sql_type_name.startswith("TIMESTAMP WITH TIME ZONE") or sql_type_name == "TIMESTAMPTZ":
        return f"strftime({q}, '%Y-%m-%dT%H:%M:%S') || '+00:00'"
    if sql_type_name.startswith("TIMESTAMP"):
        return f"strftime({q}, '%Y-%m-%dT%H:%M:%S')"
    if sql_type_name == "BOOLEAN":
        return f"CASE WHEN {q} THEN 'true' WHEN NOT {q} THEN 'false' END"
    return f"CAST({q} AS VARCHAR)"


def _diff(
    con: duckdb.DuckDBPyConnection,
    module: str,
    src: str,
    cols: list[str],
    types: dict[str, str],
    *,
    added: bool,
    rows: pa.Table,
) -> tuple[list[str], int]:
    """The temp table ``_diff`` (id, change, field, old, new): the rows of ``src`` the module's
    table lacks (``added``), and one row per column whose value differs. A sync of 100,000 records
    builds no Python object per record. Returns the columns that differ somewhere and how many
    rows were added. ``rows`` is ``src`` as Arrow (ids unique)."""
    t = quote(module)
    names = [c for c in cols if c != "id" and c in types]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _diff (id VARCHAR, change VARCHAR, field VARCHAR, old VARCHAR, new VARCHAR)"
    )
    if rows.num_rows * _FEW <= con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]:
        return _diff_few(con, module, src, rows, names, types, added=added)
    n_added = 0
    if added:
        got = con.execute(
            f"INSERT INTO _diff SELECT i.id, 'added', NULL, NULL, NULL FROM {src} i "
            f"WHERE i.id NOT IN (SELECT id FROM {t})"
        ).fetchall()
        n_added = int(got[0][0]) if got else 0  # DuckDB answers an INSERT with its row count
    if not names:
        return [], n_added
    pairs = ", ".join(f"o.{quote(c)} AS {quote('o:' + c)}, i.{quote(c)} AS {quote('n:' + c)}" for c in names)
    differs = " OR ".join(f"o.{quote(c)} IS DISTINCT FROM i.{quote(c)}" for c in names)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _pairs AS SELECT i.id, {pairs} FROM {src} i JOIN {t} o ON o.id = i.id "
        f"WHERE {differs}"
    )
    # Which columns differ in any row first (one pass): the change rows are then built from those
    # alone, not from a select per column of the module (45 of them for Accounts, most unchanged).
    any_diff = ", ".join(f"bool_or({quote('o:' + c)} IS DISTINCT FROM {quote('n:' + c)})" for c in names)
    flags = con.execute(f"SELECT {any_diff} FROM _pairs").fetchall()[0]
    differ = [c for c, f in zip(names, flags, strict=True) if f]
    _changed_rows(con, differ, types)
    con.execute("DROP TABLE _pairs")
    return differ, n_added


def _diff_few(
    con: duckdb.DuckDBPyConnection,
    module: str,
    src: str,
    rows: pa.Table,
    names: list[str],
    types: dict[str, str],
    *,
    added: bool,
) -> tuple[list[str], int]:
    """``_diff`` for a few rows against a large table: their old rows found by rowid (a join on
    every column decompressed the whole table: 0.14 s at 100,000 accounts and 1,000 changed), and
    compared column by column in Arrow. Comparing in SQL (a temp table of old and new pairs and a
    pass over it) took 40-70 ms of a 1% re-sync's writing; this takes about 20."""
    t = quote(module)
    taken = ", ".join(quote(c) for c in ["id", *names])
    old = _arrow(con, f"SELECT {taken} FROM {t} WHERE rowid IN (SELECT o.rowid FROM {src} i JOIN {t} o ON o.id = i.id)")
    ids = rows.column("id").cast(pa.large_string())
    at = pc.index_in(ids, value_set=old.column("id").cast(pa.large_string()))
    found = pc.is_valid(at)
    n_added = 0
    if added:
        new_ids = ids.filter(pc.invert(found))
        n_added = len(new_ids)
        if n_added:
            con.register("_added_in", pa.table({"id": new_ids}))
            con.execute("INSERT INTO _diff SELECT id, 'added', NULL, NULL, NULL FROM _added_in")
            con.unregister("_added_in")
    if not names or old.num_rows == 0:
        return [], n_added
    new = rows.filter(found)
    old = old.take(at.filter(found))
    differ, masks = [], []
    for c in names:
        a, b = _comparable(c, old.column(c), new.column(c))
        mask = _distinct(a, b)
        if pc.any(mask).as_py():
            differ.append(c)
            masks.append(mask)
    if not differ:
        return [], n_added
    some = masks[0]
    for m in masks[1:]:
        some = pc.or_(some, m)
    old, new = old.filter(some), new.filter(some)
    arrays, labels = [new.column("id")], ["id"]
    for c in differ:
        arrays += _comparable(c, old.column(c), new.column(c))
        labels += ["o:" + c, "n:" + c]
    con.register("_pairs", pa.Table.from_arrays(arrays, names=labels))
    try:
        _changed_rows(con, differ, types)
    finally:
        con.unregister("_pairs")
    return differ, n_added


def _comparable(column: str, old: pa.ChunkedArray, new: pa.ChunkedArray) -> list[pa.ChunkedArray]:
    """The new values in the stored column's type (DuckDB gives VARCHAR as ``string``, the frame
    ``large_string``). A retyped field is re-read whole before it gets here; values that still do
    not convert fail the module's transaction with the column named."""
    if new.type == old.type:
        return [old, new]
    try:
        return [old, new.cast(old.type)]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ValueError(f"field {column}: its new values do not fit the mirror's {old.type} column ({exc})") from None


def _distinct(a: pa.ChunkedArray, b: pa.ChunkedArray) -> pa.ChunkedArray:
    """SQL's ``a IS DISTINCT FROM b`` (never null; NaN equals NaN, as in DuckDB), row by row."""
    out = pc.fill_null(pc.not_equal(a, b), False)
    out = pc.or_(out, pc.xor(pc.is_null(a), pc.is_null(b)))
    if pa.types.is_floating(a.type):
        out = pc.and_(out, pc.invert(pc.fill_null(pc.and_(pc.is_nan(a), pc.is_nan(b)), False)))
    return out


def _changed_rows(con: duckdb.DuckDBPyConnection, differ: list[str], types: dict[str, str]) -> None:
    """One ``_diff`` row per differing cell of ``_pairs`` (id, then old and new of each column)."""
    parts = [
        f"SELECT id, 'changed', {_literal(c)}, {_text('o:' + c, types[c])}, {_text('n:' + c, types[c])} "
        f"FROM _pairs WHERE {quote('o:' + c)} IS DISTINCT FROM {quote('n:' + c)}"
        for c in differ
    ]
    if parts:
        con.execute("INSERT INTO _diff " + " UNION ALL ".join(parts))  # one statement: each costs ~10 ms


_FEW = 8  # _diff takes the rowid path when the table has at least this many rows per row compared


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    got = dict(con.execute("SELECT change, count(DISTINCT id) FROM _diff GROUP BY change").fetchall())
    return {k: int(got.get(k, 0)) for k in ("added", "changed", "deleted")}


def _keep_diff(con: duckdb.DuckDBPyConnection, module: str) -> None:
    con.execute("INSERT INTO _mirror_changes SELECT ?, id, change, field, old, new FROM _diff", [module])


def apply(con: duckdb.DuckDBPyConnection, delta: Delta, state: State, sync_no: int) -> dict[str, int]:
    """Write ``delta``; returns the records added, changed and deleted (and writes the change rows)."""
    module = delta.module
    dtypes = columns.dtypes_for(delta.meta)
    all_dtypes = table_dtypes(delta.meta, delta.removed)
    con.execute("DELETE FROM _mirror_changes WHERE module = ?", [module])
    total = {"added": 0, "changed": 0, "deleted": 0}
    schemas = _Schemas(con)

    def count(got: dict[str, int]) -> None:
        for k, v in got.items():
            total[k] += v

    if delta.full is not None:
        count(_replace(con, module, delta, dtypes, all_dtypes, schemas, first=not state.meta))
    else:
        _ensure_table(con, module, all_dtypes, schemas)
        if delta.upserts is not None and len(delta.upserts):
            count(_upsert(con, module, delta.upserts, dtypes, schemas.get(module)))
        if delta.refresh is not None and len(delta.refresh):
            count(_refresh(con, module, delta.refresh, delta.meta, schemas.get(module)))
        rows = _delete(con, module, delta)
        if rows:
            count(changes.counts(rows))
            df = changes.frame(rows)
            df.insert(0, "module", module)
            con.register("_changes_in", pa.Table.from_pandas(df.astype(object), preserve_index=False))
            con.execute("INSERT INTO _mirror_changes SELECT module, id, change, field, old, new FROM _changes_in")
            con.unregister("_changes_in")
    for parent in delta.parents:  # rollups of the records this sync's children point at
        have = schemas.get(parent.module)
        if have and len(parent.values):
            _refresh(con, parent.module, parent.values, parent.meta, have)
    con.execute("DELETE FROM _mirror_modules WHERE module = ?", [module])
    con.execute(
        "INSERT INTO _mirror_modules VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            module,
            delta.watermark,
            delta.deleted_watermark,
            delta.read_started,
            sync_no,
            sync_no if delta.reconciled else state.last_reconcile,
            orjson.dumps(delta.meta, default=str).decode(),
            orjson.dumps(delta.removed, default=str).decode(),
            delta.strategy,
        ],
    )
    return total


def _replace(
    con: duckdb.DuckDBPyConnection,
    module: str,
    delta: Delta,
    dtypes: dict[str, str],
    all_dtypes: dict[str, str],
    schemas: _Schemas,
    *,
    first: bool,
) -> dict[str, int]:
    table = _take_full(delta, dtypes)
    had = schemas.get(module)
    con.register("_full_in", table)
    t = quote(module)
    if first or not had:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _diff AS SELECT id, 'added' AS change, NULL::VARCHAR AS field, "
            "NULL::VARCHAR AS old, NULL::VARCHAR AS new FROM _full_in"
        )
        vanished: list[str] = []
    else:
        _diff(con, module, "_full_in", list(dtypes), had, added=True, rows=table)
        gone = con.execute(f"SELECT id FROM {t} WHERE id NOT IN (SELECT id FROM _full_in)").fetchall()
        vanished = [r[0] for r in gone]
        if vanished:
            con.executemany("INSERT INTO _diff VALUES (?, 'deleted', NULL, NULL, NULL)", [[v] for v in vanished])
    kept = [c for c in all_dtypes if c not in dtypes and c in had]  # removed fields' columns stay
    select = ", ".join(f"i.{quote(c)}" for c in dtypes)
    if kept:
        select += ", " + ", ".join(f"o.{quote(c)}" for c in kept)
        src = f"_full_in i LEFT JOIN {t} o ON o.id = i.id"
    else:
        src = "_full_in i"
    with _one_thread(con):
        con.execute(f"CREATE OR REPLACE TABLE {quote(module + '__new')} AS SELECT {select} FROM {src}")
    # The module is in DuckDB now: the frame and its Arrow copy go before the commit, which needs
    # about as much again (the new table compressed and written), so the two never add up.
    con.unregister("_full_in")
    del table
    pa.default_memory_pool().release_unused()
    con.execute(f"DROP TABLE IF EXISTS {t}")
    con.execute(f"ALTER TABLE {quote(module + '__new')} RENAME TO {t}")
    schemas.forget(module)
    _ensure_table(con, module, all_dtypes, schemas)
    _tombstone(con, module, [{"id": rid, "deleted_time": None, "display_name": None} for rid in vanished])
    _untombstone_from(con, module, t)  # the table holds the full read's ids, and only those
    _keep_diff(con, module)
    return _counts(con)


def _take_full(delta: Delta, dtypes: dict[str, str]) -> pa.Table:
    """The full read as Arrow, taken out of ``delta`` (no reference to the frame stays behind)."""
    assert delta.full is not None
    df, delta.full = delta.full, None
    if df["id"].duplicated().any():
        df = df.drop_duplicates("id", keep="last")
    return to_arrow(df, dtypes)


@contextlib.contextmanager
def _one_thread(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One DuckDB thread for a statement that lands a whole module: in parallel, keeping the rows'
    order buffers them again (a third more memory at 100,000 records), for no time saved here."""
    before = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute(f"SET threads = {int(before)}")


def _upsert(
    con: duckdb.DuckDBPyConnection, module: str, df: pd.DataFrame, dtypes: dict[str, str], types: dict[str, str]
) -> dict[str, int]:
    df = df.drop_duplicates("id", keep="last")
    rows = to_arrow(df, dtypes)
    con.register("_up_in", rows)
    differ, n_added = _diff(con, module, "_up_in", list(dtypes), types, added=True, rows=rows)
    t = quote(module)
    # Only the columns that changed in some record: the others would be set to what they hold.
    sets = ", ".join(f"{quote(c)} = i.{quote(c)}" for c in differ)
    if sets:
        con.execute(
            f"UPDATE {t} SET {sets} FROM _up_in i WHERE {t}.id = i.id "
            "AND i.id IN (SELECT id FROM _diff WHERE change = 'changed')"
        )
    if n_added:  # none in a re-sync of changed records: a statement (5-10 ms at 100,000) saved
        cols = ", ".join(quote(c) for c in dtypes)
        con.execute(
            f"INSERT INTO {t} ({cols}) SELECT {cols} FROM _up_in "
            "WHERE id IN (SELECT id FROM _diff WHERE change = 'added')"
        )
    _untombstone_from(con, module, "_up_in")
    con.unregister("_up_in")
    _keep_diff(con, module)
    return _counts(con)


def _refresh(
    con: duckdb.DuckDBPyConnection,
    module: str,
    df: pd.DataFrame,
    meta: list[dict[str, Any]],
    types: dict[str, str],
) -> dict[str, int]:
    """New values of some columns (formula, rollup, fields just added) for records the copy has."""
    full = columns.dtypes_for(meta)
    dtypes = {c: full[c] for c in df.columns if c in full}
    df = df.drop_duplicates("id", keep="last")
    rows = to_arrow(df, dtypes)
    con.register("_ref_in", rows)
    differ, _ = _diff(con, module, "_ref_in", list(dtypes), types, added=False, rows=rows)
    t = quote(module)
    # Only the columns that changed in some record: the others would be set to what they hold.
    sets = ", ".join(f"{quote(c)} = i.{quote(c)}" for c in differ)
    if sets:
        con.execute(f"UPDATE {t} SET {sets} FROM _ref_in i WHERE {t}.id = i.id AND i.id IN (SELECT id FROM _diff)")
    con.unregister("_ref_in")
    _keep_diff(con, module)
    return _counts(con)


def _delete(con: duckdb.DuckDBPyConnection, module: str, delta: Delta) -> list[changes.Row]:
    entries = list(delta.deleted) + [{"id": i, "deleted_time": None, "display_name": None} for i in delta.vanished]
    if not entries:
        return []
    t = quote(module)
    ids = list(dict.fromkeys(e["id"] for e in entries))
    con.register("_del_ids", pa.table({"id": pa.array(ids, type=pa.large_string())}))
    # Not DELETE ... RETURNING: at 100,000 records it took four times the SELECT and DELETE apart.
    present = [r[0] for r in con.execute(f"SELECT id FROM {t} WHERE id IN (SELECT id FROM _del_ids)").fetchall()]
    con.execute(f"DELETE FROM {t} WHERE id IN (SELECT id FROM _del_ids)")
    con.unregister("_del_ids")
    here = set(present)
    _tombstone(con, module, [e for e in entries if e["id"] in here])
    return changes.deleted([i for i in ids if i in here])


def _tombstone(con: duckdb.DuckDBPyConnection, module: str, entries: list[dict[str, Any]]) -> None:
    if not entries:
        return
    by_id = {e["id"]: e for e in entries}
    tbl = pa.table(
        {
            "id": pa.array(list(by_id), type=pa.large_string()),
            "deleted_time": pa.array(
                [
                    pd.Timestamp(e["deleted_time"]).to_pydatetime() if e["deleted_time"] else None
                    for e in by_id.values()
                ],
                type=pa.timestamp("us", tz="UTC"),
            ),
            "display_name": pa.array([e.get("display_name") for e in by_id.values()], type=pa.large_string()),
        }
    )
    t = quote(module + TOMBSTONE_SUFFIX)
    con.register("_tomb_in", tbl)
    con.execute(f"DELETE FROM {t} WHERE id IN (SELECT id FROM _tomb_in)")
    con.execute(f"INSERT INTO {t} SELECT id, deleted_time, display_name FROM _tomb_in")
    con.unregister("_tomb_in")


def _untombstone_from(con: duckdb.DuckDBPyConnection, module: str, src: str) -> None:
    """Records back in the copy (restored from the recycle bin) are no longer tombstones."""
    con.execute(f"DELETE FROM {quote(module + TOMBSTONE_SUFFIX)} WHERE id IN (SELECT id FROM {src})")


def read_frame(
    con: duckdb.DuckDBPyConnection, module: str, dtypes: dict[str, str], meta: list[dict[str, Any]]
) -> pd.DataFrame:
    have = existing_columns(con, module)
    cols = [c for c in dtypes if c in have]
    table = _arrow(con, f"SELECT {', '.join(quote(c) for c in cols)} FROM {quote(module)}")
    return from_arrow(_newest_first(table), dtypes, meta)


def _newest_first(table: pa.Table) -> pa.Table:
    """Rows in ``crm.records``' order (id descending, numerically). Sorted here, on the id column
    alone: DuckDB's ORDER BY moves every column of every row and took most of ``frame()``."""
    if table.num_rows < 2:
        return table
    ids = table.column("id")
    try:
        keys = pc.cast(ids, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # ids that are not numbers: text order
        keys = ids
    else:
        # Stored in this order already (a full read lands so, updates and deletes keep it): no take.
        k = keys.to_numpy()
        if len(k) < 2 or bool((k[:-1] > k[1:]).all()):
            return table
    order = pc.sort_indices(pa.table({"k": keys, "id": ids}), [("k", "descending"), ("id", "descending")])
    return table.take(order)


def _arrow(con: duckdb.DuckDBPyConnection, query: str) -> pa.Table:
    rel = con.sql(query)
    fetch = getattr(rel, "to_arrow_table", None) or rel.arrow  # duckdb 2 / 1.x
    table = fetch()
    return table if isinstance(table, pa.Table) else table.read_all()
