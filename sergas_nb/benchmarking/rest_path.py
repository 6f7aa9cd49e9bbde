"""The ``rest`` path: plain REST with one ``requests.Session``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests

from sergas_nb import _secrets
from sergas_nb.benchmarking.operations import COQL_PAGE, DISCRETE_PAGES_LIMIT, Workload, _batches, _pages
from sergas_nb.errors import ZohoAPIError, ZohoAuthError

# ------------------------------------------------------------------------------------------
# Plain REST: requests.Session, JSON in, dicts out
# ------------------------------------------------------------------------------------------


def fetch_access_token(
    token_url: str, client_id: str, client_secret: str, refresh_token: str, timeout: float = 30
) -> str:
    """One refresh-token grant; returns the access token (registered for redaction)."""
    _secrets.register(client_secret, refresh_token)
    resp = requests.post(
        token_url,
        data={
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
        },
        timeout=timeout,
    )
    try:
        body = resp.json()
    except ValueError:
        raise ZohoAuthError(
            f"token endpoint answered HTTP {resp.status_code} without JSON", code="bad_response"
        ) from None
    # Zoho reports OAuth failures as HTTP 200 with {"error": ...}: check the body, not the status.
    if "access_token" not in body:
        raise ZohoAuthError(
            f"token refresh refused: {body.get('error', 'unknown error')}", code=str(body.get("error", "unknown"))
        )
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
            raise ZohoAPIError(
                f"HTTP {resp.status_code} without JSON", code="bad_response", status=resp.status_code
            ) from None
        if resp.status_code >= 400:
            raise ZohoAPIError(
                f"{body.get('code')}: {body.get('message')}",
                code=str(body.get("code")),
                status=resp.status_code,
                details=body.get("details"),
            )
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
            body = self._json(
                self.session.post(
                    self.base + "/coql", timeout=self.timeout, json={"select_query": self.w.coql_query(limit, got)}
                )
            )
            got += len(body["data"])
            if not body.get("info", {}).get("more_records") or not body["data"]:
                break
        return got

    def _outcomes(self, body: dict[str, Any]) -> int:
        return sum(1 for item in body.get("data", []) if item.get("status") == "success")

    def update(self, ids: Sequence[str], value: str) -> int:
        ok = 0
        for rid in ids:
            body = self._json(
                self.session.put(
                    f"{self.base}/{self.w.module}/{rid}",
                    timeout=self.timeout,
                    json={"data": [{self.w.update_field: value}], "trigger": []},
                )
            )
            ok += self._outcomes(body)
        return ok

    def bulk_update(self, ids: Sequence[str], value: str) -> int:
        ok = 0
        for batch in _batches(ids):
            data = [{"id": rid, self.w.update_field: value} for rid in batch]
            body = self._json(
                self.session.put(
                    f"{self.base}/{self.w.module}", timeout=self.timeout, json={"data": data, "trigger": []}
                )
            )
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
