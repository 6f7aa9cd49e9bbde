"""The analyst-facing Zoho CRM client: ``connect()`` → ``ZohoClient`` → typed pandas DataFrames.

    from sergas_nb.client import connect
    crm = connect()                                   # ZOHO_SDK_* and DATABASE_* from env / .env
    df = crm.records("Accounts", where="Industry = 'Technology'")
    df.loc[df["Health_Score"] < 40, "Account_Status"] = "At Risk"
    result = crm.update("Accounts", df[["id", "Account_Status"]])   # WriteResult, one row per record

How it is built: this module is the facade; the work is one layer down (see docs/architecture.md):
``_pipeline.Pipeline`` (session, governor, retries, token refresh, metrics, SDK binding, hosts),
``_fields.FieldMeta`` (field metadata), ``_reads.Reader``, ``_writes.Writer``, ``_bulk_api``, ``_rest``.
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
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from sergas_nb import _secrets
from sergas_nb._checks import check_ids
from sergas_nb._coql import criteria_to_coql  # noqa: F401  (importable from here, as it always was)
from sergas_nb._fields import FieldMeta
from sergas_nb._governor import DEFAULT_CONCURRENCY, DEFAULT_SUB_CONCURRENCY, Governor
from sergas_nb._http import DEFAULT_TIMEOUT
from sergas_nb._metrics import Event
from sergas_nb._outcomes import WriteResult
from sergas_nb._paging import PER_PAGE, SEARCH_REACH, IdRange
from sergas_nb._pipeline import Pipeline
from sergas_nb._reads import Reader
from sergas_nb._related import Related, subform
from sergas_nb._retry import RetryPolicy
from sergas_nb._writes import MAX_IN_FLIGHT, ReadBack, Writer
from sergas_nb.errors import Problem, ZohoAPIError, ZohoConfigError, ZohoValidationError

log = logging.getLogger("sergas_nb.client")

SEARCH_LIMIT = SEARCH_REACH  # the old name of the search reach (2,000 matches)
ACCOUNTS = "Accounts"
# From here an update goes as one Bulk Write job: its fixed cost (upload, job, polls, result file)
# is about what 4,000 records cost in parallel batches, whose SDK record conversion is CPU-bound.
BULK_WRITE_MIN = 5000


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
            # Zoho's file and download hosts, each on a port of its own (issue 15)
            "local_content_url": getattr(emulator, "content_url", None),
            "local_download_url": getattr(emulator, "download_url", None),
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
        self._pipeline = Pipeline(
            settings,
            token_store=token_store,
            timeout=timeout,
            retry=retry,
            concurrency=concurrency,
            sub_concurrency=sub_concurrency,
        )
        self.settings = settings
        self.endpoints = self._pipeline.endpoints
        self.retry = self._pipeline.retry
        self.timeout = timeout
        self._fields = FieldMeta(self._pipeline)
        self._reader = Reader(self._pipeline, self._fields)
        self._related = Related(self._pipeline, self._fields, self._reader)
        self._writer = Writer(self._pipeline, self._fields, ReadBack(self._reader))
        self._pipeline.start()

    # The host and governor live in the pipeline; setting them here changes every later call.
    @property
    def api_url(self) -> str:
        return self._pipeline.api_url

    @api_url.setter
    def api_url(self, url: str) -> None:
        self._pipeline.api_url = url

    @property
    def governor(self) -> Governor:
        return self._pipeline.governor

    @governor.setter
    def governor(self, governor: Governor) -> None:
        self._pipeline.governor = governor

    def __repr__(self) -> str:
        return f"ZohoClient({self.api_url}, tokens in {type(self.token_store).__name__})"

    @property
    def token_store(self) -> Any:
        return self._pipeline.store

    def close(self) -> None:
        """Release pooled connections (and the token store's database connection)."""
        self._pipeline.close()

    def __enter__(self) -> ZohoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def metrics(self) -> pd.DataFrame:
        """Every call (operation, status, duration s, records, retries), token refresh and rate-limit event."""
        return self._pipeline.metrics_frame()

    def events_since(self, at: pd.Timestamp) -> list[Event]:
        """What this client did at or after ``at``, as events (the rows of ``metrics()``, without building a frame)."""
        return self._pipeline.metrics.since(at)

    # -- metadata -------------------------------------------------------------------------------------
    def field_metadata(self, module: str) -> list[dict[str, Any]]:
        """Zoho's field metadata of ``module`` as it answers it (one dict a field), fetched once per
        client: the raw form of :meth:`fields`, for code that needs every key without a frame."""
        return self._fields.meta(module)

    def refresh_metadata(self, module: str | None = None) -> None:
        """Forget cached field metadata (after fields were added in the CRM)."""
        self._fields.forget(module)

    def fields(self, module: str) -> pd.DataFrame:
        """Field metadata as a DataFrame: api_name, field_label, data_type, read_only, ..., and the
        pandas ``dtype`` this toolkit gives the field's column(s)."""
        return self._fields.frame(module)

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
        fields, dotted = self._related.split_dotted(module, fields)  # Account_Name.Industry: joined after
        if dotted and to_parquet is not None:
            raise ZohoValidationError(
                [Problem("fields", "dotted lookup fields cannot stream to_parquet", None, dotted)]
            )
        frame = self._reader.records(
            module,
            fields,
            where,
            sort_by,
            sort_order,
            limit,
            strategy=strategy,
            progress=progress,
            to_parquet=to_parquet,
        )
        return self._related.lookup_columns(module, frame, dotted) if dotted else frame

    # -- account 360 (sergas_nb/_related.py) ------------------------------------------------------
    def related(
        self, module: str, id: str | int, related_list: str, fields: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """One related list of one record (``crm.related("Accounts", id, "Deals")``) as a typed frame,
        columns as ``records()`` gives for the child module; Activities / Activities_History as
        ``activities()`` types them. Related-list names: ``crm.request("GET",
        "/crm/v8/settings/related_lists", params={"module": module})``."""
        return self._related.related(module, id, related_list, fields)

    def activities(self, module: str, id: str | int, fields: Iterable[str] | None = None) -> pd.DataFrame:
        """Tasks, Events and Calls of one record in one frame: ``type`` (the module), ``subject``,
        ``when`` (UTC), then each module's fields (NA where a module has no such field)."""
        return self._related.activities(module, id, fields)

    @staticmethod
    def subform(frame: pd.DataFrame, field: str) -> pd.DataFrame:
        """The rows of subform ``field`` of a frame read by ``records()``, keyed by ``parent_id``."""
        return subform(frame, field)

    def account_details(self, account_id: str | int) -> dict[str, pd.DataFrame]:
        """An account's ``contacts``, ``deals``, ``activities`` (open and closed, newest first) and
        ``notes`` as typed frames. Activities are the account's and its deals' (the ones
        ``sergas_nb.health`` counts): five related-list reads and two more per deal."""
        return self._related.account_details(account_id)

    def record(self, module: str, id: str | int) -> dict[str, Any]:
        """One record as a dict with the same keys and types as a row of ``records()``."""
        return self._reader.record(module, id)

    def records_by_ids(
        self, module: str, ids: Iterable[str | int], fields: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """These records as a typed frame (same columns as ``records()``), in the order given; ids not
        found are left out (compare the ids to tell)."""
        clean = check_ids(ids)
        return self._reader.by_ids(module, clean, fields)

    def records_json(
        self, module: str, ids: Iterable[str | int], fields: Iterable[str] | None = None
    ) -> list[dict[str, Any]]:
        """These records as the API answers them (one JSON object each, no frame built), in the
        order given; ids not found are left out. Fields are checked as for ``records_by_ids``."""
        clean = check_ids(ids)
        return self._reader.json_by_ids(module, clean, fields)

    def modified_since(
        self,
        module: str,
        fields: Iterable[str] | None,
        since: str,
        *,
        ranges: Sequence[IdRange] = (IdRange(),),
        listed: Sequence[Mapping[str, Any]] = (),
    ) -> pd.DataFrame | None:
        """Records modified at or after ``since`` with ids in ``ranges`` (read in parallel,
        ``IdRange.limit`` rows a call), by COQL, typed as ``records()`` with ``listed`` (the same
        fields' records as the list API served them): the mirror's incremental read of more than a
        page of changes. None when COQL cannot select ``fields``."""
        return self._reader.modified_since(module, fields, since, ranges=ranges, listed=listed)

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
        return self._reader.search(module, given, fields, limit)

    def coql(self, query: str) -> pd.DataFrame:
        """A COQL SELECT as a typed DataFrame. Without a LIMIT in the query, all rows are fetched
        (2,000 a call, through offsets up to 100,000); with one, the query runs as written.

        Aggregates (``select Industry, SUM(Annual_Revenue) ... group by Industry``) give one column
        per select item, no ``id``: counts Int64, sums and averages Float64, grouped fields and
        MIN/MAX typed like their field, named by alias or as written (``SUM(Annual_Revenue)``)."""
        return self._reader.coql(query)

    def count(self, module: str, where: str | None = None) -> int:
        """Number of records in ``module`` (matching ``where``, a COQL condition or search criteria)."""
        return self._reader.count(module, where)

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
        sent again, and no twin is made. Without it the module's duplicate-check field (field
        metadata ``unique``: ``Account_Name`` for Accounts) is used when the rows carry it; rows
        with no key to find them by are reported ``unknown``, in words that name ``key=``.
        """
        return self._writer.write(
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
        return self._writer.write(
            module,
            "update",
            data,
            na=na,
            trigger=trigger,
            max_in_flight=max_in_flight,
            progress=progress,
            method=method,
            bulk_write_min=BULK_WRITE_MIN,
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
        return self._writer.write(
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
        return self._writer.bulk_write(module, data, operation, find_by=find_by, na=na)

    def delete(
        self,
        module: str,
        ids: Iterable[str | int] | pd.Series,
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
        progress: bool = True,
    ) -> WriteResult:
        """Delete records by id (100 a call); one outcome per id."""
        return self._writer.delete(module, ids, max_in_flight=max_in_flight, progress=progress)

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
        return self._reader.page_of(ACCOUNTS, fields, sort_by, sort_order, limit, page, "get_accounts")

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
            store = self.token_store
            checker = getattr(store, "check", None)
            if not callable(checker):
                raise _Skip(f"no database: tokens in {type(store).__name__}")
            checker()
            return getattr(store, "database_label", "reachable, schema present")

        def token() -> str:
            self._pipeline.sdk.access_token()
            return "access token available"

        def api() -> str:
            data = self._pipeline.http("GET", "/crm/v8/users", params={"type": "CurrentUser"})
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
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Call any CRM endpoint on the configured API host; the parsed JSON answer (``{}`` for 204/304).

        ``headers``: extra request headers, e.g. ``{"If-Modified-Since": "2024-05-01T10:00:00+00:00"}``
        (a list answering 304 gives ``{}``); the Authorization header is the client's own.

        Same token, timeouts, metrics and 401 refresh as every other call; retried on 429/5xx only
        when safe (``retry=None``: GET only; pass ``retry=True`` for a read sent as POST, e.g. COQL).
        ``path`` starts with ``/`` (an absolute URL must name the API host). Errors are ZohoAPIError.

            crm.request("GET", "/crm/v8/users", params={"type": "AllUsers"})["users"]
        """
        from sergas_nb import _rest

        return _rest.request(self._pipeline, method, path, params, json, retry=retry, headers=headers)

    def paginate(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        key: str | None = "data",
        per_page: int = PER_PAGE,
        max_records: int | None = None,
        pages: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[Any]:
        """GET ``path`` page by page (page tokens past record 2,000): its rows, or whole pages.
        ``headers`` go with every page (``If-Modified-Since``: only records modified after it)."""
        from sergas_nb import _rest

        return _rest.paginate(
            self._pipeline,
            path,
            params,
            key=key,
            per_page=per_page,
            max_records=max_records,
            pages=pages,
            headers=headers,
        )


class _Skip(Exception):
    pass


__all__ = ["connect", "ZohoClient", "WriteResult"]
