"""A PostgreSQL token store for the Zoho SDK, with token refresh serialised across processes.

The SDK asks its ``TokenStore`` for the token on every call (``find_token_by_id``) and, at
``Initializer.initialize``, looks it up with ``find_token``. This store refreshes an access token
that has expired (or will within ``refresh_margin`` seconds) *itself*, before handing the token
to the SDK, under a PostgreSQL advisory lock: the first process to take the lock re-reads the row,
refreshes, and saves; every other process waits on the lock, re-reads the row, sees the new token
and uses it. So N processes with an expired token cause one token request, and the SDK (whose own
refresh takes no lock across processes) never sees an expired token.

Keying: every row carries a ``namespace`` (API host + client id, :func:`namespace_for`), so tokens
of the emulator, of another data centre or sandbox, and of another OAuth client never mix; within a
namespace rows are per user (the SDK's user signature ``email:org zgid``).

Secrets: the refresh and access tokens must be stored (the SDK needs them back): they are encrypted
at rest with Fernet (``_token_key.py``: the key from ``SERGAS_NB_TOKEN_KEY`` or a 0600 key file),
found by SHA-256 digest columns, and rows written before encryption are encrypted when a store
first connects (``encrypt_plaintext_rows``; migration 003 adds the digest columns). The client secret
is *not* stored by default: it already lives in the configuration (.env), the SDK only needs it to
refresh, and this store (which does the refreshing) fills it into every token it returns from its
constructor argument. Pass ``store_client_secret=True`` to keep it in the row as the SDK's DBStore does.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row
from pydantic import SecretStr
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from sergas_nb import _secrets
from sergas_nb._database import CONNECT_TIMEOUT, connect, database_error
from sergas_nb._token_key import TokenCipher, digest
from sergas_nb.auth import TOKEN_TIMEOUT, TokenSet, refresh_access_token
from sergas_nb.config import dsn_label
from sergas_nb.errors import ZohoAuthError, ZohoDatabaseError

log = logging.getLogger("sergas_nb.tokens")

TABLE = "zoho_tokens"
LOCK_CLASS = 0x5E4A  # first key of pg_advisory_xact_lock(int, int): "token refresh" locks
_COLUMNS = (
    "id",
    "namespace",
    "user_name",
    "client_id",
    "client_secret",
    "refresh_token",
    "access_token",
    "grant_token",
    "expiry_time",
    "redirect_url",
    "api_domain",
    "refresh_count",
    "lifetime_ms",
)
_ENCRYPTED = ("client_secret", "refresh_token", "access_token", "grant_token")
# A token is refreshed when less than this share of its lifetime is left (capped by refresh_margin):
# a 1-hour token 60 s before expiry, a 30 s token 7.5 s before, never on every call.
MARGIN_SHARE = 0.25


def namespace_for(api_url: str, client_id: str) -> str:
    """``<api host>|<client id>``: the key that keeps orgs, data centres and the emulator apart."""
    return f"{api_url.rstrip('/').lower()}|{client_id}"


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class _Row:
    """One zoho_tokens row (internal; repr hides tokens)."""

    id: str
    namespace: str
    user_name: str | None
    client_id: str | None
    client_secret: str | None
    refresh_token: str | None
    access_token: str | None
    grant_token: str | None
    expiry_time: int | None
    redirect_url: str | None
    api_domain: str | None
    refresh_count: int = 0
    lifetime_ms: int | None = None

    def __repr__(self) -> str:
        return f"_Row(id={self.id!r}, user_name={self.user_name!r}, expiry_time={self.expiry_time})"


class PostgresTokenStore(TokenStore):
    """``TokenStore`` in PostgreSQL (table ``zoho_tokens``, created by ``sergas-nb migrate``).

    Args:
        dsn: libpq DSN or URL of the database (``Settings.database_dsn()``).
        namespace: :func:`namespace_for` (API host + client id) of the org this client talks to.
        token_url: the accounts server's token URL (``Endpoints.token_url``). Without it the store
            cannot refresh, and the SDK refreshes on its own (unserialised).
        client_id / client_secret: used to refresh, and put back into tokens handed to the SDK.
        api_domain: when given, every token handed to the SDK carries this API domain, so the SDK's
            ``api_domain`` switch cannot move the client off the configured host.
        timeout: seconds for each token request (the SDK's own token calls have none).
        refresh_margin: refresh when the access token has less than this many seconds left, or less
            than a quarter of its lifetime when that is shorter (short-lived tokens).
        cipher: encrypts tokens at rest (default: the key from the environment or key file).
        lock_timeout: seconds to wait for another process's refresh before giving up.
    """

    def __init__(
        self,
        dsn: str,
        namespace: str,
        *,
        token_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | SecretStr | None = None,
        api_domain: str | None = None,
        timeout: float = TOKEN_TIMEOUT,
        refresh_margin: float = 60.0,
        lock_timeout: float | None = None,
        store_client_secret: bool = False,
        connect_timeout: int = CONNECT_TIMEOUT,
        cipher: TokenCipher | None = None,
    ) -> None:
        self._cipher = cipher if cipher is not None else TokenCipher.from_environment()
        self._encrypted_checked = False
        self._dsn = dsn
        self.namespace = namespace
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = (
            client_secret.get_secret_value() if isinstance(client_secret, SecretStr) else client_secret
        )
        _secrets.register(self._client_secret)
        self.api_domain = api_domain.rstrip("/") if api_domain else None
        self.timeout = timeout
        self.refresh_margin_ms = int(refresh_margin * 1000)
        self.lock_timeout = lock_timeout if lock_timeout is not None else timeout + 15
        self.store_client_secret = store_client_secret
        self.connect_timeout = connect_timeout
        self.refreshes = 0  # token requests this store made (for metrics)
        self._conn: psycopg.Connection[Any] | None = None
        self._pid = os.getpid()
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"PostgresTokenStore(database={self.database_label!r}, namespace={self.namespace!r})"

    @property
    def database_label(self) -> str:
        return dsn_label(self._dsn)

    # -- connection ---------------------------------------------------------------------------
    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """The store's connection (one per process, reopened when broken), used under a thread lock."""
        with self._lock:
            if self._conn is not None and (self._pid != os.getpid() or self._conn.closed or self._conn.broken):
                if self._pid == os.getpid():
                    self._conn.close()
                self._conn = None  # after fork the parent's connection is not ours to use or close
            if self._conn is None:
                self._conn = connect(self._dsn, connect_timeout=self.connect_timeout)
                self._pid = os.getpid()
            try:
                if not self._encrypted_checked:
                    self._encrypted_checked = True
                    self._encrypt_plaintext(self._conn)
                yield self._conn
            except psycopg.errors.UndefinedTable:
                raise ZohoDatabaseError(
                    f"The token table {TABLE} is missing in PostgreSQL at {self.database_label}. "
                    "Fix: run `sergas-nb migrate` (or sergas_nb.edits.migrate.apply_migrations(dsn)).",
                    {"database": self.database_label},
                ) from None
            except psycopg.errors.LockNotAvailable:
                raise ZohoAuthError(
                    f"Timed out after {self.lock_timeout:g} s waiting for another process "
                    "to refresh the Zoho access token",
                    code="REFRESH_LOCK_TIMEOUT",
                ) from None
            except psycopg.Error as exc:
                if self._conn is not None and self._conn.broken:
                    self._conn = None
                raise database_error(self._dsn, exc, doing="use the token store in") from None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def check(self) -> None:
        """Raise ZohoDatabaseError when the database is unreachable or the schema is missing."""
        with self._connection() as conn:
            conn.execute(f"SELECT 1 FROM {TABLE} LIMIT 0")

    # -- encryption at rest ---------------------------------------------------------------------
    def encrypt_plaintext_rows(self) -> int:
        """Encrypt every row of the table still holding plaintext tokens; returns how many."""
        with self._connection() as conn:
            return self._encrypt_plaintext(conn)

    def _encrypt_plaintext(self, conn: psycopg.Connection[Any]) -> int:
        cols = ", ".join(_ENCRYPTED)
        plain = " OR ".join(f"({c} IS NOT NULL AND {c} NOT LIKE 'fernet:%%')" for c in _ENCRYPTED)
        with conn.transaction():
            rows = (
                conn.cursor(row_factory=dict_row)
                .execute(f"SELECT id, {cols} FROM {TABLE} WHERE {plain} FOR UPDATE")
                .fetchall()
            )
            for r in rows:
                _secrets.register(*(r[c] for c in _ENCRYPTED if r[c] and not r[c].startswith("fernet:")))
                conn.execute(
                    f"UPDATE {TABLE} SET {', '.join(f'{c} = %s' for c in _ENCRYPTED)}, "
                    "refresh_token_hash = %s, access_token_hash = %s, grant_token_hash = %s WHERE id = %s",
                    (
                        *(self._cipher.encrypt(r[c]) for c in _ENCRYPTED),
                        digest(self._cipher.decrypt(r["refresh_token"])),
                        digest(self._cipher.decrypt(r["access_token"])),
                        digest(self._cipher.decrypt(r["grant_token"])),
                        r["id"],
                    ),
                )
        if rows:
            log.info("encrypted the tokens of %d stored row(s) in %s", len(rows), self.database_label)
        return len(rows)

    def _sealed(self, values: dict[str, Any]) -> dict[str, Any]:
        """Column values to write: tokens encrypted, with the digest columns for lookups."""
        out = dict(values)
        for name in ("refresh_token", "access_token", "grant_token"):
            if name in values:
                out[f"{name}_hash"] = digest(values[name])
        for name in _ENCRYPTED:
            if name in out:
                out[name] = self._cipher.encrypt(out[name])
        return out

    # -- rows ---------------------------------------------------------------------------------
    def _rows(
        self, conn: psycopg.Connection[Any], where: str, params: tuple[Any, ...], order: str, limit: str = ""
    ) -> list[_Row]:
        """Rows of this namespace; every token value read is registered for redaction first."""
        cur = conn.cursor(row_factory=dict_row)
        rows = cur.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM {TABLE} WHERE namespace = %s AND ({where}) ORDER BY {order} {limit}",
            (self.namespace, *params),
        ).fetchall()
        for r in rows:
            for c in _ENCRYPTED:
                r[c] = self._cipher.decrypt(r[c], c.replace("_", " "))
            _secrets.register(r["access_token"], r["refresh_token"], r["client_secret"], r["grant_token"])
        return [_Row(**r) for r in rows]

    def _select(self, conn: psycopg.Connection[Any], where: str, params: tuple[Any, ...]) -> _Row | None:
        rows = self._rows(conn, where, params, "updated_at DESC", "LIMIT 1")
        return rows[0] if rows else None

    def _advisory_lock(self, conn: psycopg.Connection[Any], key: str) -> None:
        """Inside a transaction: wait (at most lock_timeout) for the refresh lock of ``key``."""
        conn.execute(f"SET LOCAL lock_timeout = '{int(self.lock_timeout * 1000)}ms'")
        conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK_CLASS, f"{self.namespace}|{key}"))

    def _find_row(self, conn: psycopg.Connection[Any], token: OAuthToken) -> _Row | None:
        """The row for ``token``, matched like the SDK's DBStore: user, access, grant, refresh token."""
        sig = token.get_user_signature()
        name = sig.get_name() if sig is not None else None
        if name:
            # The SDK names users "email:zgid"; accept a bare email too.
            return self._select(conn, "user_name = %s OR user_name LIKE %s", (name, _like_prefix(name) + ":%"))
        if token.get_id():
            return self._select(conn, "id = %s", (token.get_id(),))
        if token.get_access_token() and token.get_client_id() is None and token.get_client_secret() is None:
            return self._select(conn, "access_token_hash = %s", (digest(token.get_access_token()),))
        if token.get_grant_token():
            return self._select(conn, "grant_token_hash = %s", (digest(token.get_grant_token()),))
        if token.get_refresh_token():
            return self._select(conn, "refresh_token_hash = %s", (digest(token.get_refresh_token()),))
        return None

    def _margin_ms(self, row: _Row) -> int:
        if row.lifetime_ms and row.lifetime_ms > 0:
            return min(self.refresh_margin_ms, int(row.lifetime_ms * MARGIN_SHARE))
        return self.refresh_margin_ms

    def _needs_refresh(self, row: _Row) -> bool:
        return bool(row.refresh_token) and (
            not row.access_token or row.expiry_time is None or row.expiry_time - _now_ms() < self._margin_ms(row)
        )

    def _can_refresh(self, row: _Row) -> bool:
        return bool(
            self.token_url
            and row.refresh_token
            and (row.client_id or self.client_id)
            and (self._client_secret or row.client_secret)
        )

    def _fresh(
        self, conn: psycopg.Connection[Any], row: _Row, force: bool = False, rejected: str | None = None
    ) -> _Row:
        """``row`` with a usable access token: refreshed under the advisory lock when needed.

        ``force`` refreshes even an unexpired token (after a 401), unless the stored access token is
        no longer ``rejected`` (another process already replaced it).
        """
        if not force and not self._needs_refresh(row):
            return row
        if not self._can_refresh(row):
            return row  # the SDK will refresh (or fail) on its own
        with conn.transaction():
            self._advisory_lock(conn, row.id)
            # Re-read under the lock: another process may have refreshed while we waited.
            current = self._select(conn, "id = %s", (row.id,))
            if current is None:
                raise ZohoAuthError("The stored Zoho token was deleted while refreshing it", code="TOKEN_NOT_FOUND")
            if force:
                if rejected is not None and current.access_token != rejected and not self._needs_refresh(current):
                    return current
            elif not self._needs_refresh(current):
                return current
            tokens = refresh_access_token(
                self.token_url or "",
                current.client_id or self.client_id or "",
                self._client_secret or current.client_secret or "",
                current.refresh_token or "",
                timeout=self.timeout,
            )
            self.refreshes += 1
            log.info("refreshed the Zoho access token for %s (%s)", current.user_name or current.id, self.namespace)
            lifetime = max(0, tokens.expires_at_ms - _now_ms())
            sealed = self._sealed({"access_token": tokens.access_token, "refresh_token": tokens.refresh_token})
            conn.execute(
                f"UPDATE {TABLE} SET access_token = %s, access_token_hash = %s, expiry_time = %s, lifetime_ms = %s, "
                "refresh_token = COALESCE(%s, refresh_token), refresh_token_hash = COALESCE(%s, refresh_token_hash), "
                "refresh_count = refresh_count + 1, refreshed_at = now(), updated_at = now() WHERE id = %s",
                (
                    sealed["access_token"],
                    sealed["access_token_hash"],
                    tokens.expires_at_ms,
                    lifetime,
                    sealed["refresh_token"],
                    sealed["refresh_token_hash"],
                    current.id,
                ),
            )
            current.access_token, current.expiry_time = tokens.access_token, tokens.expires_at_ms
            current.lifetime_ms = lifetime
            current.refresh_token = tokens.refresh_token or current.refresh_token
            current.refresh_count += 1
            return current

    def _to_token(self, row: _Row, into: OAuthToken | None = None) -> OAuthToken:
        """Fill ``into`` (or a new OAuthToken) from ``row``. Dynamic fields always come from the row."""
        token = into if into is not None else OAuthToken(id=row.id)
        token.set_id(row.id)
        token.set_access_token(row.access_token)
        token.set_expires_in(str(row.expiry_time) if row.expiry_time is not None else None)
        token.set_api_domain(self.api_domain or row.api_domain)
        if row.user_name and token.get_user_signature() is None:
            token.set_user_signature(UserSignature(row.user_name))
        if token.get_client_id() is None:
            token.set_client_id(row.client_id or self.client_id)
        if token.get_client_secret() is None:
            token.set_client_secret(self._client_secret or row.client_secret)
        # The stored refresh token wins: it is the one the row's access tokens belong to.
        if row.refresh_token:
            token.set_refresh_token(row.refresh_token)
        if token.get_redirect_url() is None:
            token.set_redirect_url(row.redirect_url)
        if token.get_grant_token() is None:
            token.set_grant_token(row.grant_token)
        return token

    # -- TokenStore protocol (called by the SDK) ------------------------------------------------
    def find_token(self, token: Any) -> Any:
        """Merge the stored row matching ``token`` into it (refreshed if expiring); None if none."""
        if not isinstance(token, OAuthToken):
            return None
        with self._connection() as conn:
            row = self._find_row(conn, token)
            if row is None:
                row = self._bootstrap(conn, token)
                if row is None:
                    return None
            row = self._fresh(conn, row)
        return self._to_token(row, token)

    def _bootstrap(self, conn: psycopg.Connection[Any], token: OAuthToken) -> _Row | None:
        """First use of a refresh token (no row yet): refresh once under a lock and store the row,
        so several processes starting together with a new refresh token still make one request."""
        refresh = token.get_refresh_token()
        client_id = token.get_client_id() or self.client_id
        secret = token.get_client_secret() or self._client_secret
        if not (self.token_url and refresh and client_id and secret) or token.get_user_signature() is not None:
            return None  # let the SDK do it its own way
        with conn.transaction():
            self._advisory_lock(conn, f"rt|{digest(refresh)}")
            row = self._select(conn, "refresh_token_hash = %s", (digest(refresh),))
            if row is not None:
                return row
            tokens = refresh_access_token(self.token_url, client_id, secret, refresh, timeout=self.timeout)
            self.refreshes += 1
            new_id = str(uuid.uuid4())
            values = self._sealed(
                {
                    "id": new_id,
                    "namespace": self.namespace,
                    "client_id": client_id,
                    "client_secret": secret if self.store_client_secret else None,
                    "refresh_token": refresh,
                    "access_token": tokens.access_token,
                    "expiry_time": tokens.expires_at_ms,
                    "lifetime_ms": max(0, tokens.expires_at_ms - _now_ms()),
                    "redirect_url": token.get_redirect_url(),
                    "api_domain": tokens.api_domain,
                }
            )
            conn.execute(
                f"INSERT INTO {TABLE} ({', '.join(values)}, refresh_count, refreshed_at) "
                f"VALUES ({', '.join(['%s'] * len(values))}, 1, now())",
                tuple(values.values()),
            )
            return self._select(conn, "id = %s", (new_id,))

    def find_token_by_id(self, id: str) -> Any:
        with self._connection() as conn:
            row = self._select(conn, "id = %s", (id,))
            if row is None:
                raise ZohoAuthError(
                    f"No stored Zoho token with id {id!r} for {self.namespace}; "
                    "run the onboarding notebook (or pass a refresh token).",
                    code="TOKEN_NOT_FOUND",
                )
            row = self._fresh(conn, row)
        return self._to_token(row)

    def save_token(self, token: Any) -> None:
        """Insert or update the row of ``token`` (matched by id, user, or token values)."""
        if not isinstance(token, OAuthToken):
            return
        sig = token.get_user_signature()
        name = sig.get_name() if sig is not None else None
        values = {
            "user_name": name or None,
            "client_id": token.get_client_id(),
            "client_secret": token.get_client_secret() if self.store_client_secret else None,
            "refresh_token": token.get_refresh_token(),
            "access_token": token.get_access_token(),
            "grant_token": token.get_grant_token(),
            "expiry_time": int(token.get_expires_in()) if token.get_expires_in() else None,
            "redirect_url": token.get_redirect_url(),
            "api_domain": token.get_api_domain(),
        }
        _secrets.register(values["refresh_token"], values["access_token"], values["grant_token"])
        with self._connection() as conn, conn.transaction():
            row = self._find_row(conn, token)
            if row is None and name and token.get_refresh_token():
                # A row saved before the SDK knew the user (onboarding): same refresh token, no name yet.
                row = self._select(conn, "refresh_token_hash = %s", (digest(token.get_refresh_token()),))
            if row is not None:
                sets = self._sealed({k: v for k, v in values.items() if v is not None})
                conn.execute(
                    f"UPDATE {TABLE} SET {', '.join(f'{k} = %s' for k in sets)}, updated_at = now() WHERE id = %s",
                    (*sets.values(), row.id),
                )
                token.set_id(row.id)
                return
            new_id = token.get_id() or str(uuid.uuid4())
            sealed = self._sealed(values)
            cols = ["id", "namespace", *sealed]
            new_id = conn.execute(
                f"INSERT INTO {TABLE} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) "
                "ON CONFLICT (namespace, user_name) WHERE user_name IS NOT NULL DO UPDATE SET "
                + ", ".join(f"{k} = COALESCE(EXCLUDED.{k}, {TABLE}.{k})" for k in sealed if k != "user_name")
                + ", updated_at = now() RETURNING id",
                (new_id, self.namespace, *sealed.values()),
            ).fetchone()[0]  # type: ignore[index]
            token.set_id(new_id)

    def delete_token(self, id: str) -> None:
        with self._connection() as conn:
            conn.execute(f"DELETE FROM {TABLE} WHERE namespace = %s AND id = %s", (self.namespace, id))

    def get_tokens(self) -> list[Any]:
        with self._connection() as conn:
            rows = self._rows(conn, "TRUE", (), "created_at")
        return [self._to_token(r) for r in rows]

    def delete_tokens(self) -> None:
        with self._connection() as conn:
            conn.execute(f"DELETE FROM {TABLE} WHERE namespace = %s", (self.namespace,))

    # -- for the client and the onboarding notebook ---------------------------------------------
    def _row_for(self, conn: psycopg.Connection[Any], key: str | None) -> _Row:
        if key is None:
            row = self._select(conn, "TRUE", ())
        else:
            row = self._select(
                conn, "id = %s OR user_name = %s OR user_name LIKE %s", (key, key, _like_prefix(key) + ":%")
            )
        if row is None:
            which = f" for {key!r}" if key else ""
            raise ZohoAuthError(
                f"No Zoho token is stored{which} in {self.namespace} "
                f"({self.database_label}). Run the onboarding notebook first.",
                code="TOKEN_NOT_FOUND",
            )
        return row

    def access_token(self, key: str | None = None) -> str:
        """A valid access token for raw HTTP reads (refreshed under the lock when expiring).

        ``key`` is a token id or user name; None takes the most recently updated token of the namespace.
        """
        with self._connection() as conn:
            row = self._fresh(conn, self._row_for(conn, key))
        if not row.access_token:
            raise ZohoAuthError(
                f"The stored token {row.id!r} has no access token and cannot be refreshed "
                "(no refresh token or no token URL)",
                code="NO_ACCESS_TOKEN",
            )
        return row.access_token

    def force_refresh(self, key: str | None = None, rejected_token: str | None = None) -> str:
        """Refresh after Zoho answered 401 INVALID_TOKEN; returns the new access token.

        Pass the access token that was rejected: when another process has already replaced it,
        its replacement is returned without a second token request.
        """
        with self._connection() as conn:
            row = self._fresh(conn, self._row_for(conn, key), force=True, rejected=rejected_token)
        return row.access_token or ""

    def expire(self, key: str | None = None) -> None:
        """Mark the stored access token expired, so the next use refreshes it (tests, 401 recovery)."""
        with self._connection() as conn:
            row = self._row_for(conn, key)
            conn.execute(f"UPDATE {TABLE} SET expiry_time = 0, updated_at = now() WHERE id = %s", (row.id,))

    def save_tokenset(
        self,
        tokens: TokenSet,
        *,
        user_name: str | None = None,
        client_id: str | None = None,
        redirect_url: str | None = None,
    ) -> str:
        """Store the result of a code exchange (onboarding); returns the row id.

        Replaces the user's row when ``user_name`` is known, else the row holding the same refresh token.
        """
        if not tokens.refresh_token:
            raise ZohoAuthError(
                "This token answer carries no refresh token; the consent must use "
                "access_type=offline and prompt=consent",
                code="NO_REFRESH_TOKEN",
            )
        token = OAuthToken(
            client_id=client_id or self.client_id,
            client_secret=self._client_secret or "",
            refresh_token=tokens.refresh_token,
            redirect_url=redirect_url,
            access_token=tokens.access_token,
            user_signature=UserSignature(user_name) if user_name else None,
            api_domain=tokens.api_domain,
        )
        token.set_expires_in(str(tokens.expires_at_ms))
        self.save_token(token)
        return str(token.get_id())

    def stats(self) -> list[dict[str, Any]]:
        """Per stored token: id, user, expiry (epoch ms), refresh count, timestamps (no token values)."""
        with self._connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            return cur.execute(
                f"SELECT id, user_name, expiry_time, refresh_count, refreshed_at, created_at, "
                f"updated_at FROM {TABLE} WHERE namespace = %s ORDER BY created_at",
                (self.namespace,),
            ).fetchall()


def _like_prefix(text: str) -> str:
    """``text`` escaped for a LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
