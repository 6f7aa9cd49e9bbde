"""PostgresTokenStore: the SDK's store protocol, namespaces, one refresh for many processes, errors."""

from __future__ import annotations

import multiprocessing
import socket
import tempfile

import psycopg
import pytest
import requests
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from sergas_nb.auth import exchange_code
from sergas_nb.emulator import LocalZoho
from sergas_nb.errors import ZohoAuthError, ZohoDatabaseError
from sergas_nb.tokens import PostgresTokenStore
from sergas_nb.tokens import token_namespace as namespace_for

PROCESSES = 8


@pytest.fixture(scope="module")
def zoho():
    with LocalZoho(accounts=20, auto_approve=True) as z:
        yield z


def token_stats(z) -> dict[str, int]:
    return requests.get(f"{z.url}/__emulator__/oauth/stats", timeout=10).json()


def new_grant(z):
    """A fresh refresh token of our own (a self-client code exchanged), so throttles are per test."""
    r = requests.post(
        f"{z.url}/__emulator__/oauth/self-client-code",
        timeout=10,
        data={"client_id": z.client_id, "scopes": "ZohoCRM.modules.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ"},
    )
    r.raise_for_status()
    return exchange_code(z.token_url, z.client_id, z.client_secret, None, r.json()["code"])


def make_store(dsn: str, z, namespace: str | None = None, refresh: bool = True) -> PostgresTokenStore:
    """The store as the client builds it; ``refresh=False``: lookups only (no token URL)."""
    return PostgresTokenStore(
        dsn,
        namespace or namespace_for(z.url, z.client_id),
        token_url=z.token_url if refresh else None,
        client_id=z.client_id,
        client_secret=z.client_secret,
        api_domain=z.url,
        timeout=10,
    )


def current_user(z, access_token: str) -> requests.Response:
    return requests.get(
        f"{z.url}/crm/v8/users",
        params={"type": "CurrentUser"},
        timeout=10,
        headers={"Authorization": f"Zoho-oauthtoken {access_token}"},
    )


# ---------------------------------------------------------------------------------------------
# The SDK's TokenStore protocol
# ---------------------------------------------------------------------------------------------


