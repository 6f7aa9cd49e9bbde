"""Starting the emulator: LocalZoho in process and the CLI's one JSON line; loopback only."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests

from sergas_nb.emulator import LocalZoho, NotLoopbackError


def test_local_zoho_exposes_working_credentials():
    with LocalZoho(accounts=50, seed=3) as z:
        assert z.url.startswith("http://127.0.0.1:") and z.port > 0
        assert z.token_url == z.url + "/oauth/v2/token"
        tok = requests.post(
            z.token_url,
            data={
                "grant_type": "refresh_token",
                "client_id": z.client_id,
                "client_secret": z.client_secret,
                "refresh_token": z.refresh_token,
            },
            timeout=10,
        ).json()
        assert tok["api_domain"] == z.url and tok["expires_in"] == 3600
        r = requests.get(
            z.url + "/crm/v8/Accounts/actions/count",
            headers={"Authorization": f"Zoho-oauthtoken {tok['access_token']}"},
            timeout=10,
        )
        assert r.json() == {"count": 50}
        assert z.client_secret not in repr(z) and z.refresh_token not in repr(z)
    with pytest.raises(requests.ConnectionError):
        requests.get(z.url, timeout=2)  # stopped with the block


def test_same_seed_same_data_other_seed_other_data():
    with (
        LocalZoho(accounts=30, seed=11) as a,
        LocalZoho(accounts=30, seed=11) as b,
        LocalZoho(accounts=30, seed=12) as c,
    ):
        assert a.store.snapshot() == b.store.snapshot()
        assert a.store.snapshot()["Accounts"] != c.store.snapshot()["Accounts"]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.com"])
def test_refuses_non_loopback_hosts(host):
    with pytest.raises(NotLoopbackError, match="loopback"):
        LocalZoho(accounts=1, host=host)


def test_cli_prints_one_json_line_then_serves():
    proc = subprocess.Popen(
        [sys.executable, "-m", "sergas_nb.cli", "emulator", "--port", "0", "--accounts", "40"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        info = json.loads(line)
        # issue 15: the line also names Zoho's file (upload) and download hosts, each on its own port
        assert set(info) == {
            "url",
            "content_url",
            "download_url",
            "token_url",
            "client_id",
            "client_secret",
            "refresh_token",
            "redirect_url",
        }
        assert len({info["url"], info["content_url"], info["download_url"]}) == 3
        tok = requests.post(
            info["token_url"],
            data={
                "grant_type": "refresh_token",
                "client_id": info["client_id"],
                "client_secret": info["client_secret"],
                "refresh_token": info["refresh_token"],
            },
            timeout=10,
        ).json()
        r = requests.get(
            info["url"] + "/crm/v8/Accounts/actions/count",
            headers={"Authorization": f"Zoho-oauthtoken {tok['access_token']}"},
            timeout=10,
        )
        assert r.json()["count"] == 40
        # The file host serves the upload and nothing of the API: a record call there is not found.
        elsewhere = requests.get(
            info["content_url"] + "/crm/v8/Accounts/actions/count",
            headers={"Authorization": f"Zoho-oauthtoken {tok['access_token']}"},
            timeout=10,
        )
        assert elsewhere.status_code == 404 and elsewhere.json()["code"] == "INVALID_URL_PATTERN"
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()


def test_cli_refuses_a_public_address():
    out = subprocess.run(
        [sys.executable, "-m", "sergas_nb.cli", "emulator", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "loopback" in out.stderr and out.stdout == ""
