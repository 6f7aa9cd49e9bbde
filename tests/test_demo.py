"""`make demo`'s job end to end: every notebook against the emulator, offline HTML reports, no secret."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from sergas_nb.emulator import LocalZoho
from sergas_nb.lab import demo, reports
from sergas_nb.lab.notebooks import NOTEBOOKS
from sergas_nb.lab.pgcluster import free_port
from tests.leaks import find_leaks, scan_files

SMALL = {"04_performance_benchmarks.ipynb": {"sizes": [50, 200], "repeats": 2}}


@pytest.mark.slow
# Every notebook in real kernels (about 155 s on a quiet 2-core machine): past the suite's 300 s
# when the machine runs a second suite beside it, as a verification run here did.
@pytest.mark.timeout(900)
def test_demo_runs_every_notebook_and_writes_offline_reports(tmp_path, database_url, monkeypatch, capfd, chromium_page):
    monkeypatch.setenv("DATABASE_URL", database_url)
    out = tmp_path / "reports"
    with LocalZoho(accounts=2500, auto_approve=True, redirect_url=f"http://127.0.0.1:{free_port()}/callback") as z:
        rc = demo.main(reports=out, work_dir=tmp_path / "work", zoho=z, parameters=SMALL)
        secrets = [z.client_secret, z.refresh_token]
    printed = capfd.readouterr()
    assert rc == 0, printed.out[-3000:]

    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == set(NOTEBOOKS)
    assert summary["01_oauth_onboarding.ipynb"]["refresh_verified"] is True
    bulk = summary["03_bulk_edits.ipynb"]
    assert bulk["planned"] > 0 and bulk["succeeded"] == bulk["planned"] and bulk["undone"] == bulk["planned"]

    for name in NOTEBOOKS:
        html = (out / name).with_suffix(".html").read_text()
        # Scripts come from ./static beside the report, never from a CDN.
        assert not reports.remote_urls(html), name
        assert 'src="static/require.js"' in html or "static/require.js" in html
    assert (out / "static" / "embed-amd.js").stat().st_size > 1_000_000
    html02 = (out / "02_explore_accounts.html").read_text()
    assert "application/vnd.jupyter.widget-state+json" in html02  # widget state embedded for offline render
    assert re.search(r'<img[^>]+src="data:image/png;base64,', html02)  # plots as PNG

    leaks = scan_files([p for p in out.rglob("*") if p.suffix in {".ipynb", ".html", ".json"}], secrets)
    assert not leaks
    assert not find_leaks(printed.out + printed.err, secrets)

    # The explorer's report, opened from disk with every non-file request refused, shows live widgets.
    refused = []

    def offline(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    chromium_page.route("**/*", offline)
    chromium_page.goto((out / "02_explore_accounts.html").as_uri())
    chromium_page.wait_for_selector(".sergas-explorer .widget-dropdown select", timeout=30_000)
    assert chromium_page.locator(".sergas-count").first.inner_text().startswith("2,500 of 2,500 accounts")
    assert chromium_page.locator(".sergas-table table tr").count() > 10
    assert not refused


# ---------------------------------------------------------------------------------------------
# The demo's throwaway PostgreSQL, wherever the checkout is
# ---------------------------------------------------------------------------------------------


def test_demo_cluster_in_a_private_folder_runs_and_is_reused(tmp_path):
    """Root in a 0700 folder (/root, mktemp -d): the server's user cannot enter it, so the cluster
    lives elsewhere, in the same place on every run; an ordinary user keeps it in the work folder."""
    import os
    import tempfile

    import psycopg

    from sergas_nb.lab import pgcluster

    private = Path(tempfile.mkdtemp(prefix="sergas-private-"))  # mode 0700, like a home
    work = private / "checkout" / ".sergas-nb"
    try:
        where = pgcluster.cluster_dir_for(work)
        if os.geteuid() == 0:
            assert private not in where.parents
            assert where.parent == pgcluster.runtime_base()
            assert pgcluster.runtime_base().stat().st_mode & 0o777 == 0o711
        else:
            assert where == work.resolve() / "pg"
        with pgcluster.for_work_dir(work) as pg:
            with psycopg.connect(pg.dsn, autocommit=True) as conn:
                conn.execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)")
        if os.geteuid() == 0:
            assert where.stat().st_uid == pgcluster.server_account().pw_uid
            assert where.stat().st_mode & 0o777 == 0o700
        with pgcluster.for_work_dir(work) as again:
            assert again.root_dir == where
            with psycopg.connect(again.dsn) as conn:
                assert conn.execute("SELECT x FROM kept").fetchone()[0] == 7
        assert pgcluster.main(["remove", str(work)]) == 0  # what `make clean` runs
        assert not where.exists()
    finally:
        pgcluster.main(["remove", str(work)])
        shutil.rmtree(private, ignore_errors=True)


def test_demo_cluster_in_a_reachable_folder_stays_in_the_work_folder(tmp_path):
    from sergas_nb.lab import pgcluster

    open_dir = Path(tempfile.mkdtemp(prefix="sergas-open-"))
    try:
        open_dir.chmod(0o755)
        assert pgcluster.cluster_dir_for(open_dir / ".sergas-nb") == open_dir.resolve() / ".sergas-nb" / "pg"
    finally:
        shutil.rmtree(open_dir, ignore_errors=True)


def test_a_runtime_base_someone_else_could_write_is_refused(tmp_path, monkeypatch):
    from sergas_nb.errors import ZohoDatabaseError
    from sergas_nb.lab import pgcluster

    monkeypatch.setattr(pgcluster.tempfile, "gettempdir", lambda: str(tmp_path))
    (tmp_path / pgcluster.RUNTIME_BASE_NAME).mkdir(mode=0o777)
    (tmp_path / pgcluster.RUNTIME_BASE_NAME).chmod(0o777)
    with pytest.raises(ZohoDatabaseError, match="writable by it alone"):
        pgcluster.runtime_base()


def test_demo_without_postgres_binaries_says_what_to_install(tmp_path, monkeypatch, capsys):
    from sergas_nb import cli
    from sergas_nb.lab import pgcluster

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(pgcluster.glob, "glob", lambda pattern: [])  # no /usr/lib/postgresql either
    monkeypatch.chdir(tmp_path)
    assert cli.main(["demo", "--reports", "out"]) == 1
    err = capsys.readouterr().err
    assert "sergas-nb demo: PostgreSQL server binaries" in err and "apt-get install -y postgresql" in err
    assert "Traceback" not in err
