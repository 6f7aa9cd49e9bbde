"""notebooks/05_local_mirror.ipynb under papermill against the emulator: two syncs, the changes, SQL."""

from __future__ import annotations

import pytest

from sergas_nb import Mirror, connect
from sergas_nb.lab import notebooks

NOTEBOOK = notebooks.NOTEBOOKS_DIR / "05_local_mirror.ipynb"


@pytest.mark.slow
def test_the_second_sync_reads_only_what_the_notebook_changed(tmp_path, fresh_emulator) -> None:
    env = notebooks.kernel_env(fresh_emulator, None)
    summary = notebooks.run_notebook(NOTEBOOK, tmp_path / "05.ipynb", {"mirror_path": str(tmp_path / "m")},
                                     env=env, cwd=tmp_path)
    assert summary["modules"] == ["Accounts", "Deals"]
    assert (summary["added"], summary["changed"], summary["deleted"]) == (1, 5, 1)
    assert summary["second_sync_calls"] < summary["first_sync_calls"]
    assert summary["sql_rows"] > 0
    # The folder the notebook left is a mirror that equals the CRM now.
    crm = connect(emulator=fresh_emulator, env_file=None)
    with Mirror(crm, tmp_path / "m") as m:
        assert len(m.frame("Accounts")) == len(crm.records("Accounts")) == summary["accounts"]
    crm.close()
    text = (tmp_path / "05.ipynb").read_text()
    for secret in (fresh_emulator.client_secret, fresh_emulator.refresh_token):
        assert secret not in text
