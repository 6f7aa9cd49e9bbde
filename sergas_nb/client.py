"""The analyst-facing Zoho CRM client: ``connect()`` → ``ZohoClient`` → typed pandas DataFrames.

    from sergas_nb.client import connect
    crm = connect()                                   # ZOHO_SDK_* and DATABASE_* from env / .env
    df = crm.records("Accounts", where="Industry = 'Technology'")
    df.loc[df["Health_Score"] < 40, "Account_Status"] = "At Risk"
    result = crm.update("Accounts", df[["id", "Account_Status"]])   # WriteResult, one row per record

How it is built (see also _http.py, _sdk.py, _retry.py, frames.py):
- Reads take a fast path: a keep-alive ``requests.Session`` GET/POST with the access token from the
  token store, JSON parsed straight into a DataFrame typed from the module's field metadata. The
  SDK's converter costs ~80-90 ms a page and turns datetimes into machine-local time.
- Writes and tokens go through the official SDK (``Record`` objects, batches of 100, every
  record's outcome read), over the same bounded Session (see _http.py).
- Every call has a timeout; 429/5xx/connection errors are retried with backoff and jitter when
  safe (reads always; writes only when surely not applied); a 401 INVALID_TOKEN refreshes once
  and retries once. Errors are sergas_nb.errors exceptions, never None, never bare SDK errors.

``where`` (records, bulk_read_accounts): a COQL condition (``"Industry = 'Technology' and
Annual_Revenue > 1000000"``) or Zoho search criteria (``"(Industry:equals:Technology)"``, translated
to COQL). COQL picks the ids (any number, through offsets up to 100,000); the records are then
fetched by id so the frame has the same columns and types as an unfiltered read.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import pandas as pd
import requests

from sergas_nb import _secrets, frames
from sergas_nb._http import DEFAULT_TIMEOUT, BoundedSession, Seen
from sergas_nb._metrics import Event, Metrics
from sergas_nb._retry import RetryPolicy, run
from sergas_nb._sdk import (
    BATCH,
    MemoryTokenStore,
    Outcome,
    SdkBinding,
    _AuthFailure,
    resource_dir_for,
    transport_error,
)
from sergas_nb.errors import (
    Problem,
    ZohoAPIError,
    ZohoAuthError,
    ZohoConfigError,
    ZohoError,
    ZohoRateLimitError,
    ZohoValidationError,
)

log = logging.getLogger("sergas_nb.client")
T = TypeVar("T")

PER_PAGE = 200            # Zoho's maximum page size
PAGE_LIMIT = 2000         # records reachable with ?page=; beyond that only page_token works
COQL_LIMIT = 2000         # rows per COQL call
COQL_OFFSET_LIMIT = 100_000
SEARCH_LIMIT = 2000       # search reaches the first 2,000 matches only
MAX_FIELDS = 50           # fields per list call
ACCOUNTS = "Accounts"


# ------------------------------------------------------------------------------------ results

@dataclass
class WriteResult:
    """Outcome of a write: counts and one row per input record (in input order).

    ``records`` columns: row (input position or index label), id, status ("success"/"error"),
    code, message, field (the field Zoho blamed), action (upserts: insert/update).
    """

    operation: str
    module: str
    records: pd.DataFrame = field(repr=False)

    @property
    def total(self) -> int:
        return len(self.records)

    @property
    def succeeded(self) -> int:
        return int((self.records["status"] == "success").sum())

    @property
    def failed(self) -> int:
        return self.total - self.succeeded

    @property
    def ok(self) -> bool:
        return self.failed == 0

    @property
    def failures(self) -> pd.DataFrame:
        return self.records[self.records["status"] != "success"]

    def __getitem__(self, key: str) -> Any:  # the seed guide's result["total"] keeps working
        if key in ("total", "succeeded", "failed"):
            return getattr(self, key)
        raise KeyError(key)

    def __repr__(self) -> str:
        return (f"WriteResult({self.operation} {self.module}: total={self.total}, "
                f"succeeded={self.succeeded}, failed={self.failed})")

    def _repr_html_(self) -> str:
        return f"<p><b>{self!r}</b></p>" + self.records.to_html(max_rows=20)


_RESULT_DTYPES = {"row": "object", "id": "string", "status": "string", "code": "string", "message": "string",
                  "field": "string", "action": "string"}


def _result_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(_RESULT_DTYPES))
    return df.astype(_RESULT_DTYPES)


# ------------------------------------------------------------------------------------ connect

def connect(settings: Any = None, *, emulator: Any = None, token_store: Any = None,
            timeout: tuple[float, float] | float = DEFAULT_TIMEOUT, retries: int = 4, backoff: float = 0.5,
            env_file: str | None = ".env", **overrides: Any) -> ZohoClient:
    """A ready client from configuration (``ZOHO_SDK_*``, ``DATABASE_*``; env, ``.env``, overrides).

    The emulator is used only when configured: ``ZOHO_SDK_REGION=local`` with ``ZOHO_SDK_LOCAL_URL``,
    or ``connect(emulator=LocalZoho(...))``; there is no silent fallback. Missing or invalid
    settings raise one ZohoConfigError naming each.

    Tokens live in PostgreSQL (``sergas_nb.tokens.PostgresTokenStore``) when a database is
    configured; a real data centre requires one. Against the emulator without a database they are
    kept in memory. ``token_store=`` injects any SDK TokenStore.
    ``timeout``: (connect, read) seconds for every HTTP call, writes and token calls included.
    ``retries``: attempts after the first for calls that are safe to repeat; ``backoff``: first wait.
    """
    from sergas_nb.config import load_settings

    if emulator is not None:
        overrides = {"region": "local", "local_url": emulator.url, "client_id": emulator.client_id,
                     "client_secret": emulator.client_secret, "refresh_token": emulator.refresh_token,
                     "redirect_url": getattr(emulator, "redirect_url", None), **overrides}
    if settings is None:
        base = ("client_id", "client_secret", "refresh_token")
        problems: dict[str, str] = {}
        try:
            settings = load_settings(env_file=env_file, require=base, **overrides)
        except ZohoConfigError as exc:
            problems.update(exc.problems)
        region = (settings.region if settings is not None else
                  str(overrides.get("region") or os.environ.get("ZOHO_SDK_REGION") or "us")).lower()
        has_db = settings is not None and (settings.database_url is not None or settings.database_host)
        if token_store is None and region != "local" and settings is not None and not has_db:
            problems["DATABASE_URL"] = ("missing (tokens for a real Zoho org are kept in PostgreSQL: set "
                                        "DATABASE_URL, or DATABASE_HOST and DATABASE_NAME)")
        if problems:
            raise ZohoConfigError(problems)
    elif overrides:
        raise TypeError("give either settings= or keyword overrides, not both")
    return ZohoClient(settings, token_store=token_store, timeout=timeout,
                      retry=RetryPolicy(attempts=retries + 1, base=backoff))


TARGETS = ("emulator", "real")


def connect_target(target: str = "emulator", *, accounts: int = 2500, seed: int = 42,
                   **overrides: Any) -> tuple[ZohoClient, Any]:
    """The notebooks' way in: ``(client, emulator started here or None)``.

    ``"emulator"``: the emulator the settings name (``ZOHO_SDK_LOCAL_URL``, as ``make demo`` sets it),
    or, when none is named, one started in this process with ``accounts`` and ``seed`` (call its
    ``stop()`` when done). ``"real"``: the org configured in the environment or ``.env``. Either way
    the settings must agree with the target: a real-org run never lands on the emulator, nor the
    reverse.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    if target == "emulator" and not (overrides.get("local_url") or os.environ.get("ZOHO_SDK_LOCAL_URL")):
        from sergas_nb.emulator import LocalZoho

        emulator = LocalZoho(accounts=accounts, seed=seed).start()
        try:
            return connect(emulator=emulator, env_file=None, **overrides), emulator
        except BaseException:
            emulator.stop()
            raise
    if target == "emulator":
        overrides.setdefault("region", "local")
    client = connect(**overrides)
    if (client.settings.region == "local") != (target == "emulator"):
        client.close()
        raise ZohoConfigError({"ZOHO_SDK_REGION": f"target={target!r}, but the settings point at {client.api_url}"})
    return client, None


