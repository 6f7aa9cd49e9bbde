"""Keep tokens and client secrets out of logs, errors and notebook outputs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

MASK = "***"
_known: set[str] = set()
# Zoho tokens look like 1000.<hex>.<hex>; access/refresh tokens of the emulator follow the same shape.
_TOKEN_RE = re.compile(r"\b1000\.[0-9a-f]{16,}\.[0-9a-f]{16,}\b")
_FORM_RE = re.compile(r"\b((?:client_secret|refresh_token|access_token|code|Zoho-oauthtoken)[=: ]+)[^&\s\"',]+")


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


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """``record`` with no secret in its message, traceback or stack (only what held one is changed).

    A traceback is formatted here, redacted into ``exc_text`` (what every ``logging.Formatter``
    prints when it is set), and ``exc_info`` is dropped when it held a secret: a formatter of its
    own would format the live exception again, secret included.
    """
    try:
        text = record.getMessage()
    except Exception:  # a malformed call: logging reports it later with msg and args, so redact both
        record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) for a in record.args)
        elif record.args:
            record.args = None
    else:
        masked = redact(text)
        if masked != text:
            record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        trace = _TRACEBACK_FORMATTER.formatException(record.exc_info)
        masked = redact(trace)
        if masked != trace:
            record.exc_text, record.exc_info = masked, None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


_TRACEBACK_FORMATTER = logging.Formatter()  # the stdlib's own traceback text


def _redact_or_withhold(record: logging.LogRecord) -> None:
    try:
        redact_record(record)
    except Exception:  # never let a log call fail, never let an unchecked record through
        record.msg, record.args = "[sergas_nb withheld a log record it could not check for secrets]", None
        record.exc_info = record.exc_text = record.stack_info = None


class RedactingFilter(logging.Filter):
    """A logging filter that redacts every record it sees (message, traceback, stack)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_or_withhold(record)
        return True


def _install_record_factory() -> None:
    """Redact each record as it is made, whichever logger makes it and whichever handler shows it.

    Filters only see what passes the logger or handler they sit on: a child logger's records skip
    its parents' filters, and a handler added later has none. The record factory sees them all.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_sergas_nb_redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _redact_or_withhold(record)
        return record

    factory._sergas_nb_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def install_log_redaction(logger_names: Iterable[str] = ("sergas_nb", "SDKLogger", "")) -> None:
    """Redact every log record of the process; also filter our logger, the SDK's and the root handlers.

    The filters stay for records the factory never saw: made before this call or by
    ``logging.makeLogRecord`` (a socket or queue listener), or after someone replaced the factory.
    """
    _install_record_factory()
    f = RedactingFilter()
    for name in logger_names:
        lg = logging.getLogger(name)
        if not any(isinstance(x, RedactingFilter) for x in lg.filters):
            lg.addFilter(f)
        for h in lg.handlers:
            if not any(isinstance(x, RedactingFilter) for x in h.filters):
                h.addFilter(f)
