"""The one boundary with the official SDK: transport swap, initialisation, resource folder, tokens,
and record writes with every outcome read. Nothing else in sergas_nb reaches into SDK internals.

- ``install_sdk_transport`` puts _http.RequestsShim into the SDK's two HTTP-calling modules;
  ``sdk_own_transport`` puts the SDK's own ``requests`` back for a block (the seed-path benchmark);
  ``initializer_kept`` / ``initialize_isolated`` let another SDK user run beside our clients.
- ``resource_dir_for``: one private field-metadata folder per *process*: the SDK rewrites these files
  in place, and processes sharing one folder read each other's half-written files.

- ``SdkBinding`` owns one SDK ``Initializer`` per client. The SDK keeps a process-wide initializer;
  ``active()`` makes ours current (under one process-wide lock), re-pins the environment to the
  configured host (the SDK's ``api_domain`` switch must never move us) and routes the SDK's HTTP
  through our bounded Session with a host allow-list (see _http.py).
- ``SDKConfig(update_api_domain=False, auto_refresh_fields=False, pick_list_validation=False)``:
  picklist values are validated by frames.to_payload against the *actual* values the API takes
  (the SDK compares ``display_value``s, which differ in localised orgs).
- Writes (``SdkBinding.write``; the client's batches now build their JSON in _record_json.py,
  identical to what this path sends, see tests/client/test_write_json.py): JSON payload rows
  (frames.to_payload) become ``Record`` objects (ids as int, picklists as
  ``Choice``, dates/datetimes as Python objects, lookups as Record/MinifiedUser with an id),
  sent in batches of at most 100; every record's outcome is read from the ``ActionWrapper``. An
  answer that cannot be read raises ZohoOutcomeUnknownError: the batch may have been applied.
  Writes run with this client's initializer made current *for the calling thread* (the SDK's
  ``Initializer.LOCAL``), so batches can be sent from several threads at once.
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import importlib
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.parameter_map import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.record import (
    ActionWrapper,
    BodyWrapper,
    DeleteRecordsParam,
    Record,
    RecordOperations,
)
from zohocrmsdk.src.com.zoho.crm.api.record import APIException as RecordAPIException
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.users import MinifiedUser
from zohocrmsdk.src.com.zoho.crm.api.util import Choice

from sergas_nb import _secrets, frames
from sergas_nb._http import (
    AuthFailure,
    RequestsShim,
    transport_error,
)
from sergas_nb.errors import (
    ZohoAPIError,
    ZohoAuthError,
    ZohoError,
    ZohoOutcomeUnknownError,
    ZohoRateLimitError,
)

BATCH = 100
HELD_TOKEN_MIN_MS = 60_000  # the SDK refreshes within 5 s of expiry; we hand out a token until 60 s
_SDK_LOCK = threading.RLock()  # the SDK's initializer is process-wide: one set-up at a time

# The SDK modules that call module-level ``requests.*`` (see _http.py).
_SDK_HTTP_MODULES = (
    "zohocrmsdk.src.com.zoho.crm.api.util.api_http_connector",
    "zohocrmsdk.src.com.zoho.api.authenticator.oauth_token",
)
_shim: RequestsShim | None = None
_install_lock = threading.Lock()


def install_sdk_transport() -> RequestsShim:
    """Put the shim into the SDK's HTTP modules (idempotent); returns it."""
    global _shim
    with _install_lock:
        shim = _shim = _shim or RequestsShim()
        for name in _SDK_HTTP_MODULES:
            module = importlib.import_module(name)
            if getattr(module, "requests", None) is not shim:
                module.requests = shim  # type: ignore[attr-defined]
        return shim


@contextmanager
def sdk_own_transport() -> Iterator[None]:
    """For this block the SDK calls the real ``requests`` module (a connection per call), as it
    does out of the box; the previous transport (our shim, if installed) comes back afterwards."""
    modules = [importlib.import_module(m) for m in _SDK_HTTP_MODULES]
    with _install_lock:
        saved = [getattr(m, "requests", None) for m in modules]
        for m in modules:
            m.requests = requests  # type: ignore[attr-defined]
    try:
        yield
    finally:
        with _install_lock:
            for m, old in zip(modules, saved, strict=True):
                m.requests = old  # type: ignore[attr-defined]


@contextmanager
def initializer_kept() -> Iterator[None]:
    """Whatever the block does to the SDK's process-wide initializer is undone afterwards."""
    prev, prev_local = Initializer.initializer, getattr(Initializer.LOCAL, "init", None)
    try:
        yield
    finally:
        Initializer.initializer, Initializer.LOCAL.init = prev, prev_local