def test_sdk_protocol_save_find_list_delete(database_url, zoho):
    store = make_store(database_url, zoho)
    grant = new_grant(zoho)
    saved = OAuthToken(
        client_id=zoho.client_id,
        client_secret=zoho.client_secret,
        refresh_token=grant.refresh_token,
        access_token=grant.access_token,
        user_signature=UserSignature(f"{zoho.user_email}:777"),
    )
    saved.set_expires_in(str(grant.expires_at_ms))
    store.save_token(saved)
    assert saved.get_id()

    # At Initializer.initialize the SDK calls find_token with the configured credentials only.
    probe = OAuthToken(client_id=zoho.client_id, client_secret=zoho.client_secret, refresh_token=grant.refresh_token)
    found = store.find_token(probe)
    assert found is probe
    assert probe.get_id() == saved.get_id()
    assert probe.get_access_token() == grant.access_token
    assert probe.get_expires_in() == str(grant.expires_at_ms)
    assert probe.get_user_signature().get_name() == f"{zoho.user_email}:777"
    assert probe.get_api_domain() == zoho.url

    # On every call the SDK calls find_token_by_id.
    by_id = store.find_token_by_id(saved.get_id())
    assert by_id.get_access_token() == grant.access_token
    assert by_id.get_client_secret() == zoho.client_secret  # filled from configuration
    by_user = store.find_token(OAuthToken(user_signature=UserSignature(zoho.user_email)))  # bare email
    assert by_user.get_id() == saved.get_id()

    # Saving again (after a refresh) updates the same row.
    saved.set_access_token("1000.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
    store.save_token(saved)
    assert [t.get_id() for t in store.get_tokens()] == [saved.get_id()]
    assert store.find_token_by_id(saved.get_id()).get_access_token().startswith("1000.aaaa")

    store.delete_token(saved.get_id())
    assert store.get_tokens() == []
    lookup_only = make_store(database_url, zoho, refresh=False)
    assert (
        lookup_only.find_token(
            OAuthToken(client_id=zoho.client_id, client_secret=zoho.client_secret, refresh_token=grant.refresh_token)
        )
        is None
    )
    with pytest.raises(ZohoAuthError):
        store.find_token_by_id(saved.get_id())


def test_tokens_of_other_hosts_and_clients_never_mix(database_url, zoho):
    ours = make_store(database_url, zoho)
    grant = new_grant(zoho)
    ours.save_tokenset(grant, user_name=f"{zoho.user_email}:1")
    # Stores configured for a real org and for another client (lookups only: their accounts
    # servers are not this emulator).
    elsewhere = [
        make_store(database_url, zoho, namespace_for("https://www.zohoapis.com", zoho.client_id), refresh=False),
        make_store(database_url, zoho, namespace_for(zoho.url, "1000.OTHERCLIENT"), refresh=False),
    ]
    for other in elsewhere:
        assert other.get_tokens() == []
        assert (
            other.find_token(
                OAuthToken(
                    client_id=zoho.client_id, client_secret=zoho.client_secret, refresh_token=grant.refresh_token
                )
            )
            is None
        )
        assert other.find_token(OAuthToken(user_signature=UserSignature(f"{zoho.user_email}:1"))) is None
        with pytest.raises(ZohoAuthError, match="No Zoho token"):
            other.access_token()
        other.delete_tokens()
    assert len(ours.get_tokens()) == 1  # delete_tokens elsewhere left ours alone


def test_client_secret_is_not_written_to_the_database(database_url, zoho):
    store = make_store(database_url, zoho)
    token = OAuthToken(
        client_id=zoho.client_id, client_secret=zoho.client_secret, refresh_token=new_grant(zoho).refresh_token
    )
    store.save_token(token)
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT * FROM zoho_tokens").fetchone()
    assert zoho.client_secret not in [str(v) for v in row]
    assert store.find_token_by_id(token.get_id()).get_client_secret() == zoho.client_secret


# ---------------------------------------------------------------------------------------------
# Refresh
# ---------------------------------------------------------------------------------------------


def test_expired_token_is_refreshed_once_and_saved(database_url, zoho):
    store = make_store(database_url, zoho)
    grant = new_grant(zoho)
    store.save_tokenset(grant)
    assert store.access_token() == grant.access_token  # valid: no token request
    store.expire()
    before = token_stats(zoho)["refresh_token"]
    fresh = store.access_token()
    assert fresh != grant.access_token
    assert current_user(zoho, fresh).status_code == 200
    assert store.access_token() == fresh  # stored: no second request
    other_process = make_store(database_url, zoho)
    assert other_process.access_token() == fresh
    assert token_stats(zoho)["refresh_token"] - before == 1
    assert store.stats()[0]["refresh_count"] == 1


def test_force_refresh_after_401_refreshes_once_for_everyone(database_url, zoho):
    a, b = make_store(database_url, zoho), make_store(database_url, zoho)
    a.save_tokenset(new_grant(zoho))
    rejected = a.access_token()
    assert b.access_token() == rejected
    before = token_stats(zoho)["refresh_token"]
    replaced = a.force_refresh(rejected_token=rejected)
    assert replaced != rejected
    assert b.force_refresh(rejected_token=rejected) == replaced  # already replaced: no second request
    assert token_stats(zoho)["refresh_token"] - before == 1


def test_revoked_refresh_token_gives_auth_error_in_plain_words(database_url, zoho):
    store = make_store(database_url, zoho)
    grant = new_grant(zoho)
    store.save_tokenset(grant)
    requests.post(f"{zoho.url}/oauth/v2/token/revoke", params={"token": grant.refresh_token}, timeout=10)
    store.expire()
    with pytest.raises(ZohoAuthError) as info:
        store.access_token()
    assert info.value.code == "invalid_code"
    assert "onboarding" in str(info.value)
    assert grant.refresh_token not in str(info.value) and zoho.client_secret not in str(info.value)


def _refresh_in_process(dsn, z_attrs, ready, go, queue):  # a spawned process: raw HTTP path
    from types import SimpleNamespace

    z = SimpleNamespace(**z_attrs)
    try:
        store = make_store(dsn, z)
        store.check()  # connected before the start signal, so all processes start level
        ready.wait(60)
        go.wait(60)
        token = store.access_token()
        queue.put(("ok", token, current_user(z, token).status_code))
    except Exception as exc:
        queue.put(("error", repr(exc), None))


def _sdk_call_in_process(dsn, z_attrs, refresh_token, ready, go, queue):  # a spawned process: via the SDK
    from types import SimpleNamespace

    from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
    from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
    from zohocrmsdk.src.com.zoho.crm.api.parameter_map import ParameterMap
    from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
    from zohocrmsdk.src.com.zoho.crm.api.users import GetUsersParam, ResponseWrapper, UsersOperations

    z = SimpleNamespace(**z_attrs)
    try:
        store = make_store(dsn, z)
        # Initialise while the stored token is still valid (no token request), then wait for the
        # parent to expire it, so all processes meet the expired token at the same moment.
        Initializer.initialize(
            environment=DataCenter.Environment(z.url, z.token_url, z.url),
            token=OAuthToken(client_id=z.client_id, client_secret=z.client_secret, refresh_token=refresh_token),
            store=store,
            sdk_config=SDKConfig(update_api_domain=False, auto_refresh_fields=False),
            resource_path=tempfile.mkdtemp(prefix="sdk-res-"),
        )
        params = ParameterMap()
        params.add(GetUsersParam.type, "CurrentUser")
        ready.wait(60)
        go.wait(60)
        response = UsersOperations().get_users(params)
        body = response.get_object()
        email = body.get_users()[0].get_email() if isinstance(body, ResponseWrapper) else repr(body)
        queue.put(("ok", store.access_token(), response.get_status_code(), email))
    except Exception as exc:
        queue.put(("error", repr(exc), None, None))


def _collect(procs, queue) -> list[tuple]:
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    return results


def _z_attrs(z) -> dict:
    return {k: getattr(z, k) for k in ("url", "token_url", "client_id", "client_secret")}


def _race(zoho, store, target, args, expire: bool = True) -> tuple[list[tuple], int]:
    """Start PROCESSES copies of ``target``; expire the stored token once all are ready, then let
    them go at once. The first token request stalls 0.5 s at the emulator, so without the lock the
    others would certainly meet the expired token too. Returns (results, token requests made)."""
    ctx = multiprocessing.get_context("spawn")
    ready, go, queue = ctx.Barrier(PROCESSES + 1), ctx.Barrier(PROCESSES + 1), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, ready, go, queue)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    try:
        ready.wait(120)
        if expire:
            store.expire()
        zoho.control.add_fault("stall", path="^/oauth/v2/token$", method="POST", count=1, seconds=0.5)
        before = token_stats(zoho)["refresh_token"]
        go.wait(60)
        results = _collect(procs, queue)
    finally:
        zoho.control.clear_faults()
    return results, token_stats(zoho)["refresh_token"] - before