# ------------------------------------------------------------------------------------ client

class ZohoClient:
    """Zoho CRM as typed DataFrames. Build it with :func:`connect`."""

    def __init__(self, settings: Any, *, token_store: Any = None,
                 timeout: tuple[float, float] | float = DEFAULT_TIMEOUT, retry: RetryPolicy | None = None) -> None:
        _secrets.install_log_redaction()
        _secrets.register(*settings.secret_values())
        self.settings = settings
        self.endpoints = settings.endpoints()
        self.api_url = self.endpoints.api_url
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._metrics = Metrics()
        self._meta: dict[str, list[dict[str, Any]]] = {}
        self._session = BoundedSession(timeout)
        self._store = token_store if token_store is not None else self._default_store()
        client_id = settings.client_id or ""
        self._sdk = SdkBinding(
            api_url=self.endpoints.api_url, accounts_url=self.endpoints.accounts_url,
            upload_url=self.endpoints.upload_url, client_id=client_id,
            client_secret=settings.client_secret.get_secret_value() if settings.client_secret else "",
            refresh_token=settings.refresh_token.get_secret_value() if settings.refresh_token else "",
            redirect_url=settings.redirect_url, store=self._store, session=self._session,
            resource_dir=resource_dir_for(self.endpoints.api_url, client_id), observer=self._seen)
        self._refreshes_seen = self._store_refreshes()
        start = time.perf_counter()
        try:
            self._sdk.start()
        except ZohoError as exc:
            self._event("call", "connect", _status(exc), start, detail=str(exc))
            raise
        self._event("call", "connect", "ok", start)
        log.info("connected to %s (%s)", self.api_url, type(self._store).__name__)

    def _default_store(self) -> Any:
        s = self.settings
        if s.database_url is None and not s.database_host:
            return MemoryTokenStore()   # emulator only: connect() requires a database otherwise
        from sergas_nb.tokens import PostgresTokenStore, namespace_for

        return PostgresTokenStore(
            s.database_dsn(), namespace_for(self.endpoints.api_url, s.client_id or ""),
            token_url=self.endpoints.token_url, client_id=s.client_id, client_secret=s.client_secret,
            api_domain=self.endpoints.api_url,
            timeout=self.timeout[1] if isinstance(self.timeout, tuple) else self.timeout)

    def __repr__(self) -> str:
        return f"ZohoClient({self.api_url}, tokens in {type(self._store).__name__})"

    @property
    def token_store(self) -> Any:
        return self._store

    def close(self) -> None:
        """Release pooled connections (and the token store's database connection)."""
        self._session.close()
        closer = getattr(self._store, "close", None)
        if callable(closer):
            closer()

    def __enter__(self) -> ZohoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- metrics plumbing -----------------------------------------------------------------------
    def _seen(self, seen: Seen) -> None:
        """Observer of the SDK's HTTP (through the shim): token requests and rate limits."""
        if seen.method == "POST" and seen.url.startswith(self._sdk.token_url):
            self._metrics.add(Event("token_refresh", "sdk", "ok" if seen.status == 200 else str(seen.status),
                                    seen.duration))
        if seen.status == 429:
            self._metrics.add(Event("rate_limit", "sdk", "TOO_MANY_REQUESTS", seen.duration, detail=seen.url))

    def _store_refreshes(self) -> int:
        return int(getattr(self._store, "refreshes", 0) or 0)

    def _sync_store_refreshes(self) -> None:
        now = self._store_refreshes()
        for _ in range(now - self._refreshes_seen):
            self._metrics.add(Event("token_refresh", "token_store", "ok"))
        self._refreshes_seen = now

    def _event(self, kind: str, operation: str, status: str, start: float, *, records: int = 0, retries: int = 0,
               module: str | None = None, detail: str | None = None) -> None:
        self._metrics.add(Event(kind, operation, status, time.perf_counter() - start, records, retries, module,
                                detail))

    def metrics(self) -> pd.DataFrame:
        """Every call (operation, status, duration s, records, retries), token refresh and rate-limit event."""
        self._sync_store_refreshes()
        return self._metrics.frame()

    # -- the call wrapper -------------------------------------------------------------------------
    def _call(self, operation: str, fn: Callable[[], T], *, idempotent: bool, module: str | None = None,
              count: Callable[[T], int] | None = None) -> T:
        """Run ``fn`` with retries, one refresh-and-retry on 401, metrics and logging."""
        start = time.perf_counter()
        retries = 0

        def on_retry(exc: BaseException, attempt: int, wait: float) -> None:
            if isinstance(exc, ZohoRateLimitError):
                self._metrics.add(Event("rate_limit", operation, exc.code or "TOO_MANY_REQUESTS", module=module,
                                        detail=f"retrying in {wait:.2f}s"))
            log.warning("%s: %s; retry %d in %.2fs", operation, _secrets.redact(exc), attempt, wait)

        def attempt_all() -> T:
            nonlocal retries
            try:
                result, n = run(fn, idempotent=idempotent, policy=self.retry, on_retry=on_retry)
                retries += n
                return result
            except _AuthFailure as exc:
                if exc.code not in ("INVALID_TOKEN", "AUTHENTICATION_FAILURE"):
                    raise ZohoAuthError(str(exc.message), code=exc.code, details=exc.details) from None
                retries += 1
                log.info("%s: access token rejected (%s); refreshing once", operation, exc.code)
                self._sdk.force_refresh(getattr(exc, "rejected", None))
                self._metrics.add(Event("token_refresh", operation, "forced", module=module))
                try:
                    result, n = run(fn, idempotent=idempotent, policy=self.retry, on_retry=on_retry)
                except _AuthFailure as again:
                    raise ZohoAuthError(f"{again.message} (still rejected after a token refresh)",
                                        code=again.code, details=again.details) from None
                retries += n
                return result

        try:
            result = attempt_all()
        except ZohoError as exc:
            retries += int(getattr(exc, "retries_used", 0) or 0)
            self._sync_store_refreshes()
            if isinstance(exc, ZohoRateLimitError):
                self._metrics.add(Event("rate_limit", operation, exc.code or "TOO_MANY_REQUESTS", module=module,
                                        detail="gave up"))
            self._event("call", operation, _status(exc), start, retries=retries, module=module,
                        detail=_secrets.redact(exc))
            log.error("%s failed: %s", operation, _secrets.redact(exc))
            raise
        self._sync_store_refreshes()
        n = count(result) if count is not None else 0
        self._event("call", operation, "ok", start, records=n, retries=retries, module=module)
        log.debug("%s ok: %d records, %d retries", operation, n, retries)
        return result

    # -- fast read path -----------------------------------------------------------------------------
    def _http(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              json_body: Any = None) -> dict[str, Any] | None:
        """One HTTP exchange; the JSON body, or None for 204/304. Raises mapped errors."""
        token = self._sdk.access_token()
        url = self.api_url + path
        try:
            resp = self._session.request(method, url, params=params, json=json_body,
                                         headers={"Authorization": f"Zoho-oauthtoken {token}"})
        except requests.exceptions.RequestException as exc:
            raise transport_error(exc, f"{method} {path}") from None
        return _parse(resp, f"{method} {path}", token)

    def _get(self, operation: str, path: str, params: Mapping[str, Any] | None = None,
             module: str | None = None) -> dict[str, Any] | None:
        return self._call(operation, lambda: self._http("GET", path, params=params), idempotent=True, module=module,
                          count=lambda d: len((d or {}).get("data") or []))

    # -- metadata -------------------------------------------------------------------------------------
    def _fields_meta(self, module: str) -> list[dict[str, Any]]:
        """Field metadata of ``module``, fetched once per client."""
        if module not in self._meta:
            data = self._get("fields", "/crm/v8/settings/fields", {"module": module}, module)
            fields = (data or {}).get("fields")
            if not fields:
                raise ZohoAPIError(f"No field metadata for module {module!r}", code="INVALID_MODULE", status=None)
            self._meta[module] = fields
        return self._meta[module]

    def refresh_metadata(self, module: str | None = None) -> None:
        """Forget cached field metadata (after fields were added in the CRM)."""
        if module is None:
            self._meta.clear()
        else:
            self._meta.pop(module, None)

    def fields(self, module: str) -> pd.DataFrame:
        """Field metadata as a DataFrame: api_name, field_label, data_type, read_only, ..., and the
        pandas ``dtype`` this toolkit gives the field's column(s)."""
        meta = self._fields_meta(module)
        first = ["api_name", "field_label", "data_type", "json_type", "length", "read_only", "system_mandatory",
                 "custom_field", "pick_list_values", "lookup"]
        df = pd.DataFrame(meta)
        for col in first:
            if col not in df:
                df[col] = None
        df = df[first + [c for c in df.columns if c not in first]]
        dtypes = frames.dtypes_for(meta)
        df.insert(3, "dtype", [", ".join(f"{c}: {d}" if c != f["api_name"] else d for c, d in dtypes.items()
                                         if c == f["api_name"] or c.startswith(f["api_name"] + "."))
                               for f in meta])
        df.insert(4, "writable", [not frames.is_read_only(f) for f in meta])
        return df.astype({"api_name": "string", "field_label": "string", "data_type": "string", "dtype": "string"})

    def _resolve_fields(self, module: str, fields: Iterable[str] | None) -> list[str]:
        meta = frames.field_map(self._fields_meta(module))
        if fields is None:
            return list(meta)
        names = []
        unknown = []
        for f in ([fields] if isinstance(fields, str) else fields):
            base = f.split(".", 1)[0] if f not in meta else f
            if base == "id":
                continue
            if base not in meta:
                unknown.append(f)
            names.append(base)
        if unknown:
            raise ZohoValidationError([Problem(f, "unknown field", None, None) for f in unknown])
        return list(dict.fromkeys(names))

    # -- generic reads ------------------------------------------------------------------------------
    def records(self, module: str, fields: Iterable[str] | None = None, where: str | None = None,
                sort_by: str | None = None, sort_order: Literal["asc", "desc"] | None = None,
                limit: int | None = None) -> pd.DataFrame:
        """Records of ``module`` as a typed DataFrame, all of them (past 2,000 via page tokens) or
        the first ``limit``.

        ``fields``: API names (all fields when None; lookups become X.name/X.id[/X.email]).
        ``where``: a COQL condition, or Zoho search criteria (translated); see the module docstring.
        ``sort_by``: id, Created_Time or Modified_Time (Zoho's list API sorts by these only).
        """
        names = self._resolve_fields(module, fields)
        meta = self._fields_meta(module)
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        if where is not None and where.strip():
            ids = self._ids_where(module, where, sort_by, sort_order, limit)
            return self._records_by_ids(module, names, ids)
        rows: list[dict[str, Any]] = []
        # Zoho lists at most 50 fields a call: wider reads go in chunks joined on id.
        chunks = [names[i:i + MAX_FIELDS - 1] for i in range(0, len(names), MAX_FIELDS - 1)] or [[]]
        base_rows = self._list(module, chunks[0], sort_by, sort_order, limit)
        rows = base_rows
        if len(chunks) > 1:
            by_id = {r["id"]: dict(r) for r in rows}
            for chunk in chunks[1:]:
                for r in self._list(module, chunk, sort_by, sort_order, limit):
                    if r["id"] in by_id:
                        by_id[r["id"]].update(r)
            rows = [by_id[r["id"]] for r in base_rows]
        return frames.to_frame(rows, meta, names)

    def _list(self, module: str, names: list[str], sort_by: str | None, sort_order: str | None,
              limit: int | None, first_page: int = 1, per_page: int | None = None) -> list[dict[str, Any]]:
        """Pages of GET /{module}: ?page= up to record 2,000, then ?page_token=."""
        per_page = per_page or (min(PER_PAGE, limit) if limit else PER_PAGE)
        if limit == 0:
            return []
        params: dict[str, Any] = {"fields": ",".join(names or ["id"]), "per_page": per_page}
        if sort_by:
            params["sort_by"] = sort_by
        if sort_order:
            params["sort_order"] = sort_order
        rows: list[dict[str, Any]] = []
        page, token = first_page, None
        while True:
            q = dict(params, **({"page_token": token} if token else {"page": page}))
            data = self._get("records", f"/crm/v8/{module}", q, module)
            batch = (data or {}).get("data") or []
            rows.extend(batch)
            info = (data or {}).get("info") or {}
            if not batch or not info.get("more_records") or (limit is not None and len(rows) >= limit):
                break
            if token is not None or page * per_page >= PAGE_LIMIT:
                token = info.get("next_page_token")
                if not token:
                    raise ZohoAPIError(f"{module}: more records, but no next_page_token to reach them",
                                       code="MALFORMED_RESPONSE", status=200)
            else:
                page += 1
        return rows[:limit] if limit is not None else rows

    def _records_by_ids(self, module: str, names: list[str], ids: Sequence[str]) -> pd.DataFrame:
        """Full records for these ids (100 a call), in the given order."""
        meta = self._fields_meta(module)
        got: dict[str, dict[str, Any]] = {}
        chunks = [names[i:i + MAX_FIELDS - 1] for i in range(0, len(names), MAX_FIELDS - 1)] or [[]]
        for start in range(0, len(ids), BATCH):
            part = list(ids[start:start + BATCH])
            for chunk in chunks:
                data = self._get("records", f"/crm/v8/{module}",
                                 {"fields": ",".join(chunk or ["id"]), "ids": ",".join(part), "per_page": PER_PAGE},
                                 module)
                for r in (data or {}).get("data") or []:
                    got.setdefault(str(r["id"]), {}).update(r)
        return frames.to_frame([got[i] for i in ids if i in got], meta, names)

    def _ids_where(self, module: str, where: str, sort_by: str | None, sort_order: str | None,
                   limit: int | None) -> list[str]:
        condition = criteria_to_coql(where, frames.field_map(self._fields_meta(module)))
        order = f"{sort_by or 'id'} {sort_order or 'asc'}"
        ids: list[str] = []
        offset = 0
        while True:
            n = COQL_LIMIT if limit is None else min(COQL_LIMIT, limit - len(ids))
            if n <= 0:
                break
            query = f"select id from {module} where ({condition}) order by {order} limit {n} offset {offset}"
            data = self._coql_call(query, module)
            batch = (data or {}).get("data") or []
            ids.extend(str(r["id"]) for r in batch)
            offset += len(batch)
            if not batch or not ((data or {}).get("info") or {}).get("more_records"):
                break
            if offset >= COQL_OFFSET_LIMIT:
                raise ZohoAPIError(f"more than {COQL_OFFSET_LIMIT} matches: COQL cannot page further; "
                                   "narrow the condition", code="LIMIT_REACHED", status=None)
        return ids

    def record(self, module: str, id: str | int) -> dict[str, Any]:  # noqa: A002 - the API's word
        """One record as a dict with the same keys and types as a row of ``records()``."""
        rid = str(id)
        meta = self._fields_meta(module)
        data = self._get("record", f"/crm/v8/{module}/{rid}", None, module)
        rows = (data or {}).get("data") or []
        if not rows:
            raise ZohoAPIError(f"{module} record {rid} not found", code="RECORD_NOT_FOUND", status=204)
        return frames.to_frame(rows[:1], meta).iloc[0].to_dict()

    def search(self, module: str, criteria: str | None = None, *, email: str | None = None,
               phone: str | None = None, word: str | None = None, fields: Iterable[str] | None = None,
               limit: int = SEARCH_LIMIT) -> pd.DataFrame:
        """Zoho search (criteria ``(Field:operator:value)``, or email / phone / word).

        Zoho's search reaches the first 2,000 matches only, and may miss just-written records;
        ``records(module, where=...)`` has neither limit.
        """
        given = {k: v for k, v in (("criteria", criteria), ("email", email), ("phone", phone), ("word", word))
                 if v is not None}
        if not given:
            raise ZohoValidationError([Problem("criteria", "give criteria, email, phone or word")])
        names = self._resolve_fields(module, fields)
        meta = self._fields_meta(module)
        limit = min(limit, SEARCH_LIMIT)
        per_page = min(PER_PAGE, max(limit, 1))
        rows: list[dict[str, Any]] = []
        page = 1
        while len(rows) < limit:
            params = dict(given, page=page, per_page=per_page, fields=",".join(names[:MAX_FIELDS]))
            data = self._get("search", f"/crm/v8/{module}/search", params, module)
            batch = (data or {}).get("data") or []
            rows.extend(batch)
            if not batch or not ((data or {}).get("info") or {}).get("more_records"):
                break
            if page * per_page >= SEARCH_LIMIT:
                log.warning("search on %s stopped at Zoho's %d-match limit; use records(where=...) for all",
                            module, SEARCH_LIMIT)
                break
            page += 1
        return frames.to_frame(rows[:limit], meta, names)

    def coql(self, query: str) -> pd.DataFrame:
        """A COQL SELECT as a typed DataFrame. Without a LIMIT in the query, all rows are fetched
        (2,000 a call, through offsets up to 100,000); with one, the query runs as written."""
        module, selected = _coql_shape(query)
        meta = self._fields_meta(module) if module else []
        if re.search(r"\blimit\b", _strip_quoted(query), re.IGNORECASE):
            data = self._coql_call(query, module)
            rows = (data or {}).get("data") or []
        else:
            rows = []
            offset = 0
            while True:
                data = self._coql_call(f"{query.rstrip().rstrip(';')} limit {COQL_LIMIT} offset {offset}", module)
                batch = (data or {}).get("data") or []
                rows.extend(batch)
                offset += len(batch)
                if not batch or not ((data or {}).get("info") or {}).get("more_records"):
                    break
                if offset >= COQL_OFFSET_LIMIT:
                    raise ZohoAPIError(f"COQL reaches {COQL_OFFSET_LIMIT} rows at most", code="LIMIT_REACHED",
                                       status=None)
        if selected is None:
            return frames.to_frame(rows, meta)
        return frames.to_frame(rows, meta, selected)

    def _coql_call(self, query: str, module: str | None) -> dict[str, Any] | None:
        return self._call("coql", lambda: self._http("POST", "/crm/v8/coql", json_body={"select_query": query}),
                          idempotent=True, module=module, count=lambda d: len((d or {}).get("data") or []))

    def count(self, module: str, where: str | None = None) -> int:
        """Number of records in ``module`` (matching ``where``, a COQL condition or search criteria)."""
        if where:
            return len(self._ids_where(module, where, None, None, None))
        data = self._get("count", f"/crm/v8/{module}/actions/count", None, module)
        if not data or "count" not in data:
            raise ZohoAPIError(f"{module}: the count answer had no count", code="MALFORMED_RESPONSE", status=200)
        return int(data["count"])

    # -- generic writes -------------------------------------------------------------------------------
    def insert(self, module: str, data: pd.DataFrame | Sequence[Mapping[str, Any]], *,
               na: Literal["clear", "skip"] = "clear", trigger: list[str] | None = None) -> WriteResult:
        """Create records; WriteResult.records has each new id (or the reason it failed)."""
        return self._write(module, "insert", data, na=na, trigger=trigger)

    def update(self, module: str, data: pd.DataFrame | Sequence[Mapping[str, Any]], *,
               na: Literal["clear", "skip"] = "clear", trigger: list[str] | None = None) -> WriteResult:
        """Update records by ``id`` (a frame as read, edited, or dicts). NA clears a field
        (``na="skip"`` leaves it); leave a column out to leave the field alone."""
        return self._write(module, "update", data, na=na, trigger=trigger)

    def upsert(self, module: str, data: pd.DataFrame | Sequence[Mapping[str, Any]], *,
               duplicate_check_fields: list[str] | None = None, na: Literal["clear", "skip"] = "clear",
               trigger: list[str] | None = None) -> WriteResult:
        """Insert or update, matched on ``duplicate_check_fields`` (Zoho's default per module)."""
        return self._write(module, "upsert", data, na=na, trigger=trigger,
                           duplicate_check_fields=duplicate_check_fields)

    def delete(self, module: str, ids: Iterable[str | int] | pd.Series) -> WriteResult:
        """Delete records by id (100 a call); one outcome per id."""
        if isinstance(ids, (str, int)):
            ids = [ids]
        items = list(ids)
        problems, clean, seen = [], [], set()
        for pos, i in enumerate(items):
            try:
                rid = frames._check_id(i)
            except frames._Bad as bad:
                problems.append(Problem("id", str(bad), pos, i))
                continue
            if rid in seen:
                problems.append(Problem("id", "duplicate id", pos, i))
            seen.add(rid)
            clean.append(rid)
        if problems:
            raise ZohoValidationError(problems)
        out: list[dict[str, Any]] = []
        for start in range(0, len(clean), BATCH):
            part = clean[start:start + BATCH]
            outcomes = self._call("delete", lambda p=part: self._sdk.delete(module, p),  # type: ignore[misc]
                                  idempotent=False, module=module, count=len)
            out.extend(_outcome_row(start + k, o) for k, o in enumerate(outcomes))
        return WriteResult("delete", module, _result_frame(out))

    def _write(self, module: str, operation: str, data: Any, *, na: Literal["clear", "skip"],
               trigger: list[str] | None, duplicate_check_fields: list[str] | None = None) -> WriteResult:
        meta = self._fields_meta(module)
        fmap = frames.field_map(meta)
        if isinstance(data, Mapping):
            data = [data]
        payload = frames.to_payload(data, meta, operation, na=na)   # raises before anything is sent
        labels = list(data.index) if isinstance(data, pd.DataFrame) else list(range(len(payload)))
        out: list[dict[str, Any]] = []
        for start in range(0, len(payload), BATCH):
            part = payload[start:start + BATCH]
            try:
                outcomes = self._call(
                    operation, lambda p=part: self._sdk.write(module, operation, p, fmap, trigger=trigger,  # type: ignore[misc]
                                                              duplicate_check_fields=duplicate_check_fields),
                    idempotent=False, module=module, count=len)
            except ZohoError as exc:
                if out:   # earlier batches went through: say so, and keep their outcomes
                    exc.details["partial_result"] = WriteResult(operation, module, _result_frame(out))
                    exc.message = (f"{exc.message} [batch {start // BATCH + 1}: records {start}-"
                                   f"{start + len(part) - 1}; the {len(out)} records before were written, see "
                                   "details['partial_result']]")
                raise
            out.extend(_outcome_row(labels[start + k], o) for k, o in enumerate(outcomes))
        result = WriteResult(operation, module, _result_frame(out))
        if result.failed:
            log.warning("%s %s: %d of %d records failed", operation, module, result.failed, result.total)
        return result

    # -- the seed guide's Accounts methods ----------------------------------------------------------
    def get_accounts(self, limit: int = 200, page: int = 1, sort_by: str | None = None,
                     sort_order: Literal["asc", "desc"] | None = None,
                     fields: Iterable[str] | None = None) -> pd.DataFrame:
        """One page of ``limit`` (≤ 200) accounts; pages past record 2,000 are reached by page token."""
        problems = []
        if not 1 <= limit <= PER_PAGE:
            problems.append(Problem("limit", f"must be between 1 and {PER_PAGE}", None, limit))
        if page < 1:
            problems.append(Problem("page", "must be >= 1", None, page))
        if problems:
            raise ZohoValidationError(problems)
        names = self._resolve_fields(ACCOUNTS, fields)
        meta = self._fields_meta(ACCOUNTS)
        if page * limit <= PAGE_LIMIT:
            params: dict[str, Any] = {"fields": ",".join(names[:MAX_FIELDS]), "per_page": limit, "page": page}
            if sort_by:
                params["sort_by"] = sort_by
            if sort_order:
                params["sort_order"] = sort_order
            data = self._get("get_accounts", f"/crm/v8/{ACCOUNTS}", params, ACCOUNTS)
            return frames.to_frame((data or {}).get("data") or [], meta, names)
        # Past 2,000 a page number is not accepted: walk page tokens to it.
        rows = self._list(ACCOUNTS, names[:MAX_FIELDS], sort_by, sort_order, page * limit, per_page=limit)
        return frames.to_frame(rows[(page - 1) * limit: page * limit], meta, names)

    def get_account(self, account_id: str | int) -> dict[str, Any]:
        """One account as a dict (same keys and types as a ``get_accounts`` row)."""
        return self.record(ACCOUNTS, account_id)

    def update_account(self, account_id: str | int, field_data: Mapping[str, Any]) -> dict[str, Any]:
        """Update one account; returns the record as stored after the update. Raises on failure."""
        result = self.update(ACCOUNTS, [{**dict(field_data), "id": str(account_id)}], na="clear")
        row = result.records.iloc[0]
        if row["status"] != "success":
            raise ZohoAPIError(f"Account {account_id} was not updated: {row['message']}"
                               + (f" (field {row['field']})" if not pd.isna(row["field"]) else ""),
                               code=None if pd.isna(row["code"]) else str(row["code"]), status=None,
                               details={"field": None if pd.isna(row["field"]) else row["field"]})
        return self.get_account(account_id)

    def bulk_update_accounts(self, records: pd.DataFrame | Sequence[Mapping[str, Any]]) -> WriteResult:
        """Update many accounts (each with ``id``) in batches of 100; one outcome per record."""
        return self.update(ACCOUNTS, records)

    def search_accounts(self, criteria: str, limit: int = 200) -> pd.DataFrame:
        """Accounts matching search criteria ``(Field:operator:value)`` (first 2,000 at most)."""
        return self.search(ACCOUNTS, criteria=criteria, limit=limit)

    def bulk_read_accounts(self, criteria: str | None = None, fields: Iterable[str] | None = None) -> pd.DataFrame:
        """ALL matching accounts (beyond 2,000): page tokens, or COQL ids when ``criteria`` is given
        (a COQL condition or search criteria)."""
        return self.records(ACCOUNTS, fields=fields, where=criteria)

    # -- health -----------------------------------------------------------------------------------
    def health(self) -> pd.DataFrame:
        """Checks: configuration, database, token, API; each ok/error/skipped with reason and latency (ms)."""
        rows = []

        def check(name: str, fn: Callable[[], str]) -> None:
            start = time.perf_counter()
            try:
                detail, status = fn(), "ok"
            except _Skip as skip:
                detail, status = str(skip), "skipped"
            except Exception as exc:  # a health check reports, it does not raise
                detail, status = f"{type(exc).__name__}: {_secrets.redact(exc)}", "error"
            rows.append({"check": name, "status": status, "latency_ms": (time.perf_counter() - start) * 1000,
                         "detail": detail})

        def configuration() -> str:
            s = self.settings
            return f"region {s.region}, environment {s.environment}, API {self.api_url}"

        def database() -> str:
            checker = getattr(self._store, "check", None)
            if not callable(checker):
                raise _Skip(f"no database: tokens in {type(self._store).__name__}")
            checker()
            return getattr(self._store, "database_label", "reachable, schema present")

        def token() -> str:
            self._sdk.access_token()
            return "access token available"

        def api() -> str:
            data = self._http("GET", "/crm/v8/users", params={"type": "CurrentUser"})
            users = (data or {}).get("users") or []
            if not users:
                raise ZohoAPIError("no current user in the answer", code="MALFORMED_RESPONSE", status=200)
            return f"signed in as {users[0].get('email', '?')}"

        for name, fn in (("configuration", configuration), ("database", database), ("token", token), ("api", api)):
            check(name, fn)
        df = pd.DataFrame(rows, columns=["check", "status", "latency_ms", "detail"])
        return df.astype({"check": "string", "status": "string", "latency_ms": "Float64", "detail": "string"})


