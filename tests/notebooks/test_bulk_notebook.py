"""notebooks/03_bulk_edits.ipynb under papermill against the emulator and a real PostgreSQL.

The expected numbers are computed here independently (from a search through the client), and
compared with the JSON line the notebook printed and with the journal it wrote.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import psycopg
import pytest

from sergas_nb.lab import notebooks

NOTEBOOK = notebooks.NOTEBOOKS_DIR / "03_bulk_edits.ipynb"
CRITERIA = "(Industry:equals:Energy)"


def _expected_changes(zoho) -> int:
    """How many Energy accounts the status_from_health rule changes, computed without sergas_nb.edits.plans."""
    from sergas_nb.client import connect

    frame = connect(emulator=zoho).search("Accounts", criteria=CRITERIA)
    n = 0
    for status, score in zip(frame["Account_Status"], frame["Health_Score"]):
        if pd.isna(score) or pd.isna(status):
            continue
        n += (status == "Active" and score < 60) or (status == "At Risk" and score >= 70)
    return n


def _run(tmp_path: Path, zoho, dsn: str, **parameters) -> tuple[dict, str]:
    out = tmp_path / "03_bulk_edits.ipynb"
    # Connection settings reach the kernel through the environment, never as parameters; a
    # database_url parameter must win over the environment, which then names no usable database.
    env_dsn = "postgresql://nobody@127.0.0.1:1/not_this_one" if "database_url" in parameters else dsn
    env = notebooks.kernel_env(zoho, env_dsn)
    summary = notebooks.run_notebook(NOTEBOOK, out, {"criteria": CRITERIA, "coql": "", **parameters},
                                     env=env, cwd=tmp_path)
    return summary, out.read_text()


@pytest.mark.slow
def test_apply_then_undo_reports_the_numbers_and_journals_them(tmp_path, fresh_emulator, database_url) -> None:
    expected = _expected_changes(fresh_emulator)
    assert expected > 0
    summary, text = _run(tmp_path, fresh_emulator, database_url, dry_run=False, undo=True)
    assert summary["planned"] == expected
    assert (summary["sent"], summary["succeeded"], summary["failed"]) == (expected, expected, 0)
    assert summary["undone"] == expected and summary["restored"] == expected
    with psycopg.connect(database_url) as conn:
        rows = dict(conn.execute("SELECT action, count(*) FROM edit_journal WHERE plan_id = %s"
                                 " AND status = 'success' GROUP BY action", (summary["plan_id"],)).fetchall())
    assert rows == {"apply": expected, "undo": expected}
    assert "widget-view" in text or "IntProgressModel" in text  # the progress bar was shown
    for secret in (fresh_emulator.client_secret, fresh_emulator.refresh_token):
        assert secret not in text


@pytest.mark.slow
def test_dry_run_plans_and_validates_but_writes_nothing(tmp_path, fresh_emulator, database_url) -> None:
    expected = _expected_changes(fresh_emulator)
    # dry_run=True is the default; the journal database given as a parameter this time
    summary, _ = _run(tmp_path, fresh_emulator, database_url, database_url=database_url)
    assert (summary["planned"], summary["sent"], summary["undone"]) == (expected, 0, 0)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM edit_journal").fetchone()[0] == 0
    # nothing changed: the same plan can still be built, with the same id
    again, _ = _run(tmp_path, fresh_emulator, database_url, database_url=database_url)
    assert again["plan_id"] == summary["plan_id"]