def test_eight_processes_with_an_expired_token_cause_one_refresh(database_url, zoho):
    store = make_store(database_url, zoho)
    grant = new_grant(zoho)
    store.save_tokenset(grant)
    results, refreshes = _race(zoho, store, _refresh_in_process, (database_url, _z_attrs(zoho)))
    assert [r[0] for r in results] == ["ok"] * PROCESSES, results
    assert refreshes == 1
    tokens = {r[1] for r in results}
    assert len(tokens) == 1 and grant.access_token not in tokens  # everyone got the one new token
    assert [r[2] for r in results] == [200] * PROCESSES  # and it works


def _first_use_in_process(dsn, z_attrs, refresh_token, ready, go, queue):  # what Initializer.initialize asks
    from types import SimpleNamespace

    z = SimpleNamespace(**z_attrs)
    try:
        store = make_store(dsn, z)
        store.check()
        ready.wait(60)
        go.wait(60)
        token = store.find_token(
            OAuthToken(client_id=z.client_id, client_secret=z.client_secret, refresh_token=refresh_token)
        )
        queue.put(("ok", token.get_access_token(), token.get_id()))
    except Exception as exc:
        queue.put(("error", repr(exc), None))


def test_eight_processes_first_using_a_new_refresh_token_cause_one_refresh(database_url, zoho):
    store = make_store(database_url, zoho)
    grant = new_grant(zoho)  # a refresh token the store has never seen
    results, refreshes = _race(
        zoho, store, _first_use_in_process, (database_url, _z_attrs(zoho), grant.refresh_token), expire=False
    )
    assert [r[0] for r in results] == ["ok"] * PROCESSES, results
    assert refreshes == 1
    assert len({r[1] for r in results}) == 1 and len({r[2] for r in results}) == 1  # one token, one row
    assert len(store.get_tokens()) == 1


def test_eight_sdk_processes_with_an_expired_token_cause_one_refresh(database_url, zoho):
    store = make_store(database_url, zoho)
    grant = new_grant(zoho)
    store.save_tokenset(grant)
    results, refreshes = _race(zoho, store, _sdk_call_in_process, (database_url, _z_attrs(zoho), grant.refresh_token))
    assert [r[0] for r in results] == ["ok"] * PROCESSES, results
    assert refreshes == 1
    assert {r[2] for r in results} == {200}
    assert {r[3] for r in results} == {zoho.user_email}
    tokens = {r[1] for r in results}
    assert len(tokens) == 1 and grant.access_token not in tokens


# ---------------------------------------------------------------------------------------------
# Database errors
# ---------------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_database_names_host_port_and_database_not_the_password(zoho):
    port = _closed_port()
    store = make_store(f"postgresql://analyst:Sup3r-Secret-Pw@127.0.0.1:{port}/crm_tokens", zoho)
    for call in (
        store.check,
        lambda: store.find_token_by_id("x"),
        store.get_tokens,
        lambda: store.find_token(OAuthToken(client_id="c", client_secret="s", refresh_token="r")),
    ):
        with pytest.raises(ZohoDatabaseError) as info:
            call()
        text = str(info.value)
        assert f"127.0.0.1:{port}/crm_tokens" in text
        assert "Sup3r-Secret-Pw" not in text and "Sup3r-Secret-Pw" not in repr(info.value.details)
    assert "Sup3r-Secret-Pw" not in repr(store)


def test_missing_schema_says_to_run_migrate(empty_database_url, zoho):
    store = make_store(empty_database_url, zoho)
    with pytest.raises(ZohoDatabaseError, match="sergas-nb migrate") as info:
        store.access_token()
    assert "zoho_tokens" in str(info.value)
    with pytest.raises(ZohoDatabaseError, match="sergas-nb migrate"):
        store.check()