class _Skip(Exception):
    pass


# ------------------------------------------------------------------------------------ helpers

def _status(exc: BaseException) -> str:
    return str(getattr(exc, "code", None) or type(exc).__name__)


def _outcome_row(row: Any, o: Outcome) -> dict[str, Any]:
    return {"row": row, "id": o.id, "status": o.status, "code": o.code, "message": o.message, "field": o.field,
            "action": o.action}


def _parse(resp: requests.Response, doing: str, token: str | None) -> dict[str, Any] | None:
    """A Zoho answer as JSON (None for 204/304), or the matching sergas_nb error."""
    status = resp.status_code
    if status in (204, 304):
        return None
    try:
        body = resp.json() if resp.content else None
    except ValueError:
        body = None
        if 200 <= status < 300:
            raise ZohoAPIError(f"{doing}: HTTP {status} with malformed JSON", code="MALFORMED_RESPONSE",
                               status=status) from None
    if 200 <= status < 300:
        if body is None:
            raise ZohoAPIError(f"{doing}: HTTP {status} with an empty body", code="MALFORMED_RESPONSE",
                               status=status)
        return body
    info = body if isinstance(body, dict) else {}
    if isinstance(info.get("data"), list) and info["data"] and isinstance(info["data"][0], dict):
        info = info["data"][0]   # some errors come wrapped like write outcomes
    code = str(info.get("code") or f"HTTP_{status}")
    message = _secrets.redact(info.get("message") or resp.reason or f"HTTP {status}")
    details = info.get("details") if isinstance(info.get("details"), dict) else {}
    if status == 429:
        retry_after = resp.headers.get("Retry-After")
        try:
            wait = float(retry_after) if retry_after else None
        except ValueError:
            wait = None
        return _raise(ZohoRateLimitError(f"{doing}: {message}", retry_after=wait, code=code, status=status,
                                         details=details))
    if status == 401:
        err = _AuthFailure(f"{doing}: {message}", code=code, status=status, details=details)
        err.rejected = token   # kept off details: those may be shown
        return _raise(err)
    return _raise(ZohoAPIError(f"{doing}: {message}", code=code, status=status, details=details))


