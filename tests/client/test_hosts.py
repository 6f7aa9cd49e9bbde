"""Zoho's hosts on the wire: a Bulk Write's file goes to the file host, its result comes from the
download host, a Bulk Read stays on the API host; a download_url never takes the token elsewhere."""

from __future__ import annotations

import pandas as pd
import pytest

from sergas_nb._download import UNSAFE, download_target
from sergas_nb.client import connect
from sergas_nb.config import DATA_CENTRES, endpoints_for, load_settings
from sergas_nb.errors import ZohoAPIError, ZohoConfigError

US = DATA_CENTRES[("us", "production")]
ZOHO_SAMPLE = "https://download-accl.zoho.com/v2/crm/6735/bulk-write/347706122009/347706122009.zip"


@pytest.fixture
def crm(fresh_emulator):
    with connect(emulator=fresh_emulator, env_file=None, backoff=0.01) as client:
        yield client


def _by_host(z) -> dict[str, dict[str, int]]:
    return z.control.stats()["by_host"]


def _count(hosts: dict[str, dict[str, int]], host: str, needle: str) -> int:
    return sum(n for key, n in hosts.get(host, {}).items() if needle in key)


def test_a_bulk_write_uploads_to_the_file_host_and_downloads_from_the_download_host(crm, fresh_emulator):
    df = crm.records("Accounts", fields=["Description"], limit=30, progress=False)
    result = crm.bulk_write("Accounts", df.assign(Description="written by bulk"), "update")
    assert result.ok and result.total == 30
    hosts = _by_host(fresh_emulator)
    assert _count(hosts, "content", "POST /crm/v8/upload") == 1
    assert _count(hosts, "api", "/crm/v8/upload") == 0  # the file never went to the API host
    assert _count(hosts, "api", "POST /crm/bulk/v8/write") == 1  # the job itself is an API call
    assert _count(hosts, "download", "/bulk-write/") == 1  # the result came from the download host
    assert _count(hosts, "api", "/bulk-write/") == _count(hosts, "content", "/bulk-write/") == 0


def test_a_bulk_read_downloads_its_relative_result_from_the_api_host(crm, fresh_emulator):
    frame = crm.records("Accounts", fields=["Account_Name"], strategy="bulk_read", progress=False)
    assert len(frame) == fresh_emulator.store.counts()["Accounts"]
    hosts = _by_host(fresh_emulator)
    assert _count(hosts, "api", "POST /crm/bulk/v8/read") >= 1
    assert _count(hosts, "api", "/result") >= 1
    assert "download" not in hosts and "content" not in hosts


def test_an_upload_sent_to_the_api_host_is_refused(fresh_emulator, access_token):
    import requests

    r = requests.post(
        fresh_emulator.url + "/crm/v8/upload",
        headers={"Authorization": f"Zoho-oauthtoken {access_token}", "feature": "bulk-write"},
        files={"file": ("a.zip", b"PK", "application/zip")},
        timeout=10,
    )
    assert r.status_code == 404 and r.json()["code"] == "INVALID_URL_PATTERN"


def test_without_the_emulators_file_host_a_bulk_write_fails_before_sending(fresh_emulator):
    with connect(emulator=fresh_emulator, env_file=None, local_content_url=None) as crm:
        df = pd.DataFrame({"id": [fresh_emulator.store.select("Accounts")[0]["id"]], "Description": ["x"]})
        with pytest.raises(ZohoConfigError) as info:
            crm.bulk_write("Accounts", df, "update")
    assert "ZOHO_SDK_LOCAL_CONTENT_URL" in info.value.problems
    stats = fresh_emulator.control.stats()
    assert stats["by_path"].get("/crm/v8/upload", 0) == 0 and "content" not in stats["by_host"]
    assert stats["by_path"].get("/crm/bulk/v8/write", 0) == 0  # and no job was made


