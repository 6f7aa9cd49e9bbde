"""The throwaway PostgreSQL (tests, ``make demo``) lets in only who holds its password.

Any local account can reach 127.0.0.1: without a password it could read the journal (CRM data) and
run ``COPY ... TO PROGRAM`` as the server's user. So the cluster asks for a scram-sha-256 password.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from sergas_nb.lab import pgcluster
from sergas_nb.lab.pgcluster import ThrowawayPostgres


def _connect_without_password(port: int, **extra: str) -> psycopg.Connection:
    # No ~/.pgpass and no PGPASSWORD can hand libpq a password behind the test's back.
    env_password = os.environ.pop("PGPASSWORD", None)
    try:
        return psycopg.connect(
            host="127.0.0.1",
            port=port,
            user="postgres",
            dbname="postgres",
            passfile=os.devnull,
            connect_timeout=5,
            **extra,
        )
    finally:
        if env_password is not None:
            os.environ["PGPASSWORD"] = env_password


def test_a_passwordless_connection_is_refused_and_the_password_works(postgres: ThrowawayPostgres) -> None:
    with pytest.raises(psycopg.OperationalError) as info:
        _connect_without_password(postgres.port)
    assert "password" in str(info.value)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        _connect_without_password(postgres.port, password="not-the-password")
    password = postgres.password_file.read_text().strip()
    with _connect_without_password(postgres.port, password=password) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
    with psycopg.connect(postgres.dsn) as conn:  # the URL the fixtures hand out carries it
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with psycopg.connect(postgres.dsn_for("sergas_template")) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("sergas_template",)


def test_the_password_is_random_in_a_0600_file_and_never_in_the_label(postgres: ThrowawayPostgres) -> None:
    password = postgres.password_file.read_text().strip()
    assert len(password) >= 32 and password in postgres.dsn
    assert postgres.password_file.parent == postgres.data_dir.parent  # beside the cluster
    st = postgres.password_file.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    expected_owner = pgcluster.server_account().pw_uid if os.geteuid() == 0 else os.geteuid()
    assert st.st_uid == expected_owner
    assert password not in postgres.label and str(postgres.port) in postgres.label
    hba = [ln.split() for ln in (postgres.data_dir / "pg_hba.conf").read_text().splitlines()]
    rules = [r for r in hba if r and not r[0].startswith("#")]
    assert rules and all(r[-1] == "scram-sha-256" for r in rules)
    with psycopg.connect(postgres.dsn) as conn:
        assert conn.execute("SHOW password_encryption").fetchone() == ("scram-sha-256",)
        assert "password" not in conn.info.dsn  # psycopg's conninfo leaves it out of what it shows
        assert password not in conn.info.dsn


def test_a_cluster_made_by_an_older_version_with_trust_is_made_anew(caplog: pytest.LogCaptureFixture) -> None:
    root = Path(tempfile.mkdtemp(prefix="sergas-pg-trust-", dir="/tmp"))
    old = ThrowawayPostgres(root)
    try:
        # What the older version did: initdb --auth=trust, no password file, a server left running.
        old._bin = pgcluster.find_pg_bin()
        old._prepare_dirs()
        old._run("initdb", "-D", str(old.data_dir), "-U", "postgres", "--auth=trust", "--no-sync", what="old initdb")
        old.port = pgcluster.free_port()
        old._run(
            "pg_ctl",
            "-D",
            str(old.data_dir),
            "-l",
            str(old.log_file),
            "-w",
            "-o",
            f"-c listen_addresses=127.0.0.1 -p {old.port} -k ''",
            "start",
            what="old start",
        )
        with _connect_without_password(old.port, autocommit="true") as conn:  # trust: anyone gets in
            conn.execute("CREATE TABLE journal_of_old (x int)")

        with caplog.at_level("WARNING", logger="sergas_nb.lab.pgcluster"):
            pg = ThrowawayPostgres(root).start()
        try:
            assert pg.recreated and not pg.adopted
            assert "without a password" in caplog.text and pg.password_file.read_text() not in caplog.text
            with pytest.raises(psycopg.OperationalError):
                _connect_without_password(pg.port)
            with psycopg.connect(pg.dsn) as conn:
                assert conn.execute("SELECT to_regclass('journal_of_old')").fetchone() == (None,)
        finally:
            pg.stop()
        # The next start reuses the new cluster as it is.
        with ThrowawayPostgres(root) as again:
            assert not again.recreated
            with psycopg.connect(again.dsn) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        old.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_the_cli_start_hands_out_a_working_url_and_remove_takes_the_password_too() -> None:
    """``python -m sergas_nb.lab.pgcluster start`` prints the DSN for ``export DATABASE_URL=$(...)``."""
    work = Path(tempfile.mkdtemp(prefix="sergas-pg-cli-", dir="/tmp")) / ".sergas-nb"
    try:
        out = subprocess.run(
            [sys.executable, "-m", "sergas_nb.lab.pgcluster", "start", str(work)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        dsn = out.stdout.strip()
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        where = pgcluster.cluster_dir_for(work)
        assert (where / pgcluster.PASSWORD_FILE).exists()
        assert pgcluster.main(["remove", str(work)]) == 0  # what `make clean` runs
        assert not where.exists()
    finally:
        pgcluster.main(["remove", str(work)])
        shutil.rmtree(work.parent, ignore_errors=True)
