"""The analyst-facing Zoho CRM client: ``connect()`` → ``ZohoClient`` → typed pandas DataFrames.

    from sergas_nb.client import connect
    crm = connect()                                   # ZOHO_SDK_* and DATABASE_* from env / .env
    df = crm.records("Accounts", where="Industry = 'Technology'")
    df.loc[df["Health_Score"] < 40, "Account_Status"] = "At Risk"
    result = crm.update("Accounts", df[["id", "Account_Status"]])   # WriteResult, one row per record

How it is built (see also _http.py, _sdk.py, _retry.py, _coql.py, frames.py):
- Reads take a fast path: a keep-alive ``requests.Session`` GET/POST with the access token from the
  token store, JSON parsed straight into a DataFrame typed from the module's field metadata. The
  SDK's converter costs ~80-90 ms a page and turns datetimes into machine-local time.
- Writes and tokens go through the official SDK (``Record`` objects, batches of 100, up to 10 in
  flight, every record's outcome read), over the same bounded Session (see _http.py, _writes.py).
- Every call has a timeout; 429/5xx/connection errors are retried with backoff and jitter when
  safe (reads always; writes only when surely not applied); a 401 INVALID_TOKEN refreshes once
  and retries once. A write whose answer was lost is read back, never blindly resent, and a
  failed batch never ends the run: WriteResult has every record's fate (success, error, unknown).
  Errors are sergas_nb.errors exceptions, never None, never bare SDK errors.

``where`` (records, bulk_read_accounts): a COQL condition (``"Industry = 'Technology' and
Annual_Revenue > 1000000"``) or Zoho search criteria (``"(Industry:equals:Technology)"``, translated
to COQL). COQL picks the ids (any number, through offsets up to 100,000); the records are then
fetched by id so the frame has the same columns and types as an unfiltered read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import orjson
import pandas as pd
import requests

from sergas_nb import _secrets, frames
from sergas_nb._coql import aggregate_frame, aggregate_select, coql_shape, criteria_to_coql, has_limit
from sergas_nb._governor import DEFAULT_CONCURRENCY, DEFAULT_SUB_CONCURRENCY, Governor, is_sub_call
from sergas_nb._http import (
    DEFAULT_TIMEOUT,
    AuthFailure,
    BoundedSession,
    Seen,
    parse_response,
    transport_error,
)
from sergas_nb._metrics import Event, Metrics
from sergas_nb._reads import COQL_LIMIT, MAX_FIELDS, PAGE_LIMIT, PER_PAGE, _field_chunks, _more
from sergas_nb._retry import RetryPolicy, run
from sergas_nb._sdk import (
    MemoryTokenStore,
    Outcome,
    SdkBinding,
    resource_dir_for,
)
from sergas_nb._writes import (
    MAX_IN_FLIGHT,
    Resolver,
    Verdict,
    fate,
    resolve_by_resending,
    resolve_deletes,
    resolve_inserts,
    resolve_updates,
    write_all,
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

COQL_OFFSET_LIMIT = 100_000
SEARCH_LIMIT = 2000  # search reaches the first 2,000 matches only
ACCOUNTS = "Accounts"
# From here an update goes as one Bulk Write job: its fixed cost (upload, job, polls, result file)
# is about what 4,000 records cost in parallel batches, whose SDK record conversion is CPU-bound.
BULK_WRITE_MIN = 5000


# ------------------------------------------------------------------------------------ results


@dataclass
class WriteResult:
    """Outcome of a write: counts and one row per input record (in input order).

    ``records`` columns: row (input position or index label), id, status ("success", "error", or
    "unknown": the answer was lost and the record could not be read back), code, message, field
    (the field Zoho blamed), action (upserts: insert/update), resolution (how a lost answer was
    settled: "read back: applied", "read back: not applied; sent again", "unresolved").
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
        return int((self.records["status"] == "error").sum())

    @property
    def unknown(self) -> int:
        """Records whose answer was lost and which could not be read back."""
        return int((self.records["status"] == "unknown").sum())

    @property
    def resolved(self) -> int:
        """Records whose answer was lost and whose fate was settled by reading them back."""
        return int(self.records["resolution"].notna().sum() - (self.records["resolution"] == "unresolved").sum())

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.unknown == 0

    @property
    def failures(self) -> pd.DataFrame:
        return self.records[self.records["status"] != "success"]

    def __getitem__(self, key: str) -> Any:  # the seed guide's result["total"] keeps working
        if key in ("total", "succeeded", "failed", "unknown"):
            return getattr(self, key)
        raise KeyError(key)

    def __repr__(self) -> str:
        return (
            f"WriteResult({self.operation} {self.module}: total={self.total}, "
            f"succeeded={self.succeeded}, failed={self.failed}, unknown={self.unknown})"
        )

    def _repr_html_(self) -> str:
        return f"<p><b>{self!r}</b></p>" + self.records.to_html(max_rows=20)


_RESULT_DTYPES = {
    "row": "object",
    "id": "string",
    "status": "string",
    "code": "string",
    "message": "string",
    "field": "string",
    "action": "string",
    "resolution": "string",
}


def _result_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(_RESULT_DTYPES))
    return df.astype(_RESULT_DTYPES)


# ------------------------------------------------------------------------------------ connect


