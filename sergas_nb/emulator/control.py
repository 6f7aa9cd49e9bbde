"""HTTP client for the emulator's /__emulator__/ test controls (works for LocalZoho and the CLI server)."""

from __future__ import annotations

import urllib.request
from typing import Any

import requests


class Control:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.base = url.rstrip("/") + "/__emulator__"
        self.timeout = timeout
        self._session = requests.Session()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        # Every write carries a JSON body: the controls refuse anything else (control_guard.py).
        payload = body if body is not None or method == "GET" else {}
        r = self._session.request(method, self.base + path, json=payload, timeout=self.timeout)
        if r.status_code >= 400:
            raise ValueError(f"emulator control {path} failed: {r.status_code} {r.text}")
        return r.json()

    def reset(self) -> Any:
        return self._call("POST", "/reset")

    def reseed(self, seed: int | None = None, accounts: int | None = None) -> Any:
        return self._call("POST", "/reseed", {"seed": seed, "accounts": accounts})

    def set_latency(self, fixed: float = 0.0, per_record: float = 0.0) -> Any:
        return self._call("POST", "/latency", {"fixed": fixed, "per_record": per_record})

    def add_fault(self, kind: str, path: str = ".*", method: str | None = None, count: int = 1, **options: Any) -> Any:
        """kind: status | 429 | reset | stall | malformed | token_death; options: status, body
        ("zoho"/"html"), seconds, code, after (True: the request is applied first, then its answer
        fails), every (fire on each Nth matching request only; ``count`` times in all)."""
        return self._call("POST", "/faults", {"kind": kind, "path": path, "method": method, "count": count, **options})

    def clear_faults(self) -> Any:
        return self._call("DELETE", "/faults")

    def set_limits(
        self, concurrency: int | None = None, sub_concurrency: int | None = None, credits_per_day: int | None = None
    ) -> Any:
        return self._call(
            "POST",
            "/limits",
            {"concurrency": concurrency, "sub_concurrency": sub_concurrency, "credits_per_day": credits_per_day},
        )

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/stats")

    def requests_to(self, path: str, method: str | None = None) -> int:
        """How many requests reached ``path`` (optionally with ``method``) since the last reset."""
        s = self.stats()
        if method:
            return int(s["requests"].get(f"{method.upper()} {path}", 0))
        return int(s["by_path"].get(path, 0))

    def restore(self, module: str, ids: list[str]) -> list[str]:
        """Restore deleted records from the recycle bin (their ids and values come back)."""
        return self._call("POST", "/restore", {"module": module, "ids": list(ids)})["restored"]

    def add_field(
        self,
        module: str,
        api_name: str,
        data_type: str = "text",
        label: str | None = None,
        picklist: list[str] | None = None,
    ) -> Any:
        """Add a custom field to ``module`` (or retype one), as an admin would in Zoho's setup."""
        body: dict[str, Any] = {"module": module, "api_name": api_name, "data_type": data_type, "field_label": label}
        if picklist is not None:
            body["picklist"] = picklist
        return self._call("POST", "/fields", body)

    def remove_field(self, module: str, api_name: str) -> Any:
        return self._call("DELETE", "/fields", {"module": module, "api_name": api_name})

    def self_client_code(self, client_id: str, scopes: str, ttl: float = 120) -> str:
        return self._call("POST", "/oauth/self-client-code", {"client_id": client_id, "scopes": scopes, "ttl": ttl})[
            "code"
        ]

    @staticmethod
    def browse(url: str, timeout: float = 30.0) -> tuple[int, str]:
        """Play the analyst's browser: GET ``url`` (e.g. an auto-approving consent page), follow redirects.

        urllib, not requests: urllib3 logs every URL at DEBUG, and the redirect carries the code.
        Returns the status and text of the page the redirect landed on (the callback catcher's).
        """
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status), resp.read().decode("utf-8", "replace")

    def close(self) -> None:
        self._session.close()
