"""The request pipeline under the client: every CRM call of a ``ZohoClient`` goes through one
:class:`Pipeline`, in the spirit of stripe-python's ``_APIRequestor`` and httpx's transport.

It owns the session (keep-alive, timeouts), the governor (Zoho's concurrency limits), the retry
policy, token deaths (a 401 is sent again with the dead token's replacement), the metrics, the SDK
binding (tokens, SDK writes) and the endpoints (API, accounts, content upload and download hosts).
Readers, writers, the Bulk APIs and plain REST (``_reads``, ``_writes``, ``_bulk_api``, ``_rest``)
take a pipeline and a ``_fields.FieldMeta``; nothing here knows the client.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import orjson
import pandas as pd
import requests

from sergas_nb import _secrets
from sergas_nb._governor import DEFAULT_CONCURRENCY, DEFAULT_SUB_CONCURRENCY, Governor, is_sub_call
from sergas_nb._http import (
    DEFAULT_TIMEOUT,
    AuthFailure,
    Body,
    BoundedSession,
    Seen,
    parse_response,
    read_body,
    transport_error,
)
from sergas_nb._metrics import ContextExecutor, Event, Metrics, saw_answer
from sergas_nb._paging import data_rows
from sergas_nb._retry import RetryPolicy, run
from sergas_nb._sdk import MemoryTokenStore, SdkBinding, resource_dir_for
from sergas_nb._token_deaths import TokenDeaths
from sergas_nb.errors import ZohoAuthError, ZohoError, ZohoOutcomeUnknownError, ZohoRateLimitError

log = logging.getLogger("sergas_nb.client")
T = TypeVar("T")
# Rejections of tokens refreshed after the call began that end it. Three, not two: when deaths
# come close together (another process refreshing in a loop), a fresh token can die out of band
# before any answer carrying it has reached us, and under load that happened to one batch of a
# 4,999-record update twice in a row, which failed the run's remaining 2,799 records.
FINAL_FRESH_REJECTIONS = 3
MAX_TOKEN_DEATHS = 8  # token deaths one call survives in all


def status_of(exc: BaseException) -> str:
    """The status a failed call is recorded with: Zoho's code, else the exception's type."""
    return str(getattr(exc, "code", None) or type(exc).__name__)


class Pipeline:
    """Session, governor, retries, token refresh, metrics, SDK binding and endpoints of one client."""

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
        self.metrics = Metrics()
        # One governor for every thread of this client; pooled connections for as many calls.
        self.governor = Governor(concurrency, sub_concurrency)
        self.session = BoundedSession(timeout, pool_size=max(8, concurrency))
        self.store = token_store if token_store is not None else self._default_store()
        self._org_id: str | None = None
        client_id = settings.client_id or ""
        self.sdk = SdkBinding(
            api_url=self.endpoints.api_url,
            accounts_url=self.endpoints.accounts_url,
            upload_url=self.endpoints.content_url,
            client_id=client_id,
            client_secret=settings.client_secret.get_secret_value() if settings.client_secret else "",
            refresh_token=settings.refresh_token.get_secret_value() if settings.refresh_token else "",
            redirect_url=settings.redirect_url,
            store=self.store,
            session=self.session,
            resource_dir=resource_dir_for(self.endpoints.api_url, client_id),
            observer=self._seen,
        )
        self._refreshes_seen = self._store_refreshes()
        self.deaths = TokenDeaths(self.sdk.force_refresh)
        self._workers: ThreadPoolExecutor | None = None
        self._writers: ThreadPoolExecutor | None = None
        self._workers_lock = threading.Lock()

    def start(self) -> None:
        """Initialise the SDK (tokens checked); recorded as the ``connect`` call."""
        start = time.perf_counter()
        try:
            self.sdk.start()
        except ZohoError as exc:
            self.event("call", "connect", status_of(exc), start, detail=str(exc))
            raise
        self.event("call", "connect", "ok", start)
        log.info("connected to %s (%s)", self.api_url, type(self.store).__name__)

    def _default_store(self) -> Any:
        s = self.settings
        if s.database_url is None and not s.database_host:
            return MemoryTokenStore()  # emulator only: connect() requires a database otherwise
        from sergas_nb.tokens import PostgresTokenStore, token_namespace

        return PostgresTokenStore(
            s.database_dsn(),
            token_namespace(self.endpoints.api_url, s.client_id or ""),
            token_url=self.endpoints.token_url,
            client_id=s.client_id,
            client_secret=s.client_secret,
            api_domain=self.endpoints.api_url,
            timeout=self.timeout[1] if isinstance(self.timeout, tuple) else self.timeout,
        )

    def workers(self) -> ThreadPoolExecutor:
        """The threads parallel reads run their calls in, kept for the client's life: starting a
        dozen threads per read cost a tenth of a second on a busy machine. Tasks never wait on
        other tasks of this pool (only the reading thread waits), so reads can share it."""
        with self._workers_lock:
            if self._workers is None:
                size = max(12, self.governor.concurrency)
                self._workers = ContextExecutor(size, thread_name_prefix="sergas-read")
            return self._workers

    def writers(self, size: int) -> ThreadPoolExecutor:
        """The threads batch writes send from, kept for the client's life like ``workers``
        (starting ten threads per write cost 0.05-0.1 s on a loaded machine, before the first
        batch left). Apart from the readers' pool: a write's batches never queue behind a read's
        pages. ``size``: the writes' in-flight limit (the pool holds that many threads)."""
        with self._workers_lock:
            if self._writers is None:
                self._writers = ContextExecutor(size, thread_name_prefix="sergas-write")
            return self._writers

    def close(self) -> None:
        with self._workers_lock:
            workers, self._workers = self._workers, None
            writers, self._writers = self._writers, None
        if writers is not None:
            writers.shutdown(wait=False, cancel_futures=True)
        if workers is not None:
            workers.shutdown(wait=False, cancel_futures=True)
        self.session.close()
        closer = getattr(self.store, "close", None)
        if callable(closer):
            closer()

    # -- metrics ----------------------------------------------------------------------------------
    def _seen(self, seen: Seen) -> None:
        """Observer of the SDK's HTTP (through the shim): token requests and rate limits."""
        if seen.method == "POST" and seen.url.startswith(self.sdk.token_url):
            self.metrics.add(
                Event("token_refresh", "sdk", "ok" if seen.status == 200 else str(seen.status), seen.duration)
            )
        elif seen.status is not None and seen.status != 401:
            sent = self.sdk.sent_token()  # this thread's request: the observer runs where it was sent
            if sent is not None:
                self.deaths.worked(sent)
        if seen.status == 429:
            self.metrics.add(Event("rate_limit", "sdk", "TOO_MANY_REQUESTS", seen.duration, detail=seen.url))

    def _store_refreshes(self) -> int:
        return int(getattr(self.store, "refreshes", 0) or 0)

    def sync_store_refreshes(self) -> None:
        now = self._store_refreshes()
        for _ in range(now - self._refreshes_seen):
            self.metrics.add(Event("token_refresh", "token_store", "ok"))
        self._refreshes_seen = now

    def event(
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
        self.metrics.add(Event(kind, operation, status, time.perf_counter() - start, records, retries, module, detail))

    def metrics_frame(self) -> pd.DataFrame:
        self.sync_store_refreshes()
        df = self.metrics.frame()
        df.attrs["governor"] = self.governor.stats()
        return df

    # -- the call wrapper -------------------------------------------------------------------------
    def call(
        self,
        operation: str,
        fn: Callable[[], T],
        *,
        idempotent: bool,
        module: str | None = None,
        count: Callable[[T], int] | None = None,
        speculative: bool = False,
    ) -> T:
        """Run ``fn`` with retries, token deaths survived, metrics and logging.

        ``speculative``: a call whose answer may be dropped unread (a read's first pages, sent
        before the field names are checked): its failure is logged at DEBUG; the caller that
        does use its answer logs the failure it then raises.

        A 401 INVALID_TOKEN is a dead token, and nothing was applied: the call is sent again with
        the token that replaces it (one refresh per dead token across threads: ``_token_deaths``).
        Final only when Zoho rejects tokens refreshed after this call's request was sent, before
        they ever worked, three times: such deaths are survivable (tokens die out of band at any
        moment, and close together), a third means Zoho refuses fresh tokens. A token that worked and then died is
        always survived; ``MAX_TOKEN_DEATHS`` bounds those."""
        start = time.perf_counter()
        retries = 0

        def on_retry(exc: BaseException, attempt: int, wait: float) -> None:
            if isinstance(exc, ZohoRateLimitError):
                self.metrics.add(
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
            # Refreshes counted from here: a token they made was refreshed after this call's
            # request was sent, so its rejection is not an older token's death.
            began = self.deaths.generation
            fresh_rejections = 0
            for death in range(MAX_TOKEN_DEATHS + 1):
                try:
                    result, n = run(fn, idempotent=idempotent, policy=self.retry, on_retry=on_retry)
                except AuthFailure as exc:
                    if exc.code not in ("INVALID_TOKEN", "AUTHENTICATION_FAILURE"):
                        raise ZohoAuthError(str(exc.message), code=exc.code, details=exc.details) from None
                    dead = exc.rejected or self.sdk.access_token()
                    if self.deaths.fresh_since(dead, began):
                        fresh_rejections += 1
                    if fresh_rejections >= FINAL_FRESH_REJECTIONS or death == MAX_TOKEN_DEATHS:
                        raise ZohoAuthError(
                            f"{exc.message} (still rejected after a token refresh)", code=exc.code, details=exc.details
                        ) from None
                    retries += 1
                    log.info("%s: access token rejected (%s); sending again with its replacement", operation, exc.code)
                    # the token endpoint may be throttling: its 429/"Access Denied" is retried here too
                    (_, led), waited = run(
                        lambda dead=dead: self.deaths.replace(dead),  # type: ignore[misc]
                        idempotent=True,
                        policy=self.retry,
                        on_retry=on_retry,
                    )
                    retries += waited
                    if led:
                        self.metrics.add(Event("token_refresh", operation, "forced", module=module))
                    continue
                retries += n
                return result
            raise AssertionError("unreachable: the last attempt returns or raises")

        try:
            result = attempt_all()
        except ZohoError as exc:
            retries += int(getattr(exc, "retries_used", 0) or 0)
            self.sync_store_refreshes()
            if isinstance(exc, ZohoRateLimitError):
                self.metrics.add(
                    Event("rate_limit", operation, exc.code or "TOO_MANY_REQUESTS", module=module, detail="gave up")
                )
            self.event(
                "call", operation, status_of(exc), start, retries=retries, module=module, detail=_secrets.redact(exc)
            )
            log.log(logging.DEBUG if speculative else logging.ERROR, "%s failed: %s", operation, _secrets.redact(exc))
            raise
        self.sync_store_refreshes()
        n = count(result) if count is not None else 0
        self.event("call", operation, "ok", start, records=n, retries=retries, module=module)
        log.debug("%s ok: %d records, %d retries", operation, n, retries)
        return result

    # -- one authorised exchange ------------------------------------------------------------------
    def exchange(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        sub: bool = False,
        stream: bool = False,
        headers: Mapping[str, str] | None = None,
        doing: str | None = None,
        **kw: Any,
    ) -> tuple[requests.Response, str]:
        """The request with the access token, inside one of the governor's slots (``sub``: a
        sub-concurrency call); transport failures mapped. Every CRM call's bytes pass here."""
        token = self.sdk.access_token()
        try:
            with self.governor.slot(sub=sub):
                resp = self.session.request(
                    method,
                    url,
                    params=params,
                    # the token goes last: a caller's headers never replace the client's own Authorization
                    headers={**(headers or {}), "Authorization": f"Zoho-oauthtoken {token}"},
                    stream=stream,
                    **kw,
                )
                self.governor.observe(resp)
            saw_answer(resp.headers.get("Date"))
        except requests.exceptions.RequestException as exc:
            raise transport_error(exc, doing or f"{method} {url}") from None
        if resp.status_code != 401:
            self.deaths.worked(token)
        return resp, token

    def _api(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        *,
        stream: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[requests.Response, str]:
        return self.exchange(
            method,
            self.api_url + path,
            params=params,
            sub=is_sub_call(method, path, params),
            stream=stream,
            headers=headers,
            doing=f"{method} {path}",
            json=json_body,
        )

    def send_json(
        self, method: str, path: str, body: bytes, *, sub: bool, params: Mapping[str, Any] | None = None
    ) -> tuple[requests.Response, str]:
        """One exchange on the API host whose body is JSON already encoded (record writes: see
        _record_json.py); the answer unparsed, with the token it was sent with. Transport
        failures are mapped; the caller reads the answer."""
        return self.exchange(
            method,
            self.api_url + path,
            params=params,
            sub=sub,
            doing=f"{method} {path}",
            data=body,
            headers={"Content-Type": "application/json"},
        )

    def http(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """One HTTP exchange on the API host; the JSON body, or None for 204/304. Raises mapped errors."""
        resp, token = self._api(method, path, params, json_body, headers=headers)
        if resp.status_code == 200 and resp.content:
            try:  # orjson: several times faster than resp.json() on 2,000-row answers
                body = orjson.loads(resp.content)
            except orjson.JSONDecodeError:
                body = None
            if isinstance(body, dict):
                return body
        return parse_response(resp, f"{method} {path}", token)

    def http_bytes(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json_body: Any = None
    ) -> Body | None:
        """Like ``http``, but a 200 answer's body is returned unparsed (large reads parse it one
        at a time: see _reads.py). None for 204/304; errors raise as in ``http``."""
        resp, token = self._api(method, path, params, json_body, stream=True)
        try:
            if resp.status_code == 200:
                # Into a memory mapping, not this worker's heap (see _http.read_body).
                encoded = resp.headers.get("Content-Encoding", "identity").lower() != "identity"
                size = resp.headers.get("Content-Length", "")
                body = read_body(resp.raw, None if encoded or not size.isdigit() else int(size))
                if body is not None and not _looks_whole(body):
                    # A cut-off 200 (a proxy, a dropped stream) is found here, where an idempotent
                    # read is retried, rather than when its pieces are parsed after the call.
                    body.close()
                    raise ZohoOutcomeUnknownError(
                        f"{method} {path}: HTTP 200 with malformed JSON (a write may have been applied)",
                        code="MALFORMED_RESPONSE",
                        status=200,
                    )
                if body is not None:
                    return body
            parse_response(resp, f"{method} {path}", token)
            return None
        except requests.exceptions.RequestException as exc:
            raise transport_error(exc, f"{method} {path}") from None
        finally:
            resp.close()

    def file(self, method: str, url: str, **kw: Any) -> tuple[bytes, dict[str, Any] | None]:
        """One exchange answered by a file (or a JSON body), on any of the endpoints' hosts:
        (raw bytes, the JSON object when the answer was JSON). Error answers raise as usual."""
        resp, token = self.exchange(method, url, **kw)
        if resp.status_code != 200 or resp.headers.get("Content-Type", "").startswith("application/json"):
            return resp.content, parse_response(resp, f"{method} {url}", token)  # raises for errors
        return resp.content, None

    # -- call shortcuts ---------------------------------------------------------------------------
    def get(
        self, operation: str, path: str, params: Mapping[str, Any] | None = None, module: str | None = None
    ) -> dict[str, Any] | None:
        """A GET on the API host through the call wrapper (retried: reads are safe to repeat)."""
        return self.call(
            operation,
            lambda: self.http("GET", path, params=params),
            idempotent=True,
            module=module,
            count=lambda d: len(data_rows(d)),
        )

    def coql(self, query: str, module: str | None) -> dict[str, Any] | None:
        """One COQL call (a read sent as POST: retried like a GET)."""
        return self.call(
            "coql",
            lambda: self.http("POST", "/crm/v8/coql", json_body={"select_query": query}),
            idempotent=True,
            module=module,
            count=lambda d: len(data_rows(d)),
        )

    def org_id(self) -> str:
        """The org's id (``zgid``) Bulk Write uploads name in ``X-CRM-ORG``; fetched once."""
        if self._org_id is None:
            data = self.get("org", "/crm/v8/org", None, None) or {}
            org = (data.get("org") or [{}])[0]
            self._org_id = str(org.get("zgid") or org.get("id") or "")
        return self._org_id


__all__ = ["Pipeline", "status_of"]


def _looks_whole(body: Body) -> bool:
    """A JSON object from its first byte to its last (whitespace aside): what every Zoho answer
    read raw is. A full parse here would cost the piecewise parse its memory (see _json_rows)."""
    head = body[:64].lstrip()
    tail = body[-64:].rstrip()
    return head[:1] == b"{" and tail[-1:] == b"}"