def connect(
    settings: Any = None,
    *,
    emulator: Any = None,
    token_store: Any = None,
    timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
    retries: int = 4,
    backoff: float = 0.5,
    env_file: str | None = ".env",
    **overrides: Any,
) -> ZohoClient:
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
        overrides = {
            "region": "local",
            "local_url": emulator.url,
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
            "refresh_token": emulator.refresh_token,
            "redirect_url": getattr(emulator, "redirect_url", None),
            **overrides,
        }
    if settings is None:
        base = ("client_id", "client_secret", "refresh_token")
        problems: dict[str, str] = {}
        try:
            settings = load_settings(env_file=env_file, require=base, **overrides)
        except ZohoConfigError as exc:
            problems.update(exc.problems)
        if (
            token_store is None
            and settings is not None
            and settings.region != "local"
            and settings.database_url is None
            and not settings.database_host
        ):
            problems["DATABASE_URL"] = (
                "missing (tokens for a real Zoho org are kept in PostgreSQL: set "
                "DATABASE_URL, or DATABASE_HOST and DATABASE_NAME)"
            )
        if problems:
            raise ZohoConfigError(problems)
    elif overrides:
        raise TypeError("give either settings= or keyword overrides, not both")
    return ZohoClient(
        settings, token_store=token_store, timeout=timeout, retry=RetryPolicy(attempts=retries + 1, base=backoff)
    )


# ------------------------------------------------------------------------------------ client


