"""`make demo`'s job end to end: every notebook against the emulator, offline HTML reports, no secret."""

from __future__ import annotations

import json
import re

import pytest

from sergas_nb.emulator import LocalZoho
from sergas_nb.lab import demo, reports
from sergas_nb.lab.notebooks import NOTEBOOKS
from sergas_nb.lab.pgcluster import free_port
from tests.leaks import find_leaks, scan_files

SMALL = {"04_performance_benchmarks.ipynb": {"sizes": [50, 200], "repeats": 2}}


@pytest.mark.slow
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