def _raise(exc: BaseException) -> Any:
    raise exc


_COQL_SELECT = re.compile(r"^\s*select\s+(.+?)\s+from\s+([A-Za-z0-9_]+)", re.IGNORECASE | re.DOTALL)


def _coql_shape(query: str) -> tuple[str | None, list[str] | None]:
    """(module, selected field names) of a COQL SELECT; names None when not plain fields."""
    m = _COQL_SELECT.match(query)
    if not m:
        raise ZohoValidationError([Problem("query", "expected a COQL query: select <fields> from <module> ...",
                                           None, query)])
    cols = [c.strip() for c in m.group(1).split(",")]
    names = None if any(not re.fullmatch(r"[A-Za-z0-9_.$]+", c) for c in cols) else cols
    return m.group(2), names


def _strip_quoted(text: str) -> str:
    return re.sub(r"'(?:[^'\\]|\\.)*'", "''", text)


# ------------------------------------------------------------------------------------ criteria → COQL

_CRIT_RE = re.compile(r"\(\s*([A-Za-z0-9_.]+)\s*:\s*([a-z_]+)\s*:\s*((?:[^()\\]|\\.)*)\)")
_OPS = {"equals": "=", "not_equal": "!=", "greater_than": ">", "greater_equal": ">=", "less_than": "<",
        "less_equal": "<="}