def test_the_settings_name_the_emulators_hosts(fresh_emulator, monkeypatch):
    monkeypatch.setenv("ZOHO_SDK_LOCAL_CONTENT_URL", fresh_emulator.content_url)
    monkeypatch.setenv("ZOHO_SDK_LOCAL_DOWNLOAD_URL", fresh_emulator.download_url)
    s = load_settings(env_file=None, require=(), region="local", local_url=fresh_emulator.url)
    ep = s.endpoints()
    assert ep.api_url == fresh_emulator.url
    assert ep.upload_url == fresh_emulator.content_url and ep.download_hosts == (fresh_emulator.download_url,)
    with pytest.raises(ZohoConfigError, match="ZOHO_SDK_LOCAL_DOWNLOAD_URL"):
        load_settings(env_file=None, require=(), region="local", local_url=fresh_emulator.url,
                      local_download_url="https://download-accl.zoho.com")  # fmt: skip


def test_every_data_centre_has_its_download_host():
    assert US.download_hosts == ("https://download-accl.zoho.com",)
    assert DATA_CENTRES[("eu", "sandbox")].download_hosts == ("https://download-accl.zoho.eu",)
    assert DATA_CENTRES[("in", "production")].download_hosts == ("https://download-accl.zoho.in",)
    assert all(ep.download_hosts for ep in DATA_CENTRES.values())


# ----- download_url: where the token may go -----------------------------------------------------


def test_zohos_absolute_bulk_write_url_is_used_as_given():
    assert download_target(US, ZOHO_SAMPLE, "/x") == ZOHO_SAMPLE


def test_a_relative_url_is_a_path_on_the_api_host():
    got = download_target(US, "/crm/bulk/v8/read/42/result", "/x")
    assert got == "https://www.zohoapis.com/crm/bulk/v8/read/42/result"
    assert download_target(US, None, "/crm/bulk/v8/read/7/result").endswith("/crm/bulk/v8/read/7/result")


@pytest.mark.parametrize(
    "value",
    [
        "@evil.example/x",  # glued to the host: https://www.zohoapis.com@evil.example/x
        "//evil.example/x",  # scheme-relative: another host
        ".evil.example/x",  # glued: https://www.zohoapis.com.evil.example/x
        ":8443/x",
        "https://evil.example/v2/crm/1/bulk-write/2/2.zip",
        "https://download-accl.zoho.eu/v2/crm/1/bulk-write/2/2.zip",  # another data centre's host
        "http://download-accl.zoho.com/v2/crm/1/bulk-write/2/2.zip",  # not over TLS
        "https://download-accl.zoho.com@evil.example/x",
        "https://user:pw@download-accl.zoho.com/x",
        "https://download-accl.zoho.com.evil.example/x",
        "/x\\@evil.example",
        "/x\r\nHost: evil.example",
    ],
)
def test_a_download_url_that_would_leave_zohos_hosts_is_refused(value):
    with pytest.raises(ZohoAPIError) as info:
        download_target(US, value, "/x")
    assert info.value.code == UNSAFE


def test_the_emulators_download_host_is_allowed_and_no_other_loopback_port():
    local = endpoints_for("local", local_url="http://127.0.0.1:9000", local_download_url="http://127.0.0.1:9002")
    assert download_target(local, "http://127.0.0.1:9002/v2/crm/1/bulk-write/2/2.zip", "/x").startswith(
        "http://127.0.0.1:9002/"
    )
    with pytest.raises(ZohoAPIError):
        download_target(local, "http://127.0.0.1:9001/v2/crm/1/bulk-write/2/2.zip", "/x")
    bare = endpoints_for("local", local_url="http://127.0.0.1:9000")
    assert bare.upload_url == "" and bare.download_hosts == ()  # never the API host in their place
    with pytest.raises(ZohoConfigError, match="ZOHO_SDK_LOCAL_DOWNLOAD_URL"):
        download_target(bare, "http://127.0.0.1:9000/v2/crm/1/bulk-write/2/2.zip", "/x")
