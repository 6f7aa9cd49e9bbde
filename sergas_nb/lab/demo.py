"""``make demo`` / ``sergas-nb demo``: every notebook against the emulator, reports under reports/.

Steps: a PostgreSQL (DATABASE_URL, or a throwaway cluster from the machine's binaries, kept for
the work folder ``.sergas-nb`` of the current directory: see ``pgcluster.cluster_dir_for``),
migrations, the emulator with seeded data on loopback, the five notebooks with papermill, then
HTML reports that render offline (the widget renderer is fetched once into the user's cache).
Paths are relative to the current directory, so a checkout and a wheel install behave alike.
A second run reuses what the first left.
Connection settings and secrets reach the kernels through environment variables only, never as
papermill parameters (those are written into the executed notebooks).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sergas_nb.errors import ZohoError
from sergas_nb.lab import notebooks
from sergas_nb.lab import reports as html_reports

if TYPE_CHECKING:
    from sergas_nb.emulator import LocalZoho

DEMO_ACCOUNTS = 5000
DEMO_SEED = 42

# Per-notebook parameters for the demo (non-secret by construction).
DEMO_PARAMETERS: dict[str, dict[str, Any]] = {
    "01_oauth_onboarding.ipynb": {"region": "local", "mode": "callback"},
    "02_explore_accounts.ipynb": {"target": "emulator"},
    "03_bulk_edits.ipynb": {"target": "emulator", "dry_run": False, "undo": True},
    "04_performance_benchmarks.ipynb": {"target": "emulator"},
    "05_local_mirror.ipynb": {"target": "emulator", "mirror_path": "mirror"},
}


def _log(msg: str) -> None:
    print(f"[sergas-nb demo] {msg}", flush=True)


def main(
    reports: str | os.PathLike[str] = "reports",
    work_dir: str | os.PathLike[str] = ".sergas-nb",
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    accounts: int = DEMO_ACCOUNTS,
    zoho: LocalZoho | None = None,
    parameters: dict[str, dict[str, Any]] | None = None,
) -> int:
    """Run the demo; 0 when every notebook ran and its report was written.

    ``zoho`` runs against an emulator the caller started (its callback redirect must be on a
    port of its own); ``parameters`` override the per-notebook papermill parameters;
    ``cache_dir`` holds the widget renderer (default: ``sergas_nb._resources.cache_dir()``).
    """
    from sergas_nb._resources import cache_dir as user_cache_dir
    from sergas_nb.edits.migrate import apply_migrations
    from sergas_nb.emulator import LocalZoho
    from sergas_nb.lab.pgcluster import for_work_dir, free_port

    reports_dir = Path(reports).resolve()
    work = Path(work_dir).resolve()
    reports_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        database_url = os.environ.get("DATABASE_URL")
        if database_url:
            _log("using DATABASE_URL from the environment")
        else:
            pg = stack.enter_context(for_work_dir(work))
            database_url = pg.dsn
            _log(f"started a throwaway PostgreSQL on {pg.label}, password in {pg.password_file}")
            if pg.recreated:
                _log("  made anew: the earlier one (an older sergas-nb) let every local user in without a password")
        applied = apply_migrations(database_url)
        _log(f"migrations applied: {applied or 'none new'}")

        if zoho is None:
            callback = f"http://127.0.0.1:{free_port()}/callback"  # the onboarding notebook's catcher
            zoho = stack.enter_context(
                LocalZoho(accounts=accounts, seed=DEMO_SEED, auto_approve=True, redirect_url=callback)
            )
            _log(f"emulator on {zoho.url} with {accounts} seeded accounts")
        env = notebooks.kernel_env(zoho, database_url, SERGAS_NB_ENV_FILE=str(work / "onboarding.env"))

        try:
            modules = html_reports.ensure_widget_assets(Path(cache_dir or user_cache_dir()) / "npm")
            html_reports.copy_static(modules, reports_dir)
            offline_widgets = True
        except html_reports.ReportError as exc:
            _log(f"widgets will render blank in the HTML reports: {exc}")
            offline_widgets = False

        for name in notebooks.NOTEBOOKS:
            src = notebooks.NOTEBOOKS_DIR / name
            out = reports_dir / name
            t0 = time.perf_counter()
            _log(f"running {name} ...")
            try:
                params = {**DEMO_PARAMETERS.get(name, {}), **(parameters or {}).get(name, {})}
                summary = notebooks.run_notebook(src, out, params, env=env, cwd=reports_dir)
            except ZohoError as exc:
                _log(f"FAILED: {exc} (executed notebook kept at {out})")
                return 1
            html = html_reports.export_html(out, out.with_suffix(".html"))
            results[name] = summary
            _log(f"  done in {time.perf_counter() - t0:.1f} s: {json.dumps(summary)[:300]}")
            _log(f"  report: {html}")

    (reports_dir / "summary.json").write_text(json.dumps(results, indent=2, default=str))
    _log(f"all notebooks ran in {time.perf_counter() - started:.0f} s")
    widgets = "render offline" if offline_widgets else "need network"
    _log(f"reports: {reports_dir} (open the .html files; widgets {widgets})")
    return 0
