"""Migrations: each file once, recorded, safe to repeat and to run from two processes at once."""

from __future__ import annotations

import multiprocessing
import shutil
import socket
import tempfile

import psycopg
import pytest

from sergas_nb.edits import migrate
from sergas_nb.edits.migrate import applied_migrations, apply_migrations, migration_files, migrations_dir
from sergas_nb.errors import ZohoDatabaseError


def _tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def test_repo_migrations_folder_is_found_and_ordered():
    files = migration_files()
    assert migrations_dir().name == "migrations"
    assert files[0].name == "001_create_zoho_tokens_table.sql"
    assert [f.name for f in files] == sorted(f.name for f in files)


def test_applies_each_file_once(empty_database_url):
    names = [f.name for f in migration_files()]
    assert apply_migrations(empty_database_url) == names
    assert {"zoho_tokens", "schema_migrations"} <= _tables(empty_database_url)
    assert apply_migrations(empty_database_url) == []  # second run: nothing to do
    assert applied_migrations(empty_database_url) == names


def test_new_file_is_applied_later_and_a_failing_file_is_not_recorded(empty_database_url, tmp_path):
    (tmp_path / "001_a.sql").write_text("CREATE TABLE a (x int);")
    assert apply_migrations(empty_database_url, tmp_path) == ["001_a.sql"]
    (tmp_path / "002_b.sql").write_text("CREATE TABLE b (x int); INSERT INTO b VALUES (1), (2);")
    (tmp_path / "010_bad.sql").write_text("CREATE TABLE c (x int); SELECT * FROM no_such_table;")
    with pytest.raises(ZohoDatabaseError) as info:
        apply_migrations(empty_database_url, tmp_path)
    assert "no_such_table" in str(info.value)
    # 002 went in (its own transaction); the failed file left nothing behind and is not recorded.
    assert applied_migrations(empty_database_url) == ["001_a.sql", "002_b.sql"]
    assert "c" not in _tables(empty_database_url)
    (tmp_path / "010_bad.sql").write_text("CREATE TABLE c (x int);")
    assert apply_migrations(empty_database_url, tmp_path) == ["010_bad.sql"]


def test_duplicate_numbers_are_refused(tmp_path, empty_database_url):
    (tmp_path / "001_a.sql").write_text("SELECT 1;")
    (tmp_path / "001_b.sql").write_text("SELECT 1;")
    with pytest.raises(ZohoDatabaseError, match="share the number"):
        apply_migrations(empty_database_url, tmp_path)


def _apply_in_process(dsn: str, directory: str, queue) -> None:  # runs in a spawned process
    try:
        queue.put(("ok", apply_migrations(dsn, directory)))
    except Exception as exc:  # report, the parent asserts
        queue.put(("error", repr(exc)))


def test_two_processes_at_once_apply_each_file_exactly_once(empty_database_url, tmp_path):
    # pg_sleep makes the window wide: without the advisory lock both would run 001 and one would fail.
    (tmp_path / "001_slow.sql").write_text("SELECT pg_sleep(0.5); CREATE TABLE once (x int);")
    (tmp_path / "002_rows.sql").write_text("INSERT INTO once VALUES (1);")
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_apply_in_process, args=(empty_database_url, str(tmp_path), queue)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    assert all(status == "ok" for status, _ in results), results
    applied = sorted(name for _, names in results for name in names)
    assert applied == ["001_slow.sql", "002_rows.sql"]
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT count(*) FROM once").fetchone()[0] == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_main_reports_success_and_unreachable_database(database_url, capsys):
    assert migrate.main(database_url) == 0
    assert "up to date" in capsys.readouterr().out
    port = _closed_port()
    assert migrate.main(f"postgresql://analyst:Sup3rSecretPw@127.0.0.1:{port}/crm") == 1
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}/crm" in err
    assert "Sup3rSecretPw" not in err


def test_cli_main_uses_database_url_from_environment(empty_database_url, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    assert migrate.main(None) == 0
    assert "001_create_zoho_tokens_table.sql" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# The throwaway cluster under the fixtures and `make demo`
# ---------------------------------------------------------------------------------------------


def test_throwaway_cluster_keeps_its_data_across_runs_and_survives_a_killed_server(tmp_path):
    import os
    import signal
    import time

    from sergas_nb.lab.pgcluster import ThrowawayPostgres

    root = tempfile.mkdtemp(prefix="sergas-pg-reuse-", dir="/tmp")
    try:
        with ThrowawayPostgres(root) as pg:
            assert pg.dsn.startswith("postgresql://postgres@127.0.0.1:")
            with psycopg.connect(pg.dsn, autocommit=True) as conn:
                conn.execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)")
                assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        # A second start on the same folder reuses the cluster (no initdb): the data is still there.
        pg = ThrowawayPostgres(root).start()
        with psycopg.connect(pg.dsn) as conn:
            assert conn.execute("SELECT x FROM kept").fetchone()[0] == 42
        # Kill the server hard: postmaster.pid is left behind; the next start must cope.
        pid = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        pg2 = ThrowawayPostgres(root).start()
        try:
            with psycopg.connect(pg2.dsn) as conn:
                assert conn.execute("SELECT x FROM kept").fetchone()[0] == 42
        finally:
            pg2.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_missing_postgres_binaries_name_the_package(monkeypatch, tmp_path):
    from sergas_nb.lab import pgcluster

    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    monkeypatch.setattr(pgcluster.glob, "glob", lambda pattern: [])  # and no /usr/lib/postgresql
    with pytest.raises(pgcluster.PostgresBinariesNotFound) as info:
        pgcluster.ThrowawayPostgres(tmp_path / "pg").start()
    assert "'postgresql'" in str(info.value) and "DATABASE_URL" in str(info.value)
    assert isinstance(info.value, ZohoDatabaseError)
