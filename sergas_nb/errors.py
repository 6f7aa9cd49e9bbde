"""One exception tree for everything sergas_nb raises.

    ZohoError(message, details)
    ├── ZohoAuthError          OAuth failed: bad client, expired/reused code, revoked token
    ├── ZohoAPIError           Zoho answered with an error (code, status, details) or did not answer
    │   ├── ZohoRateLimitError 429 TOO_MANY_REQUESTS / OAuth "Access Denied" (retry_after): not applied
    │   └── ZohoTransportError no usable answer came back
    │       ├── ZohoNotSentError        surely never reached Zoho: connection refused, DNS, connect
    │       │                           timeout, a host this client was not given
    │       └── ZohoOutcomeUnknownError may have been applied: reset after sending, read timeout,
    │                                   an HTML 5xx or an unreadable answer (``may_have_applied``)
    ├── ZohoConfigError        missing or invalid settings, every problem named at once
    ├── ZohoDatabaseError      the token store or journal database (host, port, db; never the password)
    └── ZohoValidationError    bad input caught before anything is sent (row, field, value)

Messages never carry tokens or client secrets: whoever builds one passes values through
``sergas_nb._secrets.redact`` first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ZohoError(Exception):
    """Base of every error raised by sergas_nb."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        return self.message


class ZohoAuthError(ZohoError):
    """The accounts server refused: invalid client/secret/code, or a revoked/expired token."""

    def __init__(self, message: str, code: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details)
        self.code = code


class ZohoAPIError(ZohoError):
    """Zoho answered with an error, or the call failed in transport (``status`` is then None)."""

    def __init__(
        self,
        message: str,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, details)
        self.code = code
        self.status = status

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status is not None else "no HTTP answer"
        return f"{self.message} ({self.code or 'UNKNOWN'}, {where})"


class ZohoRateLimitError(ZohoAPIError):
    """Too many requests: concurrency, credits, or OAuth refresh throttling."""

    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        code: str | None = "TOO_MANY_REQUESTS",
        status: int | None = 429,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code, status=status, details=details)
        self.retry_after = retry_after


class ZohoTransportError(ZohoAPIError):
    """No usable answer: the subclass says whether the request may have reached Zoho."""

    #: True when Zoho may have applied the request (a write must be read back, not blindly resent).
    may_have_applied: bool = True


class ZohoNotSentError(ZohoTransportError):
    """The request surely never reached Zoho (refused, unresolvable, connect timeout): safe to resend."""

    may_have_applied = False


class ZohoOutcomeUnknownError(ZohoTransportError):
    """The request was sent but its answer was lost or unreadable: Zoho may have applied it."""

    may_have_applied = True


class ZohoConfigError(ZohoError):
    """Settings are missing or invalid; ``problems`` maps each variable to what is wrong."""

    def __init__(self, problems: dict[str, str]) -> None:
        lines = [f"  {name}: {why}" for name, why in problems.items()]
        super().__init__("Invalid sergas_nb configuration:\n" + "\n".join(lines), {"problems": problems})
        self.problems = dict(problems)


class ZohoDatabaseError(ZohoError):
    """The PostgreSQL database is unreachable, or its schema is missing."""


@dataclass(frozen=True)
class Problem:
    """One bad input value: which row (position or id), which field, what value, and why."""

    field: str | None
    reason: str
    row: int | str | None = None
    value: Any = None

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        value = f" (value {self.value!r})" if self.value is not None else ""
        return f"{', '.join(where) or 'input'}: {self.reason}{value}"


class ZohoValidationError(ZohoError, ValueError):
    """Input rejected before anything was sent; ``problems`` lists every bad value."""

    def __init__(self, problems: list[Problem]) -> None:
        shown = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(
            f"{len(problems)} invalid value(s), nothing was sent:\n{shown}{more}",
            {"problems": [p.__dict__ for p in problems]},
        )
        self.problems = list(problems)