def initialize_isolated(**kwargs: Any) -> Any:
    """``Initializer.initialize(**kwargs)`` without disturbing other SDK users; returns the new
    initializer, to be made current with :func:`initializer_current`."""
    with _SDK_LOCK, initializer_kept():
        Initializer.initialize(**kwargs)
        return Initializer.get_initializer()


@contextmanager
def initializer_current(initializer: Any) -> Iterator[None]:
    """Make ``initializer`` the SDK's current one for this block (then restore the previous)."""
    with _SDK_LOCK, initializer_kept():
        Initializer.initializer, Initializer.LOCAL.init = initializer, None
        yield


@dataclass
class RecordOutcome:
    """One record's result of an SDK write as Zoho reported it (not ``edits.journal.Outcome``)."""

    id: str | None
    status: str  # "success" | "error"
    code: str | None
    message: str | None
    field: str | None
    action: str | None = None  # upsert: "insert" | "update"


class MemoryTokenStore(TokenStore):
    """Tokens kept in this process only (emulator use without a database): nothing on disk."""

    def __init__(self) -> None:
        self._tokens: dict[str, OAuthToken] = {}
        self._lock = threading.RLock()

    def find_token(self, token: Any) -> Any:
        with self._lock:
            for stored in self._tokens.values():
                if token.get_id() and stored.get_id() == token.get_id():
                    return stored
                if token.get_refresh_token() and stored.get_refresh_token() == token.get_refresh_token():
                    return stored
        return None

    def save_token(self, token: Any) -> None:
        with self._lock:
            if not token.get_id():
                token.set_id(uuid.uuid4().hex)
            _secrets.register(token.get_access_token(), token.get_refresh_token())
            self._tokens[token.get_id()] = token

    def delete_token(self, id: str) -> None:
        with self._lock:
            self._tokens.pop(id, None)

    def get_tokens(self) -> list[Any]:
        with self._lock:
            return list(self._tokens.values())

    def delete_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def find_token_by_id(self, id: str) -> Any:
        with self._lock:
            return self._tokens.get(id)


class PinnedStore(TokenStore):
    """Delegates to a TokenStore, stamping our API host on every token it hands the SDK.

    The SDK sets its environment from a token's ``api_domain`` (``DataCenter.get``) even with
    ``update_api_domain=False``; a token stored for another host would move the client, and send
    the refresh token to that host's accounts server. Pinned, the switch is a no-op.
    """

    def __init__(self, inner: TokenStore, api_url: str) -> None:
        self.inner, self.api_url = inner, api_url

    def _pin(self, token: Any) -> Any:
        if token is not None and hasattr(token, "set_api_domain"):
            token.set_api_domain(self.api_url)
        return token

    def find_token(self, token: Any) -> Any:
        return self._pin(self.inner.find_token(token))

    def find_token_by_id(self, id: str) -> Any:
        return self._pin(self.inner.find_token_by_id(id))

    def save_token(self, token: Any) -> None:
        self.inner.save_token(self._pin(token))

    def delete_token(self, id: str) -> None:
        self.inner.delete_token(id)

    def get_tokens(self) -> list[Any]:
        return [self._pin(t) for t in self.inner.get_tokens()]

    def delete_tokens(self) -> None:
        self.inner.delete_tokens()


_process_dirs: dict[str, str] = {}


def resource_dir_for(api_url: str, client_id: str) -> str:
    """A private folder for the SDK's field-metadata files: one per host, client *and process*.

    The SDK rewrites these JSON files in place; processes sharing a folder read each other's
    half-written files ("Expecting value: line 1 column 1"). Each process gets its own folder
    (removed at exit); folders left by processes that died are pruned when the next one starts.
    """
    key = hashlib.sha256(f"{api_url}|{client_id}".encode()).hexdigest()[:16]
    cached = _process_dirs.get(key)
    if cached is not None and Path(cached).is_dir():
        return cached
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sergas_nb" / "sdk" / key
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    _prune_dead(base)
    folder = tempfile.mkdtemp(prefix=f"pid{os.getpid()}-", dir=base)
    atexit.register(shutil.rmtree, folder, True)
    _process_dirs[key] = folder
    return folder


