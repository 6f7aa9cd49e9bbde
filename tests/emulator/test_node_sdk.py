"""Zoho's official Node SDK (@zohocrm/nodejs-sdk-8.0), unmodified, against the emulator over HTTP.

npm installs the SDK once into .sergas-nb/cache/ (ignored by git) and later runs reuse it. Without
npm on the machine the test is SKIPPED saying so; CI installs Node and npm, so it runs there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

PACKAGE = "@zohocrm/nodejs-sdk-8.0"
VERSION = "2.0.0"  # pinned: a new SDK release must not change this test under our feet
ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".sergas-nb" / "cache" / f"nodejs-sdk-8.0-{VERSION}"
PROBE = Path(__file__).with_name("node") / "sdk_probe.mjs"


def _sdk_folder() -> Path:
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.skip("npm/node are not installed here (CI installs them): the Node SDK test cannot run")
    folder = CACHE / "node_modules" / "@zohocrm" / "nodejs-sdk-8.0"
    if not (folder / "lib" / "index.js").is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        (CACHE / "package.json").write_text('{"name": "sergas-nb-node-sdk-probe", "private": true}\n')
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", f"{PACKAGE}@{VERSION}"],
            cwd=CACHE,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"npm install {PACKAGE}@{VERSION} failed: {done.stderr[-2000:]}"
    return folder


def test_the_node_sdk_initialises_reads_records_and_runs_a_bulk_read(fresh_emulator, tmp_path):
    folder = _sdk_folder()
    z = fresh_emulator
    env = dict(
        os.environ,
        EMU_URL=z.url,
        EMU_TOKEN_URL=z.token_url,
        EMU_CONTENT_URL=z.content_url,
        EMU_CLIENT_ID=z.client_id,
        EMU_CLIENT_SECRET=z.client_secret,
        EMU_REFRESH_TOKEN=z.refresh_token,
        EMU_REDIRECT_URL=z.redirect_url,
        EMU_WORK=str(tmp_path),
    )
    run = subprocess.run(
        ["node", str(PROBE), str(folder)], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["records_status"] == 200 and len(out["records"]) == 5
    first = z.store.get("Accounts", out["records"][0]["id"])
    assert first is not None and first["Account_Name"] == out["records"][0]["name"]
    assert out["bulk_create_status"] == 201 and out["bulk_state"] == "COMPLETED"
    assert out["bulk_count"] == z.store.counts()["Accounts"]
    assert out["bulk_download_url"].startswith("/crm/bulk/v8/read/") and out["bulk_download_status"] == 200
    assert z.control.stats()["oauth"]["refresh_token"] == 1  # one token for the whole run
