"""Tier 3: any Zoho CRM endpoint as plain REST, through the client's own plumbing.

``ZohoClient.request`` / ``ZohoClient.paginate`` are thin methods over these functions. A call
goes through the client's request pipeline (``_pipeline.Pipeline.call``): the same Session (timeouts,
keep-alive), the same access token and single refresh-and-retry on 401, the same metrics, and
retries only when repeating is safe (GET by default; a write is retried only when it surely was
not sent). The host is pinned: ``path`` is a path on the configured API host; an absolute URL is
accepted only when it names that same host, anything else is refused before a byte is sent.

    crm.request("GET", "/crm/v8/org")                                   # {"org": [...]}
    crm.request("GET", "/crm/v8/users", params={"type": "AllUsers"})
    for user in crm.paginate("/crm/v8/users", params={"type": "AllUsers"}, key="users"): ...
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from sergas_nb._http import origin as _origin
from sergas_nb._paging import PER_PAGE, PageCursor, Walk
from sergas_nb._pipeline import Pipeline
from sergas_nb.errors import Problem, ZohoAPIError, ZohoValidationError

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def pinned_path(api_url: str, path: str) -> str:
    """``path`` as a path on ``api_url``'s host; ZohoValidationError for anything that could leave it."""
    text = str(path).strip()
    if text.lower().startswith(("http://", "https://")):
        if _origin(text) != _origin(api_url):
            raise ZohoValidationError(
                [Problem("path", f"only the configured API host {api_url} may be called", None, text)]
            )
        parts = urlsplit(text)
        text = parts.path + (f"?{parts.query}" if parts.query else "")
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        # "//host/x" is scheme-relative and "@host/x" would become userinfo: both leave the API host.
        raise ZohoValidationError([Problem("path", "must be a path on the API host, starting with /", None, text)])
    if any(seg in ("..", ".") for seg in urlsplit(text).path.split("/")):
        raise ZohoValidationError([Problem("path", "must not contain . or .. segments", None, text)])
    if _origin(api_url + text) != _origin(api_url):  # belt and braces: the joined URL stays on our host
        raise ZohoValidationError([Problem("path", "would leave the API host", None, text)])
    return text


def request(
    p: Pipeline,
    method: str,
    path: str,
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    *,
    retry: bool | None = None,
) -> dict[str, Any]:
    """One call; the parsed JSON answer. A 204/304 (Zoho's "nothing matched") gives ``{}``."""
    verb = str(method).upper()
    if verb not in METHODS:
        raise ZohoValidationError([Problem("method", f"must be one of {', '.join(METHODS)}", None, method)])
    target = pinned_path(p.api_url, path)
    safe = verb == "GET" if retry is None else bool(retry)
    data = p.call(
        f"request {verb}",
        lambda: p.http(verb, target, params=params, json_body=json),
        idempotent=safe,
        count=_count,
    )
    if data is None:
        return {}
    if not isinstance(data, dict):  # every Zoho JSON answer is an object; say so if one is not
        raise ZohoAPIError(f"{verb} {target}: the answer is not a JSON object", code="MALFORMED_RESPONSE", status=200)
    return data


def _count(data: Any) -> int:
    if isinstance(data, dict):
        for value in data.values():
            if isinstance(value, list):
                return len(value)
    return 0


def _rows_of(data: Mapping[str, Any], key: str | None, where: str) -> list[Any]:
    if key is not None:
        rows = data.get(key)
        if rows is None:
            return []
        if not isinstance(rows, list):
            raise ZohoAPIError(f"{where}: {key!r} in the answer is not a list", code="MALFORMED_RESPONSE", status=200)
        return rows
    lists = [v for k, v in data.items() if isinstance(v, list) and k != "info"]
    if len(lists) > 1:
        raise ZohoAPIError(
            f"{where}: the answer has several lists ({', '.join(k for k, v in data.items() if isinstance(v, list))});"
            " pass key= to choose one",
            code="AMBIGUOUS_ANSWER",
            status=200,
        )
    return lists[0] if lists else []


def paginate(
    p: Pipeline,
    path: str,
    params: Mapping[str, Any] | None = None,
    *,
    key: str | None = "data",
    per_page: int = PER_PAGE,
    max_records: int | None = None,
    pages: bool = False,
) -> Iterator[Any]:
    """GET ``path`` page after page: rows of ``key`` (or whole pages with ``pages=True``).

    Follows ``info.more_records``: with the answer's ``next_page_token`` when it has one (the only
    way past record 2,000 of a list), else ``page`` + 1. ``key=None`` takes the answer's one
    list, whatever its name (``users``, ``modules`` ...). Stops after ``max_records`` rows.
    """
    if not 1 <= per_page <= PER_PAGE:
        raise ZohoValidationError([Problem("per_page", f"must be between 1 and {PER_PAGE}", None, per_page)])
    if max_records is not None and max_records < 0:
        raise ZohoValidationError([Problem("max_records", "must be >= 0", None, max_records)])
    pinned_path(p.api_url, path)  # refuse an off-host path now, not at the first next()
    given = dict(params or {})
    base = {k: v for k, v in given.items() if k not in ("page", "page_token")}
    base.setdefault("per_page", per_page)
    return _walk(p, path, base, int(given.get("page", 1)), given.get("page_token"), key, max_records, pages)


def _walk(
    p: Pipeline,
    path: str,
    base: dict[str, Any],
    page: int,
    token: str | None,
    key: str | None,
    max_records: int | None,
    pages: bool,
) -> Iterator[Any]:
    walk = Walk(
        lambda q: request(p, "GET", path, params=dict(base, **q)),
        PageCursor(page=page, token=token, tokens="given", what=f"GET {path}"),
        limit=max_records,
        rows=lambda data: _rows_of(data or {}, key, f"GET {path}"),
    )
    for got in walk:
        if pages:
            yield got.data
        else:
            yield from got.rows
