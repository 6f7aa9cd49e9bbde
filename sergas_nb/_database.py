"""Open PostgreSQL connections with a short timeout and errors that name the server, never the password."""

from __future__ import annotations

from typing import Any

import psycopg

from sergas_nb import _secrets
from sergas_nb.config import dsn_label, dsn_password
from sergas_nb.errors import ZohoDatabaseError

CONNECT_TIMEOUT = 5  # seconds: a notebook should learn fast that the database is down


def database_error(dsn: str, exc: BaseException, doing: str = "connect to") -> ZohoDatabaseError:
    """A ZohoDatabaseError naming host:port/db and the cause, with any password redacted."""
    reason = " ".join(str(exc).split()) or type(exc).__name__
    reason = _secrets.redact(reason, extra=[dsn_password(dsn), dsn])
    return ZohoDatabaseError(f"Cannot {doing} PostgreSQL at {dsn_label(dsn)}: {reason}", {"database": dsn_label(dsn)})


def connect(
    dsn: str, *, autocommit: bool = True, connect_timeout: int = CONNECT_TIMEOUT, **kwargs: Any
) -> psycopg.Connection[Any]:
    """psycopg.connect with a timeout; failures become ZohoDatabaseError (no password in it)."""
    _secrets.register(dsn_password(dsn))
    try:
        return psycopg.connect(
            dsn, autocommit=autocommit, connect_timeout=connect_timeout, application_name="sergas_nb", **kwargs
        )
    except psycopg.Error as exc:
        raise database_error(dsn, exc) from None
    except Exception as exc:  # malformed DSN and the like; do not chain: the cause may show the DSN
        raise database_error(dsn, exc) from None
