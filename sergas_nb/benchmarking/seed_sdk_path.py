"""The ``seed_sdk`` path: the seed guide's serial SDK code, run through zohocrmsdk8-0."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

from sergas_nb import _secrets
from sergas_nb._sdk import initialize_isolated, initializer_current, sdk_own_transport
from sergas_nb.benchmarking.operations import COQL_PAGE, DISCRETE_PAGES_LIMIT, Workload, _batches, _pages
from sergas_nb.errors import ZohoAPIError

# ------------------------------------------------------------------------------------------
# The seed guide's serial SDK path
# ------------------------------------------------------------------------------------------


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

    def __init__(
        self,
        api_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        redirect_url: str | None,
        workload: Workload,
    ) -> None:
        from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
        from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
        from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
        from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig

        _secrets.register(client_secret, refresh_token)
        self.w = workload
        # The FileStore CSV holds the tokens in plain text: private folder, removed in close().
        self._dir = tempfile.mkdtemp(prefix="sergas-nb-seed-sdk-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._dir, True)  # even if close() is never called
        env = DataCenter.Environment(api_url.rstrip("/"), token_url, api_url.rstrip("/"))
        token = OAuthToken(
            client_id=client_id, client_secret=client_secret, refresh_token=refresh_token, redirect_url=redirect_url
        )
        config = SDKConfig(auto_refresh_fields=True, pick_list_validation=True, connect_timeout=30.0, read_timeout=60.0)
        with sdk_own_transport():  # the guide's code opens a connection per call, so does this path
            self._initializer = initialize_isolated(
                environment=env,
                token=token,
                store=FileStore(f"{self._dir}/tokens.csv"),
                sdk_config=config,
                resource_path=self._dir,
            )

    @contextlib.contextmanager
    def _active(self) -> Iterator[None]:
        """Our initializer current and the SDK's own transport, for one operation (then restored)."""
        with initializer_current(self._initializer), sdk_own_transport():
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
        if obj is None:  # the SDK turns malformed JSON into None, silently
            raise ZohoAPIError(
                f"HTTP {response.get_status_code()} with an unreadable body",
                code="bad_response",
                status=response.get_status_code(),
            )
        code = obj.get_code().get_value() if hasattr(obj, "get_code") and obj.get_code() is not None else "UNKNOWN"
        raise ZohoAPIError(
            f"{code}: {obj.get_message() if hasattr(obj, 'get_message') else obj}",
            code=str(code),
            status=response.get_status_code(),
        )

    def _field(self, name: str) -> Any:
        """The guide's ``_convert_to_zoho_field``: a ``Field.Accounts`` object where it maps one."""
        from zohocrmsdk.src.com.zoho.crm.api.record.field import Field

        mapped = {
            "account_name": Field.Accounts.account_name,
            "account_type": Field.Accounts.account_type,
            "industry": Field.Accounts.industry,
            "annual_revenue": Field.Accounts.annual_revenue,
            "phone": Field.Accounts.phone,
            "website": Field.Accounts.website,
            "description": Field.Accounts.description,
        }.get(name.lower())
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
        from zohocrmsdk.src.com.zoho.crm.api.record import (
            GetRecordsParam,
            RecordOperations,
            ResponseWrapper,
            SearchRecordsParam,
        )

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
