"""Apply numbered SQL migrations once each (``sergas-nb migrate``).

Files ``NNN_name.sql`` are applied in numeric order, each in its own transaction together with its
row in ``schema_migrations``. A session-level advisory lock makes concurrent runners queue instead
of racing, so running twice, or from two processes at once, applies each file exactly once.

Where the SQL lives: ``sergas_nb._resources.migrations_dir`` (the wheel's package data, or the
checkout's top-level ``migrations/``; ``SERGAS_NB_MIGRATIONS`` overrides it).
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys
from pathlib import Path

import psycopg

from sergas_nb._database import connect, database_error
from sergas_nb._resources import migrations_dir
from sergas_nb.errors import ZohoConfigError, ZohoDatabaseError

log = logging.getLogger("sergas_nb.edits.migrate")

# Arbitrary constant shared by every runner: pg_advisory_lock(key) serialises them.
MIGRATION_LOCK_KEY = 0x5E4A5_0001
_FILE_RE = re.compile(r"^(\d+)_[A-Za-z0-9_\-]+\.sql$")


def migration_files(directory: Path | str | None = None) -> list[Path]:
    """The migration files in apply order; duplicate numbers are an error."""
    d = Path(directory) if directory is not None else migrations_dir()
    numbered = sorted((int(m.group(1)), p.name, p) for p in d.iterdir() if (m := _FILE_RE.match(p.name)))
    files = [p for _, _, p in numbered]
    numbers = [n for n, _, _ in numbered]
    dupes = sorted({n for n in numbers if numbers.count(n) > 1})
    if dupes:
        raise ZohoDatabaseError(f"Two migrations share the number(s) {dupes} in {d}")
    return files


def apply_migrations(dsn: str, directory: Path | str | None = None) -> list[str]:
    """Apply every migration not yet recorded; return the names applied now (in order)."""
    files = migration_files(directory)
    applied_now: list[str] = []
    with connect(dsn) as conn:
        try:
            # Session-level lock: held across the per-file transactions below, released at the end.
            conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
            conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                                name       text PRIMARY KEY,
                                checksum   text NOT NULL,
                                applied_at timestamptz NOT NULL DEFAULT now())""")
            done = dict(conn.execute("SELECT name, checksum FROM schema_migrations").fetchall())
            for path in files:
                sql = path.read_text(encoding="utf-8")
                digest = hashlib.sha256(sql.encode()).hexdigest()
                if path.name in done:
                    if done[path.name] != digest:
                        log.warning("migration %s changed after it was applied; not re-applied", path.name)
                    continue
                with conn.transaction():
                    conn.execute(sql)  # no parameters: multi-statement allowed
                    conn.execute("INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)", (path.name, digest))
                log.info("applied migration %s", path.name)
                applied_now.append(path.name)
        except psycopg.Error as exc:
            raise database_error(dsn, exc, doing="migrate") from None
        finally:
            if not conn.closed and not conn.broken:
                try:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
                except psycopg.Error:
                    pass  # closing the session releases it anyway
    return applied_now


def applied_migrations(dsn: str) -> list[str]:
    """Names recorded in schema_migrations (empty when the table does not exist)."""
    with connect(dsn) as conn:
        exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return []
        return [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]


def main(database_url: str | None = None) -> int:
    """CLI entry: DATABASE_URL (or DATABASE_HOST/...) from the argument, environment or .env."""
    from sergas_nb.config import load_settings, normalise_database_url

    try:
        if database_url:
            dsn = normalise_database_url(database_url)
        else:
            dsn = load_settings(require=("database",)).database_dsn()
        applied = apply_migrations(dsn)
    except (ZohoConfigError, ZohoDatabaseError) as exc:
        print(f"sergas-nb migrate: {exc}", file=sys.stderr)
        return 1
    from sergas_nb.config import dsn_label

    if applied:
        print(f"Applied {len(applied)} migration(s) to {dsn_label(dsn)}: {', '.join(applied)}")
    else:
        print(f"{dsn_label(dsn)} is up to date")
    return 0
