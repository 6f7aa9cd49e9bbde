"""sergas_nb: Zoho CRM from notebooks, as typed pandas DataFrames.

The official SDK (zohocrmsdk8-0) does auth, token storage, metadata and writes; reads come back
as DataFrames typed from the module's field metadata. ``sergas_nb.emulator`` is a local Zoho CRM
that the unmodified SDK runs against; it is used only when selected explicitly.

The public API lives here; each name is imported on first use, so ``import sergas_nb`` stays
quick (no pandas, SDK or web server until a name needs them)::

    import sergas_nb as sn
    crm = sn.connect()                      # settings from the environment / .env
    plan = sn.EditPlan.build(crm, ...)      # preview, then sn.apply(plan, crm), sn.undo(plan, crm)

Layout: the client core at the top (config, errors, auth, tokens, client, frames);
``edits/`` (plans, value checks, journal, migrations); ``lab/`` (widgets, notebook runner,
reports, demo, targets); ``benchmarking/``; ``emulator/``.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a third of the import time)
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "connect": "sergas_nb.client",
    "ZohoClient": "sergas_nb.client",
    "WriteResult": "sergas_nb.client",
    "connect_target": "sergas_nb.lab.targets",
    "authorization_url": "sergas_nb.auth",
    "exchange_code": "sergas_nb.auth",
    "CallbackCatcher": "sergas_nb.auth",
    "write_env_file": "sergas_nb.auth",
    "token_namespace": "sergas_nb.tokens",
    "install_log_redaction": "sergas_nb._secrets",
    "EDIT_RULES": "sergas_nb.edits.plans",
    "resolve_new": "sergas_nb.edits.plans",
    "current_values": "sergas_nb.edits.plans",
    "render_charts": "sergas_nb.lab.widgets",
    "summarize_accounts": "sergas_nb.lab.widgets",
    "EmulatorControl": "sergas_nb.emulator",
    "load_org": "sergas_nb.lab.account360",
    "FrameDetails": "sergas_nb.lab.account360",
    "ClientDetails": "sergas_nb.lab.account360",
    "account_health": "sergas_nb.health",
    "health_from": "sergas_nb.health",
    "load_settings": "sergas_nb.config",
    "Settings": "sergas_nb.config",
    "PostgresTokenStore": "sergas_nb.tokens",
    "EditPlan": "sergas_nb.edits.plans",
    "ApplyResult": "sergas_nb.edits.plans",
    "apply": "sergas_nb.edits.plans",
    "undo": "sergas_nb.edits.plans",
    "journal_entries": "sergas_nb.edits.plans",
    "Journal": "sergas_nb.edits.journal",
    "apply_migrations": "sergas_nb.edits.migrate",
    "AccountExplorer": "sergas_nb.lab.widgets",
    "Mirror": "sergas_nb.mirror",
    "LocalZoho": "sergas_nb.emulator",
    "ZohoError": "sergas_nb.errors",
    "ZohoAuthError": "sergas_nb.errors",
    "ZohoAPIError": "sergas_nb.errors",
    "ZohoRateLimitError": "sergas_nb.errors",
    "ZohoConfigError": "sergas_nb.errors",
    "ZohoDatabaseError": "sergas_nb.errors",
    "ZohoValidationError": "sergas_nb.errors",
    "ZohoTransportError": "sergas_nb.errors",
    "ZohoNotSentError": "sergas_nb.errors",
    "ZohoOutcomeUnknownError": "sergas_nb.errors",
    "Problem": "sergas_nb.errors",
}

# Spelled out for linters and readers; tests check it matches _EXPORTS.
__all__ = [
    "AccountExplorer",
    "ApplyResult",
    "CallbackCatcher",
    "ClientDetails",
    "EDIT_RULES",
    "EditPlan",
    "EmulatorControl",
    "FrameDetails",
    "Journal",
    "LocalZoho",
    "Mirror",
    "PostgresTokenStore",
    "Problem",
    "Settings",
    "WriteResult",
    "ZohoAPIError",
    "ZohoAuthError",
    "ZohoClient",
    "ZohoConfigError",
    "ZohoDatabaseError",
    "ZohoError",
    "ZohoNotSentError",
    "ZohoOutcomeUnknownError",
    "ZohoRateLimitError",
    "ZohoTransportError",
    "ZohoValidationError",
    "account_health",
    "apply",
    "apply_migrations",
    "authorization_url",
    "connect",
    "connect_target",
    "current_values",
    "exchange_code",
    "health_from",
    "install_log_redaction",
    "journal_entries",
    "load_org",
    "load_settings",
    "render_charts",
    "resolve_new",
    "summarize_accounts",
    "token_namespace",
    "undo",
    "write_env_file",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sergas_nb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from sergas_nb._secrets import install_log_redaction
    from sergas_nb.auth import CallbackCatcher, authorization_url, exchange_code, write_env_file
    from sergas_nb.client import WriteResult, ZohoClient, connect
    from sergas_nb.config import Settings, load_settings
    from sergas_nb.edits.journal import Journal
    from sergas_nb.edits.migrate import apply_migrations
    from sergas_nb.edits.plans import (
        EDIT_RULES,
        ApplyResult,
        EditPlan,
        apply,
        current_values,
        journal_entries,
        resolve_new,
        undo,
    )
    from sergas_nb.emulator import EmulatorControl, LocalZoho
    from sergas_nb.errors import (
        Problem,
        ZohoAPIError,
        ZohoAuthError,
        ZohoConfigError,
        ZohoDatabaseError,
        ZohoError,
        ZohoNotSentError,
        ZohoOutcomeUnknownError,
        ZohoRateLimitError,
        ZohoTransportError,
        ZohoValidationError,
    )
    from sergas_nb.health import account_health, health_from
    from sergas_nb.lab.account360 import ClientDetails, FrameDetails, load_org
    from sergas_nb.lab.targets import connect_target
    from sergas_nb.lab.widgets import AccountExplorer, render_charts, summarize_accounts
    from sergas_nb.mirror import Mirror
    from sergas_nb.tokens import PostgresTokenStore, token_namespace