class ZohoClient:
    """Zoho CRM as typed DataFrames. Build it with :func:`connect`."""

    def __init__(
        self,
        settings: Any,
        *,
        token_store: Any = None,
        timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        sub_concurrency: int = DEFAULT_SUB_CONCURRENCY,
    ) -> None:
        _secrets.install_log_redaction()
        _secrets.register(*settings.secret_values())
        self.settings = settings
        self.endpoints = settings.endpoints()
        self.api_url = self.endpoints.api_url
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._metrics = Metrics()
        self._meta: dict[str, list[dict[str, Any]]] = {}
        # One governor for every thread of this client; pooled connections for as many calls.
        self.governor = Governor(concurrency, sub_concurrency)
        self._session = BoundedSession(timeout, pool_size=max(8, concurrency))
        self._store = token_store if token_store is not None else self._default_store()
        client_id = settings.client_id or ""
        self._sdk = SdkBinding(
            api_url=self.endpoints.api_url,
            accounts_url=self.endpoints.accounts_url,
            upload_url=self.endpoints.upload_url,
            client_id=client_id,
            client_secret=settings.client_secret.get_secret_value() if settings.client_secret else "",
            refresh_token=settings.refresh_token.get_secret_value() if settings.refresh_token else "",
            redirect_url=settings.redirect_url,
            store=self._store,
            session=self._session,
            resource_dir=resource_dir_for(self.endpoints.api_url, client_id),
            observer=self._seen,
        )
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
            return MemoryTokenStore()  # emulator only: connect() requires a database otherwise
        from sergas_nb.tokens import PostgresTokenStore, namespace_for

        return PostgresTokenStore(
            s.database_dsn(),
            namespace_for(self.endpoints.api_url, s.client_id or ""),
            token_url=self.endpoints.token_url,
            client_id=s.client_id,
            client_secret=s.client_secret,
            api_domain=self.endpoints.api_url,
            timeout=self.timeout[1] if isinstance(self.timeout, tuple) else self.timeout,
        )

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
            self._metrics.add(
                Event("token_refresh", "sdk", "ok" if seen.status == 200 else str(seen.status), seen.duration)
            )
        if seen.status == 429:
            self._metrics.add(Event("rate_limit", "sdk", "TOO_MANY_REQUESTS", seen.duration, detail=seen.url))

    def _store_refreshes(self) -> int:
        return int(getattr(self._store, "refreshes", 0) or 0)

    def _sync_store_refreshes(self) -> None:
        now = self._store_refreshes()
        for _ in range(now - self._refreshes_seen):
            self._metrics.add(Event("token_refresh", "token_store", "ok"))
        self._refreshes_seen = now

    def _event(
        self,
        kind: str,
        operation: str,
        status: str,
        start: float,
        *,
        records: int = 0,
        retries: int = 0,
        module: str | None = None,
        detail: str | None = None,
    ) -> None:
        self._metrics.add(Event(kind, operation, status, time.perf_counter() - start, records, retries, module, detail))

    def metrics(self) -> pd.DataFrame:
        """Every call (operation, status, duration s, records, retries), token refresh and rate-limit event."""
        self._sync_store_refreshes()
        df = self._metrics.frame()
        df.attrs["governor"] = self.governor.stats()
        return df

    # -- the call wrapper -------------------------------------------------------------------------
    def _call(
        self,
        operation: str,
        fn: Callable[[], T],
        *,
        idempotent: bool,
        module: str | None = None,
        count: Callable[[T], int] | None = None,
    ) -> T:
        """Run ``fn`` with retries, one refresh-and-retry on 401, metrics and logging."""
        start = time.perf_counter()
        retries = 0

        def on_retry(exc: BaseException, attempt: int, wait: float) -> None:
            if isinstance(exc, ZohoRateLimitError):
                self._metrics.add(
                    Event(
                        "rate_limit",
                        operation,
                        exc.code or "TOO_MANY_REQUESTS",
                        module=module,
                        detail=f"retrying in {wait:.2f}s",
                    )
                )
            log.warning("%s: %s; retry %d in %.2fs", operation, _secrets.redact(exc), attempt, wait)

        def attempt_all() -> T:
            nonlocal retries
            for refreshed in (False, True):
                try:
                    result, n = run(fn, idempotent=idempotent, policy=self.retry, on_retry=on_retry)
                except AuthFailure as exc:
                    if refreshed:
                        raise ZohoAuthError(
                            f"{exc.message} (still rejected after a token refresh)", code=exc.code, details=exc.details
                        ) from None
                    if exc.code not in ("INVALID_TOKEN", "AUTHENTICATION_FAILURE"):
                        raise ZohoAuthError(str(exc.message), code=exc.code, details=exc.details) from None
                    retries += 1
                    log.info("%s: access token rejected (%s); refreshing once", operation, exc.code)
                    # the token endpoint may be throttling: its 429/"Access Denied" is retried here too
                    _, waited = run(
                        lambda rejected=exc.rejected: self._sdk.force_refresh(rejected),  # type: ignore[misc]
                        idempotent=True,
                        policy=self.retry,
                        on_retry=on_retry,
                    )
                    retries += waited
                    self._metrics.add(Event("token_refresh", operation, "forced", module=module))
                    continue
                retries += n
                return result
            raise AssertionError("unreachable: the second attempt returns or raises")

        try:
            result = attempt_all()
        except ZohoError as exc:
            retries += int(getattr(exc, "retries_used", 0) or 0)
            self._sync_store_refreshes()
            if isinstance(exc, ZohoRateLimitError):
                self._metrics.add(
                    Event("rate_limit", operation, exc.code or "TOO_MANY_REQUESTS", module=module, detail="gave up")
                )
            self._event(
                "call", operation, _status(exc), start, retries=retries, module=module, detail=_secrets.redact(exc)
            )
            log.error("%s failed: %s", operation, _secrets.redact(exc))
            raise
        self._sync_store_refreshes()
        n = count(result) if count is not None else 0
        self._event("call", operation, "ok", start, records=n, retries=retries, module=module)
        log.debug("%s ok: %d records, %d retries", operation, n, retries)
        return result

    # -- fast read path -----------------------------------------------------------------------------
    def _http(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json_body: Any = None
    ) -> dict[str, Any] | None:
        """One HTTP exchange; the JSON body, or None for 204/304. Raises mapped errors."""
        resp, token = self._exchange(method, path, params, json_body)
        if resp.status_code == 200 and resp.content:
            try:  # orjson: several times faster than resp.json() on 2,000-row answers
                body = orjson.loads(resp.content)
            except orjson.JSONDecodeError:
                body = None
            if isinstance(body, dict):
                return body
        return parse_response(resp, f"{method} {path}", token)

    def _http_bytes(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json_body: Any = None
    ) -> bytes | None:
        """Like ``_http``, but a 200 answer's body is returned unparsed (large reads parse it one
        at a time: see _reads.py). None for 204/304; errors raise as in ``_http``."""
        resp, token = self._exchange(method, path, params, json_body, stream=True)
        try:
            if resp.status_code == 200:
                # One read of the whole body: requests' .content joins 10 KB pieces, and those
                # pieces, allocated in every worker thread, left each thread's heap at its peak.
                body = resp.raw.read(decode_content=True)
                if body:
                    return bytes(body)
            parse_response(resp, f"{method} {path}", token)
            return None
        except requests.exceptions.RequestException as exc:
            raise transport_error(exc, f"{method} {path}") from None
        finally:
            resp.close()

    def _exchange(
        self, method: str, path: str, params: Mapping[str, Any] | None, json_body: Any, *, stream: bool = False
    ) -> tuple[requests.Response, str]:
        """The request, inside one of the governor's slots; transport failures mapped."""
        token = self._sdk.access_token()
        url = self.api_url + path
        try:
            with self.governor.slot(sub=is_sub_call(method, path, params)):
                resp = self._session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    headers={"Authorization": f"Zoho-oauthtoken {token}"},
                    stream=stream,
                )
                self.governor.observe(resp)
        except requests.exceptions.RequestException as exc:
            raise transport_error(exc, f"{method} {path}") from None
        return resp, token

    def _get(
        self, operation: str, path: str, params: Mapping[str, Any] | None = None, module: str | None = None
    ) -> dict[str, Any] | None:
        return self._call(
            operation,
            lambda: self._http("GET", path, params=params),
            idempotent=True,
            module=module,
            count=lambda d: len(_rows(d)),
        )

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
        first = [
            "api_name",
            "field_label",
            "data_type",
            "json_type",
            "length",
            "read_only",
            "system_mandatory",
            "custom_field",
            "pick_list_values",
            "lookup",
        ]
        df = pd.DataFrame(meta)
        for col in first:
            if col not in df:
                df[col] = None
        df = df[first + [c for c in df.columns if c not in first]]
        dtypes = frames.dtypes_for(meta)
        df.insert(
            3,
            "dtype",
            [
                ", ".join(
                    f"{c}: {d}" if c != f["api_name"] else d
                    for c, d in dtypes.items()
                    if c == f["api_name"] or c.startswith(f["api_name"] + ".")
                )
                for f in meta
            ],
        )
        df.insert(4, "writable", [not frames.is_read_only(f) for f in meta])
        return df.astype({"api_name": "string", "field_label": "string", "data_type": "string", "dtype": "string"})

    def _resolve_fields(self, module: str, fields: Iterable[str] | None) -> list[str]:
        meta = frames.field_map(self._fields_meta(module))
        if fields is None:
            return list(meta)
        names = []
        unknown = []
        for f in [fields] if isinstance(fields, str) else fields:
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
    def records(
        self,
        module: str,
        fields: Iterable[str] | None = None,
        where: str | None = None,
        sort_by: str | None = None,
        sort_order: Literal["asc", "desc"] | None = None,
        limit: int | None = None,
        *,
        strategy: str = "auto",
        progress: bool | None = None,
        to_parquet: str | Path | None = None,
    ) -> Any:
        """Records of ``module`` as a typed DataFrame, all of them or the first ``limit``.

        ``fields``: API names (all fields when None; lookups become X.name/X.id[/X.email]).
        ``where``: a COQL condition, or Zoho search criteria (translated); see the module docstring.
        ``sort_by``: id, Created_Time or Modified_Time (Zoho's list API sorts by these only).
        ``strategy``: "auto" (default), "pages", "coql_partitions" or "bulk_read" (see
        sergas_nb/_reads.py); every strategy gives the same rows and dtypes. The choice and why
        are logged and in ``metrics()`` (kind ``read_strategy``).
        ``progress``: a progress bar (None: for reads of 5,000 records or more; False: never).
        ``to_parquet``: a path: the chunks are written there as they arrive and the path is
        returned instead of a frame, for pulls that should not sit in memory.
        """
        from sergas_nb import _related
        from sergas_nb._reads import Read

        fields, dotted = _related.split_dotted(self, module, fields)  # Account_Name.Industry: joined after
        if dotted and to_parquet is not None:
            raise ZohoValidationError(
                [Problem("fields", "dotted lookup fields cannot stream to_parquet", None, dotted)]
            )
        names = self._resolve_fields(module, fields)
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        read = Read(
            self,
            module,
            names,
            where=where,
            sort_by=sort_by,
            sort_order=sort_order,
            limit=limit,
            progress=progress,
            to_parquet=to_parquet,
        )
        frame = read.run(strategy)
        return _related.lookup_columns(self, module, frame, dotted) if dotted else frame

    # -- account 360 (sergas_nb/_related.py) ------------------------------------------------------
    def related(
        self, module: str, id: str | int, related_list: str, fields: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """One related list of one record (``crm.related("Accounts", id, "Deals")``) as a typed frame,
        columns as ``records()`` gives for the child module; Activities / Activities_History as
        ``activities()`` types them. Related-list names: ``crm.request("GET",
        "/crm/v8/settings/related_lists", params={"module": module})``."""
        from sergas_nb import _related

        return _related.related(self, module, id, related_list, fields)

    def activities(self, module: str, id: str | int, fields: Iterable[str] | None = None) -> pd.DataFrame:
        """Tasks, Events and Calls of one record in one frame: ``type`` (the module), ``subject``,
        ``when`` (UTC), then each module's fields (NA where a module has no such field)."""
        from sergas_nb import _related

        return _related.activities(self, module, id, fields)

    @staticmethod
    def subform(frame: pd.DataFrame, field: str) -> pd.DataFrame:
        """The rows of subform ``field`` of a frame read by ``records()``, keyed by ``parent_id``."""
        from sergas_nb import _related

        return _related.subform(frame, field)

    def _list_wide(
        self,
        module: str,
        names: list[str],
        sort_by: str | None,
        sort_order: str | None,
        limit: int | None,
        **page_args: Any,
    ) -> list[dict[str, Any]]:
        """``_list`` for any number of fields: Zoho lists at most 50 a call, so wider reads go in
        chunks, joined on id in the order of the first."""
        chunks = _field_chunks(names)
        rows = self._list(module, chunks[0], sort_by, sort_order, limit, **page_args)
        if len(chunks) > 1:
            by_id = {r["id"]: dict(r) for r in rows}
            for chunk in chunks[1:]:
                for r in self._list(module, chunk, sort_by, sort_order, limit, **page_args):
                    if r["id"] in by_id:
                        by_id[r["id"]].update(r)
            rows = [by_id[r["id"]] for r in rows]
        return rows

    def _list(
        self,
        module: str,
        names: list[str],
        sort_by: str | None,
        sort_order: str | None,
        limit: int | None,
        first_page: int = 1,
        per_page: int | None = None,
        operation: str = "records",
    ) -> list[dict[str, Any]]:
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
            data = self._get(operation, f"/crm/v8/{module}", q, module)
            batch = _rows(data)
            rows.extend(batch)
            if not batch or not _more(data) or (limit is not None and len(rows) >= limit):
                break
            # The next page would reach past record 2,000 (per_page need not divide it): use its token.
            if token is not None or (page + 1) * per_page > PAGE_LIMIT:
                token = ((data or {}).get("info") or {}).get("next_page_token")
                if not token:
                    raise ZohoAPIError(
                        f"{module}: more records, but no next_page_token to reach them",
                        code="MALFORMED_RESPONSE",
                        status=200,
                    )
            else:
                page += 1
        return rows[:limit] if limit is not None else rows

    def _ids_where(
        self, module: str, where: str, sort_by: str | None, sort_order: str | None, limit: int | None
    ) -> list[str]:
        condition = criteria_to_coql(where, frames.field_map(self._fields_meta(module)))
        query = f"select id from {module} where ({condition}) order by {sort_by or 'id'} {sort_order or 'asc'}"
        return [str(r["id"]) for r in self._coql_rows(query, module, limit)]

    def _coql_rows(self, query: str, module: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Every row of a COQL query without LIMIT (or the first ``limit``): 2,000 a call, by offset."""
        rows: list[dict[str, Any]] = []
        while limit is None or len(rows) < limit:
            n = COQL_LIMIT if limit is None else min(COQL_LIMIT, limit - len(rows))
            data = self._coql_call(f"{query.rstrip().rstrip(';')} limit {n} offset {len(rows)}", module)
            batch = _rows(data)
            rows.extend(batch)
            if not batch or not _more(data):
                break
            if len(rows) >= COQL_OFFSET_LIMIT:
                raise ZohoAPIError(
                    f"more than {COQL_OFFSET_LIMIT} matches: COQL cannot page further; narrow the condition",
                    code="LIMIT_REACHED",
                    status=None,
                )
        return rows

    def record(self, module: str, id: str | int) -> dict[str, Any]:
        """One record as a dict with the same keys and types as a row of ``records()``."""
        rid = str(id)
        meta = self._fields_meta(module)
        rows = _rows(self._get("record", f"/crm/v8/{module}/{rid}", None, module))
        if not rows:
            raise ZohoAPIError(f"{module} record {rid} not found", code="RECORD_NOT_FOUND", status=204)
        return frames.to_frame(rows[:1], meta).iloc[0].to_dict()

    def search(
        self,
        module: str,
        criteria: str | None = None,
        *,
        email: str | None = None,
        phone: str | None = None,
        word: str | None = None,
        fields: Iterable[str] | None = None,
        limit: int = SEARCH_LIMIT,
    ) -> pd.DataFrame:
        """Zoho search (criteria ``(Field:operator:value)``, or email / phone / word).

        Zoho's search reaches the first 2,000 matches only, and may miss just-written records;
        ``records(module, where=...)`` has neither limit.
        """
        given = {
            k: v
            for k, v in (("criteria", criteria), ("email", email), ("phone", phone), ("word", word))
            if v is not None
        }
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
            batch = _rows(data)
            rows.extend(batch)
            if not batch or not _more(data):
                break
            if page * per_page >= SEARCH_LIMIT:
                log.warning(
                    "search on %s stopped at Zoho's %d-match limit; use records(where=...) for all",
                    module,
                    SEARCH_LIMIT,
                )
                break
            page += 1
        return frames.to_frame(rows[:limit], meta, names)

    def coql(self, query: str) -> pd.DataFrame:
        """A COQL SELECT as a typed DataFrame. Without a LIMIT in the query, all rows are fetched
        (2,000 a call, through offsets up to 100,000); with one, the query runs as written.

        Aggregates (``select Industry, SUM(Annual_Revenue) ... group by Industry``) give one column
        per select item, no ``id``: counts Int64, sums and averages Float64, grouped fields and
        MIN/MAX typed like their field, named by alias or as written (``SUM(Annual_Revenue)``)."""
        module, selected = coql_shape(query)
        meta = self._fields_meta(module)
        rows = _rows(self._coql_call(query, module)) if has_limit(query) else self._coql_rows(query, module)
        aggregate = aggregate_select(query)
        if aggregate is not None:
            return aggregate_frame(rows, aggregate, meta)
        return frames.to_frame(rows, meta, selected)

    def _coql_call(self, query: str, module: str | None) -> dict[str, Any] | None:
        return self._call(
            "coql",
            lambda: self._http("POST", "/crm/v8/coql", json_body={"select_query": query}),
            idempotent=True,
            module=module,
            count=lambda d: len(_rows(d)),
        )

    def count(self, module: str, where: str | None = None) -> int:
        """Number of records in ``module`` (matching ``where``, a COQL condition or search criteria)."""
        if where:
            return len(self._ids_where(module, where, None, None, None))
        data = self._get("count", f"/crm/v8/{module}/actions/count", None, module)
        if not data or "count" not in data:
            raise ZohoAPIError(f"{module}: the count answer had no count", code="MALFORMED_RESPONSE", status=200)
        return int(data["count"])

    # -- generic writes -------------------------------------------------------------------------------
    def insert(
        self,
        module: str,
        data: pd.DataFrame | Sequence[Mapping[str, Any]],
        *,
        key: str | None = None,
        na: Literal["clear", "skip"] = "clear",
        trigger: list[str] | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
        progress: bool = True,
    ) -> WriteResult:
        """Create records; WriteResult.records has each new id (or the reason it failed).

        ``key``: a field whose value is unique per row (an external id, the account name). When an
        answer is lost, the records are looked up by it: created ones get their ids, the others are
        sent again, and no twin is made. Without it such records are reported ``unknown``.
        """
        return self._write(
            module, "insert", data, na=na, trigger=trigger, key=key, max_in_flight=max_in_flight, progress=progress
        )

    def update(
        self,
        module: str,
        data: pd.DataFrame | Sequence[Mapping[str, Any]],
        *,
        na: Literal["clear", "skip"] = "clear",
        trigger: list[str] | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
        progress: bool = True,
        method: Literal["auto", "batches", "bulk_write"] = "auto",
    ) -> WriteResult:
        """Update records by ``id`` (a frame as read, edited, or dicts). NA clears a field
        (``na="skip"`` leaves it); leave a column out to leave the field alone. Batches whose
        answer was lost are read back: applied records are successes, the others are sent again.

        ``method``: ``"batches"`` (100 a call, ``max_in_flight`` at once), ``"bulk_write"`` (one
        Bulk Write job: upload, job, per-row result file) or ``"auto"``: Bulk Write from
        ``BULK_WRITE_MIN`` records when no ``trigger`` is asked for, batches otherwise. If a job
        does not finish or its answer is lost, its records are read back and only those not
        applied go again in batches. The outcome table is the same either way."""
        if method not in ("auto", "batches", "bulk_write"):
            raise ZohoValidationError([Problem("method", "must be auto, batches or bulk_write", None, method)])
        return self._write(
            module,
            "update",
            data,
            na=na,
            trigger=trigger,
            max_in_flight=max_in_flight,
            progress=progress,
            method=method,
        )

    def upsert(
        self,
        module: str,
        data: pd.DataFrame | Sequence[Mapping[str, Any]],
        *,
        duplicate_check_fields: list[str] | None = None,
        na: Literal["clear", "skip"] = "clear",
        trigger: list[str] | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
        progress: bool = True,
    ) -> WriteResult:
        """Insert or update, matched on ``duplicate_check_fields`` (Zoho's default per module).
        A batch whose answer was lost is sent again: the match makes that safe."""
        return self._write(
            module,
            "upsert",
            data,
            na=na,
            trigger=trigger,
            duplicate_check_fields=duplicate_check_fields,
            max_in_flight=max_in_flight,
            progress=progress,
        )

    def bulk_write(
        self,
        module: str,
        data: pd.DataFrame | Sequence[Mapping[str, Any]],
        operation: Literal["insert", "update", "upsert"] = "update",
        *,
        find_by: str | None = None,
        na: Literal["clear", "skip"] = "clear",
    ) -> WriteResult:
        """Insert, update or upsert through Zoho's Bulk Write jobs (upload, job, per-row result
        file): for large edits. Checked like ``update()`` before anything is sent; the same
        per-record outcome table. See sergas_nb/_bulk_api.py."""
        from sergas_nb._bulk_api import bulk_write

        return bulk_write(self, module, data, operation, find_by=find_by, na=na)

    def delete(
        self,
        module: str,
        ids: Iterable[str | int] | pd.Series,
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
        progress: bool = True,
    ) -> WriteResult:
        """Delete records by id (100 a call); one outcome per id."""
        if ids is None:
            raise ZohoValidationError([Problem("ids", "give the ids to delete, not None")])
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
        _check_in_flight(max_in_flight)
        fates = write_all(
            clean,
            self._sender("delete", module, lambda part: self._sdk.delete(module, part)),
            resolve=resolve_deletes(self, module),
            ids=clean,
            max_in_flight=max_in_flight,
            wait=max(1.0, self.retry.base),
            progress=progress,
            label=f"delete {module}",
        )
        return self._result("delete", module, list(range(len(clean))), fates)

    def _write(
        self,
        module: str,
        operation: Literal["insert", "update", "upsert"],
        data: Any,
        *,
        na: Literal["clear", "skip"],
        trigger: list[str] | None,
        duplicate_check_fields: list[str] | None = None,
        key: str | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
        progress: bool = True,
        method: Literal["auto", "batches", "bulk_write"] = "batches",
    ) -> WriteResult:
        data = _check_write_input(data, operation)
        _check_in_flight(max_in_flight)
        meta = self._fields_meta(module)
        fmap = frames.field_map(meta)
        payload = frames.to_payload(data, meta, operation, na=na)  # raises before anything is sent
        frames.check_write_payload(payload, fmap, operation, key=key, duplicate_check_fields=duplicate_check_fields)
        labels = list(data.index) if isinstance(data, pd.DataFrame) else list(range(len(payload)))
        if operation == "update" and self._by_bulk_write(method, payload, trigger):
            return self._result(operation, module, labels, self._update_by_bulk_write(module, payload, fmap, labels))
        return self._result(
            operation,
            module,
            labels,
            self._write_batches(
                module, operation, payload, fmap, trigger, duplicate_check_fields, key, max_in_flight, progress
            ),
        )

    def _by_bulk_write(self, method: str, payload: Sequence[Mapping[str, Any]], trigger: list[str] | None) -> bool:
        from sergas_nb._bulk_api import unsuitable

        blocker = unsuitable(payload)
        if method == "bulk_write":
            if blocker:
                raise ZohoValidationError([Problem("method", blocker)])
            if trigger is not None:
                raise ZohoValidationError([Problem("trigger", "Bulk Write jobs take no trigger: use method='batches'")])
            return bool(payload)
        if method == "auto" and len(payload) >= BULK_WRITE_MIN and trigger is None and not blocker:
            log.info("update of %d records: one Bulk Write job (from %d records)", len(payload), BULK_WRITE_MIN)
            return True
        return False

    def _update_by_bulk_write(
        self,
        module: str,
        payload: list[dict[str, Any]],
        fmap: Mapping[str, Mapping[str, Any]],
        labels: Sequence[Any],
    ) -> list[dict[str, Any]]:
        """Updates through Bulk Write; when the job's outcome is lost, the CRM decides what was applied."""
        from sergas_nb._bulk_api import write_payload

        start = time.perf_counter()
        try:
            rows = write_payload(self, module, "update", payload, fmap, labels)
        except ZohoValidationError:
            raise
        except ZohoError as exc:
            log.warning(
                "Bulk Write of %d %s records did not finish (%s): reading them back", len(payload), module, exc.message
            )
            try:
                verdicts: list[Verdict | None] = list(resolve_updates(self, module)(payload))
            except ZohoValidationError:
                raise
            except ZohoError as unread:  # the CRM cannot say now: every record stays unknown
                log.warning("reading the %d records back failed too: %s", len(payload), unread.message)
                verdicts = [None] * len(payload)
            fates: list[dict[str, Any] | None] = [None] * len(payload)
            rest: list[int] = []
            for pos, verdict in enumerate(verdicts):
                rid = str(payload[pos]["id"])
                if verdict is None:
                    fates[pos] = fate(
                        "unknown",
                        rid,
                        getattr(exc, "code", None) or "UNKNOWN",
                        f"the Bulk Write job may or may not have applied this record ({exc.message});"
                        " it could not be read back",
                        resolution="unresolved",
                    )
                elif verdict.applied:
                    fates[pos] = fate(
                        "success",
                        rid,
                        "SUCCESS",
                        "record updated",
                        resolution="applied by the Bulk Write job (read back)",
                    )
                else:
                    rest.append(pos)
            if rest:
                again = self._write_batches(
                    module, "update", [payload[p] for p in rest], fmap, None, None, None, MAX_IN_FLIGHT, False
                )
                for pos, sent in zip(rest, again, strict=True):
                    fates[pos] = sent
            self._event(
                "write_method",
                "update",
                "bulk_write",
                start,
                records=len(payload),
                module=module,
                detail=f"job unfinished; {len(payload) - len(rest)} read back as applied, {len(rest)} sent in batches",
            )
            return [f for f in fates if f is not None]
        self._event("write_method", "update", "bulk_write", start, records=len(payload), module=module)
        return [{**{k: v for k, v in row.items() if k != "row"}, "resolution": None} for row in rows]

    def _write_batches(
        self,
        module: str,
        operation: Literal["insert", "update", "upsert"],
        payload: list[dict[str, Any]],
        fmap: Mapping[str, Mapping[str, Any]],
        trigger: list[str] | None,
        duplicate_check_fields: list[str] | None,
        key: str | None,
        max_in_flight: int,
        progress: bool,
    ) -> list[dict[str, Any]]:
        resolve: Resolver | None
        if operation == "update":
            resolve = resolve_updates(self, module)
        elif operation == "upsert":
            resolve = resolve_by_resending
        else:
            resolve = resolve_inserts(self, module, key) if key else None
        fates = write_all(
            payload,
            self._sender(
                operation,
                module,
                lambda part: self._sdk.write(
                    module, operation, part, fmap, trigger=trigger, duplicate_check_fields=duplicate_check_fields
                ),
            ),
            resolve=resolve,
            ids=[r.get("id") for r in payload],
            max_in_flight=max_in_flight,
            wait=max(1.0, self.retry.base),
            progress=progress,
            label=f"{operation} {module}",
        )
        return fates

    def _sender(
        self, operation: str, module: str, send: Callable[[Sequence[Any]], list[Outcome]]
    ) -> Callable[[list[Any]], list[Outcome]]:
        """One batch through the call wrapper: retried only where surely not applied (429, not sent).
        Each attempt holds one of the governor's slots (Zoho counts writes of more than 10 records
        against the sub-concurrency), so parallel batches share the org's limits with reads."""

        def governed(part: Sequence[Any]) -> list[Outcome]:
            with self.governor.slot(sub=len(part) > 10):
                try:
                    outcomes = send(part)
                except ZohoRateLimitError:
                    self.governor.throttled()
                    raise
            self.governor.succeeded()
            return outcomes

        return lambda part: self._call(operation, lambda: governed(part), idempotent=False, module=module, count=len)

    def _result(self, operation: str, module: str, labels: Sequence[Any], fates: list[dict[str, Any]]) -> WriteResult:
        result = WriteResult(
            operation, module, _result_frame([{"row": lab, **f} for lab, f in zip(labels, fates, strict=True)])
        )
        if result.failed or result.unknown:
            log.warning(
                "%s %s: %d of %d records failed, %d unknown",
                operation,
                module,
                result.failed,
                result.total,
                result.unknown,
            )
        return result

    # -- the seed guide's Accounts methods ----------------------------------------------------------
    def get_accounts(
        self,
        limit: int = 200,
        page: int = 1,
        sort_by: str | None = None,
        sort_order: Literal["asc", "desc"] | None = None,
        fields: Iterable[str] | None = None,
    ) -> pd.DataFrame:
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
            rows = self._list_wide(
                ACCOUNTS, names, sort_by, sort_order, limit, first_page=page, per_page=limit, operation="get_accounts"
            )
        else:  # past 2,000 a page number is not accepted: walk page tokens to it
            rows = self._list_wide(ACCOUNTS, names, sort_by, sort_order, page * limit, per_page=limit)[
                (page - 1) * limit :
            ]
        return frames.to_frame(rows, meta, names)

    def get_account(self, account_id: str | int) -> dict[str, Any]:
        """One account as a dict (same keys and types as a ``get_accounts`` row)."""
        return self.record(ACCOUNTS, account_id)

    def update_account(self, account_id: str | int, field_data: Mapping[str, Any]) -> dict[str, Any]:
        """Update one account; returns the record as stored after the update. Raises on failure."""
        result = self.update(ACCOUNTS, [{**dict(field_data), "id": str(account_id)}], na="clear")
        row = result.records.iloc[0]
        if row["status"] != "success":
            raise ZohoAPIError(
                f"Account {account_id} was not updated: {row['message']}"
                + (f" (field {row['field']})" if not pd.isna(row["field"]) else ""),
                code=None if pd.isna(row["code"]) else str(row["code"]),
                status=None,
                details={"field": None if pd.isna(row["field"]) else row["field"]},
            )
        return self.get_account(account_id)

    def bulk_update_accounts(self, records: pd.DataFrame | Sequence[Mapping[str, Any]]) -> WriteResult:
        """Update many accounts (each with ``id``) in batches of 100; one outcome per record."""
        return self.update(ACCOUNTS, records)

    def search_accounts(self, criteria: str, limit: int = 200) -> pd.DataFrame:
        """Accounts matching search criteria ``(Field:operator:value)`` (first 2,000 at most)."""
        return self.search(ACCOUNTS, criteria=criteria, limit=limit)

    def bulk_read_accounts(
        self,
        criteria: str | None = None,
        fields: Iterable[str] | None = None,
        *,
        strategy: str = "auto",
        progress: bool | None = None,
        to_parquet: str | Path | None = None,
    ) -> Any:
        """ALL matching accounts (``criteria``: a COQL condition or search criteria): parallel COQL
        partitions, pages, or Zoho's Bulk Read job (``strategy="bulk_read"``); see ``records``."""
        return self.records(
            ACCOUNTS, fields=fields, where=criteria, strategy=strategy, progress=progress, to_parquet=to_parquet
        )

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
            rows.append(
                {"check": name, "status": status, "latency_ms": (time.perf_counter() - start) * 1000, "detail": detail}
            )

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

    # -- Tier 3: plain REST for what the client does not wrap (logic in _rest.py) -----------------------
    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        *,
        retry: bool | None = None,
    ) -> dict[str, Any]:
        """Call any CRM endpoint on the configured API host; the parsed JSON answer (``{}`` for 204).

        Same token, timeouts, metrics and 401 refresh as every other call; retried on 429/5xx only
        when safe (``retry=None``: GET only; pass ``retry=True`` for a read sent as POST, e.g. COQL).
        ``path`` starts with ``/`` (an absolute URL must name the API host). Errors are ZohoAPIError.

            crm.request("GET", "/crm/v8/users", params={"type": "AllUsers"})["users"]
        """
        from sergas_nb import _rest

        return _rest.request(self, method, path, params, json, retry=retry)

    def paginate(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        key: str | None = "data",
        per_page: int = PER_PAGE,
        max_records: int | None = None,
        pages: bool = False,
    ) -> Iterator[Any]:
        """GET ``path`` page by page (page tokens past record 2,000): its rows, or whole pages."""
        from sergas_nb import _rest

        return _rest.paginate(self, path, params, key=key, per_page=per_page, max_records=max_records, pages=pages)

    def records_by_ids(
        self, module: str, ids: Iterable[str | int], fields: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """These records as a typed frame (same columns as ``records()``), in the order given; ids not
        found are left out (compare the ids to tell)."""
        problems, clean = [], []
        for pos, i in enumerate(ids):
            try:
                clean.append(frames._check_id(i))
            except frames._Bad as bad:
                problems.append(Problem("id", str(bad), pos, i))
        if problems:
            raise ZohoValidationError(problems)
        from sergas_nb._reads import Read

        read = Read(self, module, self._resolve_fields(module, fields), operation="records_by_ids")
        return read.by_ids(list(dict.fromkeys(clean)))


class _Skip(Exception):
    pass


# ------------------------------------------------------------------------------------ helpers


def _status(exc: BaseException) -> str:
    return str(getattr(exc, "code", None) or type(exc).__name__)


def _check_write_input(data: Any, operation: str) -> pd.DataFrame | list[Mapping[str, Any]]:
    """The records of a write, or a clear error for input that is not records."""
    if data is None:
        raise ZohoValidationError([Problem(None, f"{operation}: give a DataFrame or a list of dicts, not None")])
    if isinstance(data, Mapping):
        return [data]
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise ZohoValidationError(
            [Problem(None, f"{operation}: give a DataFrame or a list of dicts, not {type(data).__name__}")]
        )
    return list(data)


def _check_in_flight(max_in_flight: int) -> None:
    if not isinstance(max_in_flight, int) or isinstance(max_in_flight, bool) or not 1 <= max_in_flight <= MAX_IN_FLIGHT:
        raise ZohoValidationError(
            [Problem("max_in_flight", f"must be an integer from 1 to {MAX_IN_FLIGHT}", None, max_in_flight)]
        )


def _rows(data: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The records of an answer (none for 204 / no ``data``)."""
    return (data or {}).get("data") or []


__all__ = ["connect", "ZohoClient", "WriteResult", "criteria_to_coql"]
