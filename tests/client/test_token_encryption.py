"""Tokens encrypted at rest: nothing readable in the table, a clear error for a wrong or bad key,
plaintext rows from before encryption migrated, and a refresh margin that fits short-lived tokens."""

from __future__ import annotations

import stat
import time
import uuid

import psycopg
import pytest
import requests
from cryptography.fernet import Fernet

from sergas_nb import _secrets
from sergas_nb._token_key import ENV_KEY, ENV_KEY_FILE, TokenCipher
from sergas_nb.edits.migrate import apply_migrations, migration_files
from sergas_nb.emulator import LocalZoho
from sergas_nb.errors import ZohoConfigError
from sergas_nb.tokens import PostgresTokenStore
from sergas_nb.tokens import token_namespace as namespace_for
from tests.client.test_tokens import make_store, new_grant, token_stats


@pytest.fixture(scope="module")
def zoho():
    with LocalZoho(accounts=5, auto_approve=True) as z:
        yield z


def _row(dsn: str) -> dict:
    with psycopg.connect(dsn) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute("SELECT * FROM zoho_tokens").fetchone()


def test_stored_tokens_are_ciphertext(database_url, zoho):
    store = make_store(database_url, zoho)
    grant = new_grant(zoho)
    store.save_tokenset(grant, client_id=zoho.client_id)
    row = _row(database_url)
    values = [str(v) for v in row.values()]
    assert not any(grant.refresh_token in v or grant.access_token in v for v in values)
    assert row["refresh_token"].startswith("fernet:") and row["access_token"].startswith("fernet:")
    assert store.access_token() == grant.access_token  # and readable through the store


def test_a_wrong_key_is_a_clear_error_without_the_key(database_url, zoho):
    make_store(database_url, zoho).save_tokenset(new_grant(zoho), client_id=zoho.client_id)
    other = Fernet.generate_key().decode()
    wrong = PostgresTokenStore(
        database_url, namespace_for(zoho.url, zoho.client_id), cipher=TokenCipher(other, ENV_KEY)
    )
    with pytest.raises(ZohoConfigError) as err:
        wrong.access_token()
    assert "encrypted with another key" in str(err.value) and other not in str(err.value)


@pytest.mark.parametrize("value", ["", "not-a-fernet-key", "A" * 43])
def test_a_bad_key_in_the_environment_is_named(monkeypatch, value):
    # the bad key gets registered for redaction: keep that registration to this test
    monkeypatch.setattr(_secrets, "_known", set(_secrets._known))
    monkeypatch.setenv(ENV_KEY, value)
    with pytest.raises(ZohoConfigError) as err:
        TokenCipher.from_environment()
    assert ENV_KEY in str(err.value)
    if value:
        assert value not in str(err.value)


def test_key_file_is_created_0600_once_and_reused(monkeypatch, tmp_path):
    path = tmp_path / "keys" / "token.key"
    monkeypatch.delenv(ENV_KEY, raising=False)
    monkeypatch.setenv(ENV_KEY_FILE, str(path))
    first = TokenCipher.from_environment()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sealed = first.encrypt("1000.secret-token")
    assert TokenCipher.from_environment().decrypt(sealed) == "1000.secret-token"
    path.chmod(0o644)
    with pytest.raises(ZohoConfigError) as err:
        TokenCipher.from_environment()
    assert "readable by others" in str(err.value)


def test_plaintext_rows_from_before_encryption_are_encrypted(empty_database_url, zoho, tmp_path):
    # The database as it was before migration 003, with a plaintext row written then.
    before = tmp_path / "old"
    before.mkdir()
    for f in migration_files():
        if f.name < "003":
            (before / f.name).write_text(f.read_text())
    apply_migrations(empty_database_url, before)
    grant = new_grant(zoho)
    with psycopg.connect(empty_database_url) as conn:
        conn.execute(
            "INSERT INTO zoho_tokens (id, namespace, client_id, refresh_token, access_token, expiry_time)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (
                str(uuid.uuid4()),
                namespace_for(zoho.url, zoho.client_id),
                zoho.client_id,
                grant.refresh_token,
                grant.access_token,
                grant.expires_at_ms,
            ),
        )
    assert "003_encrypt_tokens.sql" in apply_migrations(empty_database_url)
    store = make_store(empty_database_url, zoho)
    assert store.access_token() == grant.access_token  # found, decrypted, not refreshed
    row = _row(empty_database_url)
    assert row["refresh_token"].startswith("fernet:") and grant.refresh_token not in str(row)
    assert store.encrypt_plaintext_rows() == 0  # nothing left in plaintext


def test_short_lived_tokens_are_not_refreshed_on_every_call(database_url, zoho):
    requests.post(f"{zoho.url}/__emulator__/oauth/access-ttl", data={"seconds": 30}, timeout=10).raise_for_status()
    try:
        store = make_store(database_url, zoho)
        store.save_tokenset(new_grant(zoho), client_id=zoho.client_id)
        store.expire()
        before = token_stats(zoho)["refresh_token"]
        tokens = {store.access_token() for _ in range(50)}
        time.sleep(0.2)
        tokens |= {store.access_token() for _ in range(50)}
        assert token_stats(zoho)["refresh_token"] - before == 1  # one refresh for 100 calls
        assert len(tokens) == 1
    finally:
        requests.post(f"{zoho.url}/__emulator__/oauth/access-ttl", data={"seconds": 3600}, timeout=10)


def test_key_never_reaches_the_log(monkeypatch, tmp_path, caplog, database_url, zoho):
    key = Fernet.generate_key().decode()
    monkeypatch.setenv(ENV_KEY, key)
    caplog.set_level("DEBUG")
    store = make_store(database_url, zoho)
    store.save_tokenset(new_grant(zoho), client_id=zoho.client_id)
    store.expire()
    store.access_token()
    assert key not in caplog.text and key not in repr(store) and key not in repr(store._cipher)
