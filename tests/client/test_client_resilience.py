"""ZohoClient when things go wrong: retries, timeouts, token refresh, host pinning, health, metrics."""

from __future__ import annotations

import logging

import pytest
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer

from sergas_nb.client import ZohoClient, connect
from sergas_nb.errors import ZohoAuthError, ZohoDatabaseError, ZohoNotSentError, ZohoRateLimitError


@pytest.fixture
def crm(fresh_emulator) -> ZohoClient:
    client = connect(emulator=fresh_emulator, env_file=None, backoff=0.01, retries=3)
    yield client
    client.close()


def _refreshes(z) -> int:
    return z.oauth.stats()["refresh_token"]


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "429"},
        {"kind": "status", "status": 502, "body": "html"},
        {"kind": "status", "status": 503},
        {"kind": "reset"},
        {"kind": "malformed"},
    ],
)
def test_client_reads_are_retried_on_transient_faults(crm, fresh_emulator, fault):
    crm.fields("Accounts")
    fresh_emulator.control.add_fault(path="^/crm/v8/Accounts$", method="GET", count=2, **fault)
    df = crm.records("Accounts", fields=["Account_Name"], limit=10)
    assert len(df) == 10
    m = crm.metrics()
    calls = m[(m["kind"] == "call") & (m["operation"] == "records")]
    assert calls["retries"].max() == 2
    if fault["kind"] == "429":
        assert (m["kind"] == "rate_limit").sum() >= 2


def test_client_gives_up_after_the_retry_budget_with_rate_limit_error(crm, fresh_emulator):
    crm.fields("Accounts")
    fresh_emulator.control.add_fault("429", path="^/crm/v8/Accounts$", method="GET", count=10)
    with pytest.raises(ZohoRateLimitError) as err:
        crm.records("Accounts", limit=5)
    assert err.value.status == 429
    m = crm.metrics()
    failed = m[(m["kind"] == "call") & (m["status"] == "TOO_MANY_REQUESTS")]
    assert failed["retries"].iloc[-1] == 3


def test_client_write_rejected_with_429_is_retried_and_applied_once(crm, fresh_emulator):
    aid = crm.records("Accounts", limit=1).loc[0, "id"]
    fresh_emulator.control.add_fault("429", path="^/crm/v8/Accounts$", method="PUT", count=1)
    result = crm.update("Accounts", [{"id": aid, "Health_Score": 42}])
    assert result.succeeded == 1
    assert crm.record("Accounts", aid)["Health_Score"] == 42
    assert fresh_emulator.control.stats()["requests"]["PUT /crm/v8/Accounts"] == 2


def test_client_stalled_read_times_out_then_retries(fresh_emulator):
    z = fresh_emulator
    with connect(emulator=z, env_file=None, timeout=(2.0, 1.0), backoff=0.01) as crm:
        crm.fields("Accounts")
        z.control.add_fault("stall", path="^/crm/v8/Accounts$", method="GET", seconds=3, count=1)
        assert len(crm.records("Accounts", limit=3)) == 3


def test_client_401_invalid_token_forces_exactly_one_refresh(crm, fresh_emulator):
    z = fresh_emulator
    crm.fields("Accounts")
    before = _refreshes(z)
    z.oauth.expire_access_tokens()
    assert len(crm.records("Accounts", limit=5)) == 5
    assert _refreshes(z) - before == 1
    m = crm.metrics()
    assert ((m["kind"] == "token_refresh") & (m["status"] == "forced")).sum() == 1


def test_client_401_on_write_refreshes_once_and_retries(crm, fresh_emulator):
    z = fresh_emulator
    aid = crm.records("Accounts", limit=1).loc[0, "id"]
    before = _refreshes(z)
    z.oauth.expire_access_tokens()
    result = crm.update("Accounts", [{"id": aid, "Health_Score": 45}])
    assert result.succeeded == 1
    assert _refreshes(z) - before == 1