def _prune_dead(base: Path) -> None:
    for child in base.iterdir():
        name = child.name
        if not (child.is_dir() and name.startswith("pid")):
            continue
        try:
            pid = int(name[3:].split("-", 1)[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(child, ignore_errors=True)
        except (ValueError, PermissionError, OSError):
            continue  # alive (or not ours to judge)


class SdkBinding:
    """One client's SDK: initialise, hand out access tokens, write records."""

    def __init__(
        self,
        *,
        api_url: str,
        accounts_url: str,
        upload_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        redirect_url: str | None,
        store: TokenStore,
        session: requests.Session,
        resource_dir: str,
        observer: Any = None,
    ) -> None:
        self.api_url, self.accounts_url, self.upload_url = api_url, accounts_url, upload_url
        self.token_url = accounts_url + "/oauth/v2/token"
        self.store = store
        self._session = session
        self._observer = observer
        self._shim: RequestsShim = install_sdk_transport()
        self._environment = DataCenter.Environment(api_url, self.token_url, upload_url)
        self._config = SDKConfig(auto_refresh_fields=False, pick_list_validation=False, update_api_domain=False)
        self._token = OAuthToken(
            client_id=client_id, client_secret=client_secret, refresh_token=refresh_token, redirect_url=redirect_url
        )
        self._resource_dir = resource_dir
        self._initializer: Initializer | None = None

    # -- set-up / switching ---------------------------------------------------------------------
    def start(self) -> None:
        """``Initializer.initialize``: finds or fetches a token (network), names the user."""
        with _SDK_LOCK, self._routing():
            try:
                Initializer.initialize(
                    environment=self._environment,
                    token=self._token,
                    store=PinnedStore(self.store, self.api_url),
                    sdk_config=self._config,
                    resource_path=self._resource_dir,
                    logger=Logger.get_instance(Logger.Levels.WARNING, None),
                )
            except SDKException as exc:
                raise sdk_error(exc, "initialising the Zoho SDK") from None
            self._initializer = Initializer.initializer
        if not self._token.get_access_token():
            raise ZohoAuthError("The Zoho SDK initialised without an access token", code="NO_ACCESS_TOKEN")

    def _routing(self) -> Any:
        return self._shim.routed(self._session, [self.api_url, self.accounts_url, self.upload_url], self._observer)

    @contextmanager
    def active(self) -> Iterator[None]:
        """Make this client's initializer current, pinned to the configured host, for one SDK call."""
        if self._initializer is None:
            raise ZohoError("the Zoho SDK is not initialised for this client")
        with _SDK_LOCK, self._routing():
            Initializer.initializer = self._initializer
            Initializer.LOCAL.init = None
            # The SDK may have switched environment to a token's api_domain: pin it back.
            self._initializer.environment = self._environment
            yield

    @contextmanager
    def current_in_thread(self) -> Iterator[None]:
        """Make this client's initializer current for the calling thread only (no process-wide
        lock): several threads can send writes at once, each through its own routed Session."""
        if self._initializer is None:
            raise ZohoError("the Zoho SDK is not initialised for this client")
        previous = getattr(Initializer.LOCAL, "init", None)
        with self._routing():
            Initializer.LOCAL.init = self._initializer
            self._initializer.environment = self._environment
            try:
                yield
            finally:
                Initializer.LOCAL.init = previous

    def sent_token(self) -> str | None:
        """The access token of the calling thread's last SDK request (None before any)."""
        return self._shim.sent_token()

    @property
    def token_id(self) -> str | None:
        return self._token.get_id()

    # -- tokens -----------------------------------------------------------------------------------
    def access_token(self) -> str:
        """A valid access token for the fast read path (refreshed first when expiring)."""
        fast = getattr(self.store, "access_token", None)
        if not callable(fast):
            held = self._held_token()
            if held is not None:
                return held
        try:
            if callable(fast):
                token = fast(self.token_id)
            else:
                with self.active():
                    token = self._token.get_token()
        except SDKException as exc:
            raise sdk_error(exc, "getting an access token") from None
        if not token:
            raise ZohoAuthError("No access token available", code="NO_ACCESS_TOKEN")
        _secrets.register(token)
        return str(token)

    def _held_token(self) -> str | None:
        """Our in-memory token while it has more than a minute to live, read without the SDK's
        process-wide lock (every request asks: the SDK's ``get_token`` costs about 1 ms)."""
        if not isinstance(self.store, MemoryTokenStore) or not self.token_id:
            return None  # another store may hand out copies: the SDK path reads it afresh
        stored = self.store.find_token_by_id(self.token_id)
        if stored is None:
            return None
        token, expiry = stored.get_access_token(), stored.get_expires_in()
        try:
            left_ms = int(expiry) - time.time() * 1000
        except (TypeError, ValueError):
            return None
        return str(token) if token and left_ms > HELD_TOKEN_MIN_MS else None

    def force_refresh(self, rejected: str | None) -> str:
        """After a 401 INVALID_TOKEN: the token that replaces ``rejected``, refreshed only while
        ``rejected`` is still the stored one (the store's own keyed refresh when it has one).

        The SDK's token is refreshed in place, never marked expired first: SDK writes in other
        threads read it without our lock, and would each refresh an expired-looking token."""
        forced = getattr(self.store, "force_refresh", None)
        try:
            if callable(forced):
                token = forced(self.token_id, rejected)
            else:
                with self.active():
                    initializer = Initializer.get_initializer()
                    stored = initializer.store.find_token_by_id(self.token_id) if self.token_id else None
                    target = stored if stored is not None else self._token
                    if rejected is None or target.get_access_token() == rejected:
                        target.refresh_access_token(target, initializer.environment.accounts_url)
                        initializer.store.save_token(target)
                    token = target.get_token()
        except SDKException as exc:
            raise sdk_error(exc, "refreshing the access token") from None
        _secrets.register(token)
        return str(token)

    # -- writes -----------------------------------------------------------------------------------
    def write(
        self,
        module: str,
        operation: str,
        rows: Sequence[Mapping[str, Any]],
        fmap: Mapping[str, Mapping[str, Any]],
        *,
        trigger: list[str] | None = None,
        duplicate_check_fields: list[str] | None = None,
    ) -> list[RecordOutcome]:
        """One call of at most 100 records; outcomes in input order. Raises for whole-call failures."""
        if len(rows) > BATCH:
            raise ValueError(f"at most {BATCH} records a call")
        try:
            ops = RecordOperations(module)
            body = BodyWrapper()
            body.set_data([to_sdk_record(r, fmap) for r in rows])
            if trigger is not None:
                body.set_trigger(list(trigger))
            if duplicate_check_fields:
                body.set_duplicate_check_fields(list(duplicate_check_fields))
        except SDKException as exc:
            raise sdk_error(exc, operation) from None
        method = {"insert": ops.create_records, "update": ops.update_records, "upsert": ops.upsert_records}[operation]
        self.access_token()  # an expiring token is refreshed here, under our lock, not by each SDK thread
        with self._rejected_named():
            with self.current_in_thread():
                response = self._call(lambda: method(body), operation)
            return self._outcomes(response, len(rows), [str(r.get("id")) if r.get("id") else None for r in rows])

    def delete(self, module: str, ids: Sequence[str]) -> list[RecordOutcome]:
        if len(ids) > BATCH:
            raise ValueError(f"at most {BATCH} records a call")
        params = ParameterMap()
        try:
            for i in ids:
                params.add(DeleteRecordsParam.ids, str(i))
        except SDKException as exc:
            raise sdk_error(exc, "delete") from None
        self.access_token()
        with self._rejected_named():
            with self.current_in_thread():
                response = self._call(lambda: RecordOperations(module).delete_records(params), "delete")
            return self._outcomes(response, len(ids), list(ids))

    def _call(self, fn: Any, operation: str) -> Any:
        try:
            response = fn()
        except SDKException as exc:
            raise sdk_error(exc, operation) from None
        if response is None:
            # The SDK swallowed an error (logged it) and returned None: say what we saw on the wire.
            raise ZohoOutcomeUnknownError(
                f"{operation}: the answer could not be read (the SDK returned none); the records may have been written",
                code="NO_RESPONSE",
                status=None,
            )
        return response

    @contextmanager
    def _rejected_named(self) -> Iterator[None]:
        """A 401 from this block names the token it refused: the one this thread's last SDK
        request carried (so the pipeline refreshes once per dead token, not once per thread)."""
        try:
            yield
        except AuthFailure as exc:
            exc.rejected = self._shim.sent_token()
            raise

    def _outcomes(self, response: Any, n: int, ids: list[str | None]) -> list[RecordOutcome]:
        status = response.get_status_code()
        obj = response.get_object()
        if isinstance(obj, RecordAPIException):
            raise api_exception_error(obj, status)
        if not isinstance(obj, ActionWrapper):
            what = "an unreadable answer" if obj is None else f"an unexpected {type(obj).__name__}"
            raise ZohoOutcomeUnknownError(
                f"The answer to this write was lost (HTTP {status}, {what}): "
                "the records may or may not have been written",
                code="MALFORMED_RESPONSE" if status and status < 500 else f"HTTP_{status}",
                status=status,
            )
        items = obj.get_data() or []
        if len(items) != n:
            raise ZohoOutcomeUnknownError(
                f"Zoho answered {len(items)} outcomes for {n} records: the outcome of each is unknown",
                code="MALFORMED_RESPONSE",
                status=status,
            )
        out = []
        for item, rid in zip(items, ids, strict=False):
            details = item.get_details() or {}
            code = _value(item.get_code())
            state = str(_value(item.get_status()) or "").lower()
            got_id = details.get("id") if isinstance(details, Mapping) else None
            field = details.get("api_name") if isinstance(details, Mapping) else None
            action = _value(item.get_action()) if hasattr(item, "get_action") else None
            out.append(
                RecordOutcome(
                    str(got_id) if got_id is not None else rid,
                    "success" if state == "success" else "error",
                    str(code) if code is not None else None,
                    _value(item.get_message()),
                    str(field) if field else None,
                    str(action) if action else None,
                )
            )
        return out


def _value(v: Any) -> Any:
    return v.get_value() if isinstance(v, Choice) else v


def to_sdk_record(row: Mapping[str, Any], fmap: Mapping[str, Mapping[str, Any]]) -> Record:
    """A JSON payload row (frames.to_payload) as the SDK's Record, typed as its converter wants."""
    record = Record()
    for key, value in row.items():
        if key == "id":
            record.set_id(int(value))
            continue
        kind = frames.kind_of(fmap.get(key))
        if value is None:
            record.add_key_value(key, None)
        elif kind == frames.PICK:
            record.add_key_value(key, Choice(value))
        elif kind == frames.MULTI:
            record.add_key_value(key, [Choice(v) for v in value])
        elif kind == frames.DATE:
            record.add_key_value(key, dt.date.fromisoformat(value))
        elif kind == frames.DATETIME:
            record.add_key_value(key, dt.datetime.fromisoformat(value))
        elif kind == frames.LOOKUP:
            ref = Record()
            ref.set_id(int(value["id"]))
            record.add_key_value(key, ref)
        elif kind == frames.USER:
            user = MinifiedUser()
            user.set_id(int(value["id"]))
            record.add_key_value(key, user)
        elif kind == frames.INT:
            record.add_key_value(key, int(value))
        elif kind == frames.FLOAT:
            record.add_key_value(key, float(value))
        else:
            record.add_key_value(key, value)
    return record


def api_exception_error(exc: Any, status: int | None) -> ZohoAPIError:
    """A whole-call APIException from the SDK as our error (429 → rate limit, 401 → auth)."""
    code = str(_value(exc.get_code()) or "UNKNOWN")
    message = str(_value(exc.get_message()) or code)
    details = exc.get_details() if isinstance(exc.get_details(), dict) else {}
    if status == 429 or code == "TOO_MANY_REQUESTS":
        return ZohoRateLimitError(_secrets.redact(message), code=code, status=status, details=details)
    if status == 401:
        return AuthFailure(_secrets.redact(message), code=code, status=status, details=details)
    return ZohoAPIError(_secrets.redact(message), code=code, status=status, details=details)


def sdk_error(exc: SDKException, doing: str) -> ZohoError:
    """An SDKException (or a transport error it wraps) as our error. Never leaks secrets."""
    cause = exc.cause
    while isinstance(cause, SDKException) and cause.cause is not None:
        cause = cause.cause
    if isinstance(cause, ZohoError):
        return cause
    if isinstance(cause, requests.exceptions.RequestException):
        return transport_error(cause, doing)
    if exc.code == "API_EXCEPTION" and isinstance(exc.details, dict):
        # Zoho refused a call the SDK made on its own (the field metadata it fetches before a
        # write): nothing was written. A refused token must reach the client's refresh-once logic.
        answered = str(exc.details.get("code") or "API_EXCEPTION")
        text = _secrets.redact(f"{doing}: {exc.details.get('message') or answered}")
        if answered in ("INVALID_TOKEN", "AUTHENTICATION_FAILURE"):
            return AuthFailure(text, code=answered, status=401)
        if answered in ("TOO_MANY_REQUESTS", "429"):
            return ZohoRateLimitError(text, code="TOO_MANY_REQUESTS", status=429)
        return ZohoAPIError(text, code=answered, status=None)
    code = str(exc.code or "SDK_ERROR")
    text = _secrets.redact(f"{doing}: {exc}")
    if "TOKEN" in code.upper() or code in ("INVALID_CLIENT", "invalid_client") or "token" in doing:
        if "Access Denied" in text:
            return ZohoRateLimitError(text, code="OAUTH_THROTTLED", status=None)
        return ZohoAuthError(text, code=code)
    return ZohoAPIError(text, code=code, status=None)
