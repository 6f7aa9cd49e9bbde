"""Keep tokens and client secrets out of logs, errors and notebook outputs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "***"
_known: set[str] = set()
# Zoho tokens look like 1000.<hex>.<hex>; access/refresh tokens of the emulator follow the same shape.
_TOKEN_RE = re.compile(r"\b1000\.[0-9a-f]{16,}\.[0-9a-f]{16,}\b")
_FORM_RE = re.compile(r"((?:client_secret|refresh_token|access_token|code|Zoho-oauthtoken)[=: ]+)[^&\s\"',]+")


def register(*secrets: str | None) -> None:
    """Remember values that must never be shown (shorter than 6 characters are ignored)."""
    for s in secrets:
        if s and len(s) >= 6:
            _known.add(s)


def redact(text: object, extra: Iterable[str | None] = ()) -> str:
    """``text`` with every registered or token-shaped secret replaced by ***."""
    out = str(text)
    for s in sorted({*_known, *(e for e in extra if e and len(e) >= 6)}, key=len, reverse=True):
        out = out.replace(s, MASK)
    out = _TOKEN_RE.sub(MASK, out)
    return _FORM_RE.sub(lambda m: m.group(1) + MASK, out)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def install_log_redaction(logger_names: Iterable[str] = ("sergas_nb", "SDKLogger", "")) -> None:
    """Attach the redacting filter to our logger, the SDK's logger and the root handlers."""
    f = RedactingFilter()
    for name in logger_names:
        lg = logging.getLogger(name)
        if not any(isinstance(x, RedactingFilter) for x in lg.filters):
            lg.addFilter(f)
        for h in lg.handlers:
            if not any(isinstance(x, RedactingFilter) for x in h.filters):
                h.addFilter(f)