def test_client_revoked_refresh_token_is_an_auth_error(crm, fresh_emulator):
    z = fresh_emulator
    crm.fields("Accounts")
    z.oauth.revoke(z.refresh_token)
    with pytest.raises(ZohoAuthError) as err:
        crm.records("Accounts", limit=1)
    assert z.refresh_token not in str(err.value) and z.client_secret not in str(err.value)


def test_client_api_domain_of_a_stored_token_cannot_move_the_client(crm, fresh_emulator):
    z = fresh_emulator
    aid = crm.records("Accounts", limit=1).loc[0, "id"]
    for token in crm.token_store.get_tokens():
        token.set_api_domain("https://www.zohoapis.com")  # as if stored for the real US org
        token.set_expires_in("0")  # and due for refresh
    before = _refreshes(z)
    assert crm.update("Accounts", [{"id": aid, "Health_Score": 46}]).succeeded == 1
    assert crm.update("Accounts", [{"id": aid, "Health_Score": 47}]).succeeded == 1
    assert _refreshes(z) - before == 1  # refreshed at the emulator, not accounts.zoho.com
    assert Initializer.get_initializer().environment.url == z.url
    assert crm.record("Accounts", aid)["Health_Score"] == 47


def test_client_unreachable_host_is_a_transport_error(fresh_emulator):
    crm = connect(emulator=fresh_emulator, env_file=None, backoff=0.01, retries=1)
    crm.fields("Accounts")
    crm.api_url = "http://127.0.0.1:9"  # nothing listens on the discard port
    with pytest.raises(ZohoNotSentError) as err:
        crm.records("Accounts", limit=1)
    assert err.value.status is None and err.value.code == "CONNECTION_ERROR"
    assert not err.value.may_have_applied


def test_client_health_and_metrics(crm, fresh_emulator, caplog):
    caplog.set_level(logging.DEBUG, logger="sergas_nb")
    h = crm.health()
    assert list(h["check"]) == ["configuration", "database", "token", "api"]
    st = dict(zip(h["check"], h["status"], strict=False))
    assert st["configuration"] == st["token"] == st["api"] == "ok" and st["database"] == "skipped"
    assert (h["latency_ms"] >= 0).all()
    crm.records("Accounts", limit=3)
    m = crm.metrics()
    assert {"at", "kind", "operation", "status", "duration", "records", "retries"} <= set(m.columns)
    assert ((m["operation"] == "records") & (m["records"] == 3)).any()
    assert (m["kind"] == "token_refresh").any()
    text = caplog.text + repr(m.to_dict())
    assert fresh_emulator.client_secret not in text and fresh_emulator.refresh_token not in text
    fresh_emulator.control.add_fault("status", path="^/crm/v8/users$", method="GET", status=500, count=10)
    h = crm.health()
    assert dict(zip(h["check"], h["status"], strict=False))["api"] == "error"


def test_client_tokens_in_postgres(fresh_emulator, database_url, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    z = fresh_emulator
    with connect(emulator=z, env_file=None, database_url=database_url, backoff=0.01) as crm:
        assert type(crm.token_store).__name__ == "PostgresTokenStore"
        assert len(crm.records("Accounts", limit=2)) == 2
        h = crm.health()
        assert dict(zip(h["check"], h["status"], strict=False))["database"] == "ok"
        before = _refreshes(z)
        z.oauth.expire_access_tokens()
        assert len(crm.records("Accounts", limit=2)) == 2
        assert _refreshes(z) - before == 1
    # a second client (another notebook) reuses the stored token: no new refresh
    before = _refreshes(z)
    with connect(emulator=z, env_file=None, database_url=database_url) as again:
        assert len(again.records("Accounts", limit=1)) == 1
    assert _refreshes(z) == before


def test_client_database_unreachable_is_a_database_error(fresh_emulator, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ZohoDatabaseError) as err:
        connect(emulator=fresh_emulator, env_file=None, database_url="postgresql://u:pw-secret-1@127.0.0.1:9/db")
    assert "pw-secret-1" not in str(err.value)
