"""Benchmarks: the same Zoho CRM work done three ways, timed the same way.

The three *paths* answer one question each:

- ``seed_sdk``: the seed guide's serial SDK code (``RecordOperations.get_records`` page by page,
  ``search_records``, COQL through the SDK, ``update_record`` one record per call,
  ``update_records``), kept faithful with only its known errors fixed so it can run at all
  (ids set, batches of 100, search through ``search_records``, a token store that exists).
- ``toolkit``: this project's client (``sergas_nb.client``), what an analyst actually calls.
- ``rest``: plain REST with one ``requests.Session``: the baseline of the seed's claim that
  "the SDK is 30-40% faster than REST".

Every path implements the same five operations (:data:`OPS`) and returns how many records it
handled, so a rate is never computed from work that silently did not happen. :func:`run` times
them over sizes and repeats; the statistics helpers turn samples into medians, p95s and
records per second.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import statistics
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd
import requests

from sergas_nb import _secrets
from sergas_nb.errors import ZohoAPIError, ZohoAuthError, ZohoError

OPS: tuple[str, ...] = ("read", "search", "coql", "update", "bulk_update")
WRITE_OPS: frozenset[str] = frozenset({"update", "bulk_update"})
PAGE = 200        # Get Records / search: max per_page
COQL_PAGE = 2000  # COQL: max rows per call
WRITE_BATCH = 100  # insert/update: max records per call
DISCRETE_PAGES_LIMIT = 2000  # beyond this, `page` is refused and page_token is required


class BenchmarkError(ZohoError):
    """A benchmark could not be run as asked (bad parameters, a path that did less work than asked)."""


def allowed_ops(ops: Sequence[str], on_emulator: bool,
                allow_writes_on_real: bool = False) -> tuple[list[str], list[str]]:
    """(operations to run, write operations refused): writes to a real org need explicit consent."""
    unknown = [op for op in ops if op not in OPS]
    if unknown:
        raise BenchmarkError(f"unknown operation(s) {unknown}; expected some of {', '.join(OPS)}")
    if on_emulator or allow_writes_on_real:
        return list(ops), []
    return [op for op in ops if op not in WRITE_OPS], [op for op in ops if op in WRITE_OPS]


# ------------------------------------------------------------------------------------------
# The seed guide's published figures
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SeedFigure:
    label: str
    op: str
    records: int
    seconds: float

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds


SEED_FIGURES: tuple[SeedFigure, ...] = (
    SeedFigure("Get 100 accounts", "read", 100, 1.2),
    SeedFigure("Bulk read 200 records", "read", 200, 2.1),  # the seed's "bulk read" is one page of get_records
    SeedFigure("Bulk update 150 records", "bulk_update", 150, 3.8),
    SeedFigure("Search 50 accounts", "search", 50, 0.9),
)


# ------------------------------------------------------------------------------------------
# Statistics
# ------------------------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between closest ranks.

    Same definition as ``numpy.percentile(..., method="linear")``; with few repeats p95 lies
    between the two slowest samples, so it never claims more precision than the data has.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0..100, got {q}")
    xs = sorted(float(v) for v in values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    p95: float
    minimum: float
    maximum: float


def summarize(samples: Sequence[float]) -> Summary:
    """Median, p95, min and max of timing samples (seconds)."""
    if not samples:
        raise ValueError("no samples to summarize")
    return Summary(len(samples), float(statistics.median(samples)), percentile(samples, 95),
                   float(min(samples)), float(max(samples)))


def records_per_second(records: int, seconds: float) -> float:
    """Throughput; zero-time samples (clock resolution) count as infinitely fast, which we refuse."""
    if seconds <= 0:
        raise ValueError(f"non-positive duration {seconds!r}: the timer cannot measure this")
    return records / seconds


def summary_table(raw: pd.DataFrame) -> pd.DataFrame:
    """One row per (path, op, size): median/p95 seconds and records per second.

    ``records_per_s`` is computed from the median time, ``records_per_s_p95`` from the p95 time
    (the rate of a slow run), so the second is never higher than the first.
    """
    rows = []
    for (path, op, size), g in raw.groupby(["path", "op", "size"], sort=False):
        s = summarize(list(g["seconds"]))
        records = int(g["records"].iloc[0])
        rows.append({"path": path, "op": op, "size": int(size), "records": records, "repeats": s.n,
                     "median_s": s.median, "p95_s": s.p95,
                     "records_per_s": records_per_second(records, s.median),
                     "records_per_s_p95": records_per_second(records, s.p95)})
    return pd.DataFrame(rows)


def ratio_table(summary: pd.DataFrame, numerator: str, denominator: str) -> pd.DataFrame:
    """records_per_s of ``numerator`` over ``denominator`` for every (op, size) both measured.

    A ratio above 1 means ``numerator`` handled more records per second.
    """
    piv = summary.pivot_table(index=["op", "size"], columns="path", values="records_per_s")
    if numerator not in piv or denominator not in piv:
        return pd.DataFrame(columns=["op", "size", "ratio"])
    out = (piv[numerator] / piv[denominator]).dropna().rename("ratio").reset_index()
    return out


def sdk_claim_verdict(ratios: dict[str, float], low: float = 1.30, high: float = 1.40) -> str:
    """Plain-words verdict on "the SDK is 30-40% faster than REST".

    ``ratios`` maps an operation to SDK records/s divided by REST records/s (same run, same
    server, same latency). The claim holds for an operation whose ratio is at least ``low``;
    below 1 the SDK was slower.
    """
    if not ratios:
        return "No operation was measured through both the SDK and REST, so the claim was not tested."
    held = sorted(op for op, r in ratios.items() if r >= low)
    slower = sorted(op for op, r in ratios.items() if r < 1)
    parts = [f"{op}: SDK {_pct(r)}" for op, r in sorted(ratios.items())]
    if len(held) == len(ratios):
        head = "The claim holds here: the SDK was at least 30% faster than plain REST for every operation."
    elif not held and len(slower) == len(ratios):
        head = ("The claim does not hold: the SDK was slower than plain REST (one requests.Session) for "
                "every operation measured.")
    elif not held:
        head = "The claim does not hold: the SDK was never 30% faster than plain REST."
    else:
        head = (f"The claim holds only for {', '.join(held)}; "
                f"{'the SDK was slower for ' + ', '.join(slower) if slower else 'not for the rest'}.")
    return head + " Measured (SDK vs REST, records per second): " + "; ".join(parts) + "."


def _pct(ratio: float) -> str:
    if ratio >= 1:
        return f"{(ratio - 1) * 100:.0f}% faster"
    return f"{(1 - ratio) * 100:.0f}% slower ({1 / ratio:.1f}x the time)"


def seed_comparison(summary: pd.DataFrame) -> pd.DataFrame:
    """The seed's published figures beside this run's median for each path at the same size."""
    rows = []
    for fig in SEED_FIGURES:
        row: dict[str, Any] = {"operation": fig.label, "seed_s": fig.seconds,
                               "seed_records_per_s": round(fig.records_per_s, 1)}
        hit = summary[(summary["op"] == fig.op) & (summary["size"] == fig.records)]
        for _, r in hit.iterrows():
            row[f"{r['path']}_s"] = round(float(r["median_s"]), 3)
            row[f"{r['path']}_records_per_s"] = round(float(r["records_per_s"]), 1)
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------
# What is asked of every path
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Workload:
    """The same request for every path: which fields, which search, which rows, which field to write."""

    fields: tuple[str, ...]
    search_criteria: str = "(Annual_Revenue:greater_equal:0)"
    coql_where: str = "id is not null"
    update_field: str = "Description"
    module: str = "Accounts"

    def coql_query(self, limit: int, offset: int) -> str:
        return (f"select {', '.join(self.fields)} from {self.module} where {self.coql_where} "
                f"order by id asc limit {limit} offset {offset}")


class BenchPath(Protocol):
    """One way of talking to Zoho CRM. Every method returns the number of records it handled."""

    name: str

    def read(self, n: int) -> int: ...
    def search(self, n: int) -> int: ...
    def coql(self, n: int) -> int: ...
    def update(self, ids: Sequence[str], value: str) -> int: ...
    def bulk_update(self, ids: Sequence[str], value: str) -> int: ...
    def close(self) -> None: ...


def _pages(n: int, max_per_page: int = PAGE) -> Iterator[tuple[int, int]]:
    """(page number, per_page) for the first ``n`` records: pages of ``min(n, max_per_page)``.

    The same pages the toolkit (and the seed's ``get_accounts(limit=n)``) asks for, so every path
    costs the same round trips and the server sends the same records.
    """
    per_page = max(1, min(n, max_per_page))
    page = 1
    while (page - 1) * per_page < n:
        yield page, per_page
        page += 1


def _batches(seq: Sequence[Any], size: int = WRITE_BATCH) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


# ------------------------------------------------------------------------------------------
# Plain REST: requests.Session, JSON in, dicts out
# ------------------------------------------------------------------------------------------

def fetch_access_token(token_url: str, client_id: str, client_secret: str, refresh_token: str,
                       timeout: float = 30) -> str:
    """One refresh-token grant; returns the access token (registered for redaction)."""
    _secrets.register(client_secret, refresh_token)
    resp = requests.post(token_url, data={"grant_type": "refresh_token", "client_id": client_id,
                                          "client_secret": client_secret, "refresh_token": refresh_token},
                         timeout=timeout)
    try:
        body = resp.json()
    except ValueError:
        raise ZohoAuthError(f"token endpoint answered HTTP {resp.status_code} without JSON", code="bad_response") from None
    # Zoho reports OAuth failures as HTTP 200 with {"error": ...}: check the body, not the status.
    if "access_token" not in body:
        raise ZohoAuthError(f"token refresh refused: {body.get('error', 'unknown error')}",
                            code=str(body.get("error", "unknown")))
    _secrets.register(body["access_token"])
    return str(body["access_token"])


class RestPath:
    """Zoho's REST API with one keep-alive ``requests.Session``; records stay plain dicts."""

    name = "rest"

    def __init__(self, api_url: str, access_token: str, workload: Workload, timeout: float = 60) -> None:
        _secrets.register(access_token)
        self.base = api_url.rstrip("/") + "/crm/v8"
        self.w = workload
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Zoho-oauthtoken {access_token}"

    def _json(self, resp: requests.Response) -> dict[str, Any]:
        if resp.status_code == 204:
            return {"data": [], "info": {"more_records": False}}
        try:
            body = resp.json()
        except ValueError:
            raise ZohoAPIError(f"HTTP {resp.status_code} without JSON", code="bad_response",
                               status=resp.status_code) from None
        if resp.status_code >= 400:
            raise ZohoAPIError(f"{body.get('code')}: {body.get('message')}", code=str(body.get("code")),
                               status=resp.status_code, details=body.get("details"))
        return body

    def _list(self, path: str, n: int, extra: dict[str, str]) -> int:
        got, token = 0, None
        for page, per_page in _pages(n):
            params = {"fields": ",".join(self.w.fields), "per_page": str(per_page), **extra}
            if (page - 1) * per_page >= DISCRETE_PAGES_LIMIT and token:
                params["page_token"] = token
            else:
                params["page"] = str(page)
            body = self._json(self.session.get(self.base + path, params=params, timeout=self.timeout))
            got += len(body["data"][: n - got])
            token = body.get("info", {}).get("next_page_token")
            if not body.get("info", {}).get("more_records"):
                break
        return got

    def read(self, n: int) -> int:
        return self._list(f"/{self.w.module}", n, {})

    def search(self, n: int) -> int:
        return self._list(f"/{self.w.module}/search", n, {"criteria": self.w.search_criteria})

    def coql(self, n: int) -> int:
        got = 0
        while got < n:
            limit = min(COQL_PAGE, n - got)
            body = self._json(self.session.post(self.base + "/coql", timeout=self.timeout,
                                                json={"select_query": self.w.coql_query(limit, got)}))
            got += len(body["data"])
            if not body.get("info", {}).get("more_records") or not body["data"]:
                break
        return got

    def _outcomes(self, body: dict[str, Any]) -> int:
        return sum(1 for item in body.get("data", []) if item.get("status") == "success")

    def update(self, ids: Sequence[str], value: str) -> int:
        ok = 0
        for rid in ids:
            body = self._json(self.session.put(f"{self.base}/{self.w.module}/{rid}", timeout=self.timeout,
                                               json={"data": [{self.w.update_field: value}], "trigger": []}))
            ok += self._outcomes(body)
        return ok

    def bulk_update(self, ids: Sequence[str], value: str) -> int:
        ok = 0
        for batch in _batches(ids):
            data = [{"id": rid, self.w.update_field: value} for rid in batch]
            body = self._json(self.session.put(f"{self.base}/{self.w.module}", timeout=self.timeout,
                                               json={"data": data, "trigger": []}))
            ok += self._outcomes(body)
        return ok

    def first_ids(self, n: int) -> list[str]:
        """Ids of the first ``n`` records in id order (setup for the write benchmarks; not timed)."""
        ids: list[str] = []
        while len(ids) < n:
            limit = min(COQL_PAGE, n - len(ids))
            q = f"select id from {self.w.module} where id is not null order by id asc limit {limit} offset {len(ids)}"
            body = self._json(self.session.post(self.base + "/coql", json={"select_query": q}, timeout=self.timeout))
            ids += [str(r["id"]) for r in body["data"]]
            if not body.get("info", {}).get("more_records") or not body["data"]:
                break
        return ids

    def close(self) -> None:
        self.session.close()


# ------------------------------------------------------------------------------------------
# The seed guide's serial SDK path
# ------------------------------------------------------------------------------------------

# The SDK modules that call module-level ``requests.*``. Once a toolkit client exists in the
# process, sergas_nb._http has put a pooled keep-alive shim there; the seed guide's code never
# had it, so the seed path puts the real module back for the duration of its own calls.
_SDK_HTTP_MODULES = ("zohocrmsdk.src.com.zoho.crm.api.util.api_http_connector",
                     "zohocrmsdk.src.com.zoho.api.authenticator.oauth_token")


@contextlib.contextmanager
def _sdk_plain_requests() -> Iterator[None]:
    import importlib
    modules = [importlib.import_module(m) for m in _SDK_HTTP_MODULES]
    saved = [getattr(m, "requests", None) for m in modules]
    try:
        for m in modules:
            m.requests = requests  # type: ignore[attr-defined]
        yield
    finally:
        for m, old in zip(modules, saved):
            m.requests = old  # type: ignore[attr-defined]


class SeedSDKPath:
    """The seed guide's ``ZohoSDKClient`` calls, run serially through zohocrmsdk8-0.

    Faithful to the guide: ``SDKConfig(auto_refresh_fields=True, pick_list_validation=True,
    connect_timeout=30, read_timeout=60)``, records converted with ``get_key_values()``, field
    values set through ``Field.Accounts.*`` where the guide maps them, one ``update_record`` per
    record for single updates, ``update_records`` for bulk. Fixed only where the guide's code
    cannot run: ``DBStore`` is MySQL-only (the SDK's own ``FileStore`` in a private temporary
    folder instead), ``GetRecordsParam`` has no ``criteria`` (``search_records`` with
    ``SearchRecordsParam.criteria``), bulk update never set ids nor split into batches of 100,
    ``add_field_value`` refuses plain strings (``add_key_value`` for unmapped names), and one
    page of 200 is paged on to read more than 200 records.

    The SDK keeps one process-wide ``Initializer``; this path swaps its own in for each call and
    puts the previous one back, so it can run beside a toolkit client that also uses the SDK. For
    the same reason it undoes, during its own calls, the toolkit's pooled-Session shim in the
    SDK's HTTP modules: the guide's code opens a connection per call, and so does this path.
    """

    name = "seed_sdk"

    def __init__(self, api_url: str, token_url: str, client_id: str, client_secret: str, refresh_token: str,
                 redirect_url: str | None, workload: Workload) -> None:
        from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
        from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
        from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
        from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
        from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig

        _secrets.register(client_secret, refresh_token)
        self.w = workload
        # The FileStore CSV holds the tokens in plain text: private folder, removed in close().
        self._dir = tempfile.mkdtemp(prefix="sergas-nb-seed-sdk-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._dir, True)  # even if close() is never called
        env = DataCenter.Environment(api_url.rstrip("/"), token_url, api_url.rstrip("/"))
        token = OAuthToken(client_id=client_id, client_secret=client_secret, refresh_token=refresh_token,
                           redirect_url=redirect_url)
        config = SDKConfig(auto_refresh_fields=True, pick_list_validation=True, connect_timeout=30.0,
                           read_timeout=60.0)
        with self._keep_previous_initializer(), _sdk_plain_requests():
            Initializer.initialize(environment=env, token=token, store=FileStore(f"{self._dir}/tokens.csv"),
                                   sdk_config=config, resource_path=self._dir)
            self._initializer = Initializer.get_initializer()

    # -- initializer juggling --------------------------------------------------------------
    @staticmethod
    @contextlib.contextmanager
    def _keep_previous_initializer() -> Iterator[None]:
        from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
        prev, prev_local = Initializer.initializer, getattr(Initializer.LOCAL, "init", None)
        try:
            yield
        finally:
            Initializer.initializer, Initializer.LOCAL.init = prev, prev_local

    @contextlib.contextmanager
    def _active(self) -> Iterator[None]:
        from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
        with self._keep_previous_initializer(), _sdk_plain_requests():
            Initializer.initializer, Initializer.LOCAL.init = self._initializer, None
            yield

    # -- helpers mirroring the guide --------------------------------------------------------
    @staticmethod
    def _check(response: Any, wanted: type) -> Any:
        """The wrapped object of an SDK response, or raise with Zoho's error code."""
        if response is None:
            raise ZohoAPIError("the SDK returned no response", code="no_response")
        if response.get_status_code() in (204, 304):
            return None
        obj = response.get_object()
        if isinstance(obj, wanted):
            return obj
        if obj is None:  # sdk-behaviour.md: malformed JSON comes back as None, silently
            raise ZohoAPIError(f"HTTP {response.get_status_code()} with an unreadable body", code="bad_response",
                               status=response.get_status_code())
        code = obj.get_code().get_value() if hasattr(obj, "get_code") and obj.get_code() is not None else "UNKNOWN"
        raise ZohoAPIError(f"{code}: {obj.get_message() if hasattr(obj, 'get_message') else obj}",
                           code=str(code), status=response.get_status_code())

    def _field(self, name: str) -> Any:
        """The guide's ``_convert_to_zoho_field``: a ``Field.Accounts`` object where it maps one."""
        from zohocrmsdk.src.com.zoho.crm.api.record.field import Field
        mapped = {"account_name": Field.Accounts.account_name, "account_type": Field.Accounts.account_type,
                  "industry": Field.Accounts.industry, "annual_revenue": Field.Accounts.annual_revenue,
                  "phone": Field.Accounts.phone, "website": Field.Accounts.website,
                  "description": Field.Accounts.description}.get(name.lower())
        return mapped() if mapped else name

    def _set(self, record: Any, name: str, value: Any) -> None:
        f = self._field(name)
        if isinstance(f, str):
            record.add_key_value(f, value)  # fix: add_field_value raises on a plain string
        else:
            record.add_field_value(f, value)

    # -- operations ---------------------------------------------------------------------------
    def _list(self, n: int, search: bool) -> int:
        from zohocrmsdk.src.com.zoho.crm.api.parameter_map import ParameterMap
        from zohocrmsdk.src.com.zoho.crm.api.record import (GetRecordsParam, RecordOperations,
                                                            ResponseWrapper, SearchRecordsParam)
        P = SearchRecordsParam if search else GetRecordsParam
        ops = RecordOperations(self.w.module)
        got, token = 0, None
        with self._active():
            for page, per_page in _pages(n):
                params = ParameterMap()
                params.add(P.per_page, per_page)
                params.add(P.fields, ",".join(self.w.fields))
                if search:
                    params.add(P.criteria, self.w.search_criteria)
                if not search and (page - 1) * per_page >= DISCRETE_PAGES_LIMIT and token:
                    params.add(GetRecordsParam.page_token, token)
                else:
                    params.add(P.page, page)
                resp = ops.search_records(params) if search else ops.get_records(params)
                wrapper = self._check(resp, ResponseWrapper)
                if wrapper is None:
                    break
                records = [r.get_key_values() for r in wrapper.get_data()]  # the guide's _convert_records_to_dict
                got += len(records[: n - got])
                info = wrapper.get_info()
                token = info.get_next_page_token() if info else None
                if not (info and info.get_more_records()):
                    break
        return got

    def read(self, n: int) -> int:
        return self._list(n, search=False)

    def search(self, n: int) -> int:
        return self._list(n, search=True)

    def coql(self, n: int) -> int:
        from zohocrmsdk.src.com.zoho.crm.api.coql import BodyWrapper, CoqlOperations, ResponseWrapper
        got = 0
        with self._active():
            while got < n:
                body = BodyWrapper()
                body.set_select_query(self.w.coql_query(min(COQL_PAGE, n - got), got))
                wrapper = self._check(CoqlOperations().get_records(body), ResponseWrapper)
                if wrapper is None:
                    break
                rows = [r.get_key_values() for r in wrapper.get_data()]
                got += len(rows)
                if not (wrapper.get_info() and wrapper.get_info().get_more_records()) or not rows:
                    break
        return got

    def _succeeded(self, wrapper: Any) -> int:
        from zohocrmsdk.src.com.zoho.crm.api.record import SuccessResponse
        return sum(1 for item in wrapper.get_data() if isinstance(item, SuccessResponse))

    def update(self, ids: Sequence[str], value: str) -> int:
        from zohocrmsdk.src.com.zoho.crm.api.record import ActionWrapper, BodyWrapper, Record, RecordOperations
        ok = 0
        with self._active():
            ops = RecordOperations(self.w.module)
            for rid in ids:  # the guide's update_account, once per record
                record = Record()
                self._set(record, self.w.update_field, value)
                request = BodyWrapper()
                request.set_data([record])
                ok += self._succeeded(self._check(ops.update_record(int(rid), request), ActionWrapper))
        return ok

    def bulk_update(self, ids: Sequence[str], value: str) -> int:
        from zohocrmsdk.src.com.zoho.crm.api.record import ActionWrapper, BodyWrapper, Record, RecordOperations
        ok = 0
        with self._active():
            ops = RecordOperations(self.w.module)
            for batch in _batches(ids):  # fix: the guide sent everything in one call
                records = []
                for rid in batch:
                    record = Record()
                    record.set_id(int(rid))  # fix: the guide never set the id
                    self._set(record, self.w.update_field, value)
                    records.append(record)
                request = BodyWrapper()
                request.set_data(records)
                ok += self._succeeded(self._check(ops.update_records(request), ActionWrapper))
        return ok

    def close(self) -> None:
        self._cleanup()


# ------------------------------------------------------------------------------------------
# The toolkit: sergas_nb.client
# ------------------------------------------------------------------------------------------

class ToolkitPath:
    """``sergas_nb.client.ZohoClient``: what an analyst calls, typed DataFrames out.

    Reads, search and COQL are the client's own paged calls; a single update is one
    ``update()`` of one record (``update_account`` would add a read-back GET per record);
    bulk update is ``bulk_update_accounts`` (batches of 100, every outcome read).

    With ``concurrency`` > 1 (path name ``toolkit_xN``) the same public calls are spread over N
    threads: pages of ``get_accounts``, single updates and 100-record batches. Search and COQL
    stay serial (their paging is sequential in the API: search pages carry no state we can
    split safely, and one COQL call already returns up to 2,000 rows).
    """

    def __init__(self, client: Any, workload: Workload, concurrency: int = 1) -> None:
        self.client = client
        self.w = workload
        self.concurrency = max(1, int(concurrency))
        self.name = "toolkit" if self.concurrency == 1 else f"toolkit_x{self.concurrency}"
        self._pool = None
        if self.concurrency > 1:
            from concurrent.futures import ThreadPoolExecutor
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="bench-toolkit")

    def _map(self, fn: Callable[[Any], int], items: Sequence[Any]) -> int:
        if self._pool is None:
            return sum(fn(i) for i in items)
        return sum(self._pool.map(fn, items))

    def read(self, n: int) -> int:
        if self._pool is None or n > DISCRETE_PAGES_LIMIT:  # past 2,000 only page tokens work: serial
            return len(self.client.records(self.w.module, fields=list(self.w.fields), limit=n))
        pages = list(_pages(n))
        frames_ = list(self._pool.map(
            lambda pp: self.client.get_accounts(limit=pp[1], page=pp[0], fields=list(self.w.fields)), pages))
        return min(n, sum(len(f) for f in frames_))

    def search(self, n: int) -> int:
        return len(self.client.search(self.w.module, criteria=self.w.search_criteria, fields=list(self.w.fields),
                                      limit=n))

    def coql(self, n: int) -> int:
        got = 0
        while got < n:
            df = self.client.coql(self.w.coql_query(min(COQL_PAGE, n - got), got))
            got += len(df)
            if len(df) == 0:
                break
        return got

    def update(self, ids: Sequence[str], value: str) -> int:
        field_name = self.w.update_field
        return self._map(lambda rid: self.client.update(self.w.module, [{"id": rid, field_name: value}]).succeeded,
                         list(ids))

    def bulk_update(self, ids: Sequence[str], value: str) -> int:
        rows = [{"id": rid, self.w.update_field: value} for rid in ids]
        if self._pool is None:
            return self.client.bulk_update_accounts(rows).succeeded
        return self._map(lambda part: self.client.bulk_update_accounts(part).succeeded, list(_batches(rows)))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


# ------------------------------------------------------------------------------------------
# Running
# ------------------------------------------------------------------------------------------

@dataclass
class Plan:
    """What to run: sizes x ops x repeats over the given paths."""

    sizes: Sequence[int]
    ops: Sequence[str] = OPS
    repeats: int = 3
    single_update_max: int = 50  # one HTTP call per record: cap it so large sizes stay affordable
    extra_points: Sequence[tuple[str, int]] = field(default_factory=tuple)  # (op, size) measured besides

    def points(self) -> list[tuple[str, int]]:
        """(op, size) pairs in run order, without duplicates.

        A single-update point's size is its capped record count, so sizes above the cap are
        measured once, not once per size.
        """
        wanted = [(op, int(size)) for size in self.sizes for op in self.ops]
        wanted += [(op, int(size)) for op, size in self.extra_points if op in self.ops]
        return list(dict.fromkeys((op, self.records_for(op, size)) for op, size in wanted))

    def records_for(self, op: str, size: int) -> int:
        return min(size, self.single_update_max) if op == "update" else size


def _call(path: BenchPath, op: str, n: int, ids: Sequence[str], value: str) -> int:
    if op == "update":
        return path.update(ids[:n], value)
    if op == "bulk_update":
        return path.bulk_update(ids[:n], value)
    return getattr(path, op)(n)


def warm_up(paths: Sequence[BenchPath], ids: Sequence[str]) -> None:
    """One small untimed call per op: field metadata downloads and connection set-up happen here."""
    for p in paths:
        p.read(5)
        p.search(5)
        p.coql(5)
        if ids:
            p.update(ids[:1], "benchmark warm-up")
            p.bulk_update(ids[:2], "benchmark warm-up")


def run(paths: Sequence[BenchPath], plan: Plan, ids: Sequence[str], progress: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.perf_counter) -> pd.DataFrame:
    """Time every (op, size) of ``plan`` through every path, ``plan.repeats`` times.

    Paths take turns inside each repeat, in a rotating order, so a slow spell of the machine
    hits all of them alike. A path that handles fewer records than asked raises: a rate
    computed over missing work would flatter it.
    """
    for op in plan.ops:
        if op not in OPS:
            raise BenchmarkError(f"unknown operation {op!r}; expected one of {', '.join(OPS)}")
    needed = max((plan.records_for(op, s) for op, s in plan.points() if op in WRITE_OPS), default=0)
    if needed > len(ids):
        raise BenchmarkError(f"the write benchmarks need {needed} record ids, only {len(ids)} were given")
    rows = []
    for op, size in plan.points():
        n = plan.records_for(op, size)
        for rep in range(plan.repeats):
            order = list(paths[rep % len(paths):]) + list(paths[: rep % len(paths)])
            for p in order:
                value = f"benchmark {p.name} {op} {size} #{rep}"
                t0 = clock()
                got = _call(p, op, n, ids, value)
                seconds = clock() - t0
                if got != n:
                    raise BenchmarkError(f"{p.name} {op}: asked for {n} records, handled {got}",
                                         {"path": p.name, "op": op, "size": size})
                rows.append({"path": p.name, "op": op, "size": size, "repeat": rep, "records": got,
                             "seconds": seconds})
        if progress:
            progress(f"{op} x {size}: done")
    return pd.DataFrame(rows)


def key_figures(summary: pd.DataFrame, verdict: str | None = None) -> dict[str, Any]:
    """The numbers the notebook prints as its last line (and the tests assert on).

    ``records_per_s[path][op]`` is at the largest size measured for that op; ratios compare
    paths at that same size.
    """
    out: dict[str, Any] = {"records_per_s": {}, "median_s": {}, "size": {}}
    for op, g in summary.groupby("op", sort=False):
        size = int(g["size"].max())
        out["size"][op] = size
        for _, r in g[g["size"] == size].iterrows():
            out["records_per_s"].setdefault(r["path"], {})[op] = round(float(r["records_per_s"]), 2)
            out["median_s"].setdefault(r["path"], {})[op] = round(float(r["median_s"]), 4)
    for key, (a, b) in {"sdk_vs_rest": ("seed_sdk", "rest"), "toolkit_vs_sdk": ("toolkit", "seed_sdk"),
                        "toolkit_vs_rest": ("toolkit", "rest")}.items():
        rps = out["records_per_s"]
        if a in rps and b in rps:
            out[key] = {op: round(rps[a][op] / rps[b][op], 3) for op in rps[a] if op in rps[b]}
    if verdict is not None:
        out["verdict"] = verdict
    return out