_NUMERIC = {frames.INT, frames.FLOAT}


def criteria_to_coql(where: str, fmap: Mapping[str, Mapping[str, Any]]) -> str:
    """A COQL condition from Zoho search criteria ``((A:equals:x)and(B:greater_than:5))``;
    anything not in that syntax is taken to be COQL already and returned as is."""
    text = where.strip()
    if not _CRIT_RE.search(text):
        return text
    problems: list[Problem] = []

    def one(m: re.Match[str]) -> str:
        name, op, raw = m.group(1), m.group(2), m.group(3)
        base = name.split(".", 1)[0]
        field = fmap.get(base)
        if field is None and name != "id":
            problems.append(Problem(name, "unknown field in criteria", None, raw))
            return "id is not null"
        values = [v.replace("\\,", ",").replace("\\(", "(").replace("\\)", ")")
                  for v in re.split(r"(?<!\\),", raw)]
        numeric = field is not None and frames.kind_of(field) in _NUMERIC
        lit = [_literal(v, numeric) for v in values]
        column = name if field is None or frames.kind_of(field) not in (frames.LOOKUP, frames.USER) or "." in name \
            else f"{name}.id"
        if op in _OPS:
            return f"{column} {_OPS[op]} {lit[0]}"
        if op == "starts_with":
            return f"{column} like {_literal(values[0] + '%', False)}"
        if op == "in":
            return f"{column} in ({', '.join(lit)})"
        if op == "between" and len(lit) == 2:
            return f"{column} between {lit[0]} and {lit[1]}"
        problems.append(Problem(name, f"operator {op!r} cannot be translated to COQL", None, raw))
        return "id is not null"

    out = _CRIT_RE.sub(lambda m: "(" + one(m) + ")", text)
    if problems:
        raise ZohoValidationError(problems)
    return re.sub(r"\)\s*(and|or)\s*\(", lambda m: f") {m.group(1).lower()} (", out, flags=re.IGNORECASE)


def _literal(value: str, numeric: bool) -> str:
    v = value.strip()
    if numeric and re.fullmatch(r"-?\d+(\.\d+)?", v):
        return v
    if v.lower() in ("true", "false"):
        return v.lower()
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


__all__ = ["connect", "ZohoClient", "WriteResult", "criteria_to_coql"]
