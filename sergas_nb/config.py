"""Configuration: environment variables and ``.env``, checked all at once, secrets kept secret.

``load_settings()`` is the entry point. It reads ``ZOHO_SDK_*`` and ``DATABASE_*`` from keyword
overrides, the process environment and a ``.env`` file (in that order of precedence), and raises one
:class:`~sergas_nb.errors.ZohoConfigError` naming every missing or invalid variable. Secret values
(client secret, refresh token, database password) are ``SecretStr``: they never show in ``repr``,
``str`` or error text, and are registered with :mod:`sergas_nb._secrets` for log redaction.

``DATA_CENTRES`` maps (region, environment) to the three hosts a Zoho client needs; ``local`` maps
everything to the emulator's URL.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from sergas_nb import _secrets
from sergas_nb.errors import ZohoConfigError

Region = Literal["us", "eu", "in", "au", "jp", "cn", "ca", "sa", "local"]
Environment = Literal["production", "sandbox", "developer"]
REGIONS: tuple[str, ...] = ("us", "eu", "in", "au", "jp", "cn", "ca", "sa", "local")
ENVIRONMENTS: tuple[str, ...] = ("production", "sandbox", "developer")


# --------------------------------------------------------------------------------------------
# Hosts per data centre
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoints:
    """The hosts of one Zoho data centre (no trailing slash), by role: ``api_url`` (CRM API),
    ``accounts_url`` (OAuth), ``content_url`` (file upload, alias ``upload_url``) and
    ``download_url`` (Bulk Write result files). The last is derived from the accounts server, so
    an ``Endpoints`` is still built from the three hosts the SDK's data-centre classes name."""

    api_url: str  # CRM API host; the SDK appends /crm/v8/...
    accounts_url: str  # OAuth accounts server
    upload_url: str  # file upload host (Bulk Write): the "content" role

    @property
    def content_url(self) -> str:
        return self.upload_url

    @property
    def download_url(self) -> str:
        """Host of Bulk Write result files; the emulator (any other accounts server) serves them itself."""
        return _DOWNLOAD_HOSTS.get(self.accounts_url, self.api_url)

    @property
    def token_url(self) -> str:
        return self.accounts_url + "/oauth/v2/token"

    @property
    def auth_url(self) -> str:
        return self.accounts_url + "/oauth/v2/auth"

    @property
    def revoke_url(self) -> str:
        return self.accounts_url + "/oauth/v2/token/revoke"


# region: (accounts server, API domain suffix, upload host) from Zoho's data-centre list / the SDK's dc classes.
_DC_HOSTS: dict[str, tuple[str, str, str]] = {
    "us": ("https://accounts.zoho.com", "zohoapis.com", "https://content.zohoapis.com"),
    "eu": ("https://accounts.zoho.eu", "zohoapis.eu", "https://content.zohoapis.eu"),
    "in": ("https://accounts.zoho.in", "zohoapis.in", "https://content.zohoapis.in"),
    "au": ("https://accounts.zoho.com.au", "zohoapis.com.au", "https://content.zohoapis.com.au"),
    "jp": ("https://accounts.zoho.jp", "zohoapis.jp", "https://content.zohoapis.jp"),
    "cn": ("https://accounts.zoho.com.cn", "zohoapis.com.cn", "https://content.zohoapis.com.cn"),
    "ca": ("https://accounts.zohocloud.ca", "zohoapis.ca", "https://upload.zohocloud.ca"),
    "sa": ("https://accounts.zoho.sa", "zohoapis.sa", "https://files.zoho.sa"),
}
# Bulk Write result files come from a download host, by accounts server. US: Zoho's documented
# sample https://download-accl.zoho.com/v2/crm/{org}/bulk-write/{job}/{job}.zip
# (https://zoho.com/crm/developer/docs/api/v2/bulk-write/download-result.html, see
# ../shared/reference/zoho-crm-v8.md). The other data centres are *unconfirmed*: the same name on
# their own domain, the most plausible host.
_DOWNLOAD_HOSTS: dict[str, str] = {
    accounts: "https://download-accl." + accounts.removeprefix("https://accounts.")
    for accounts, _suffix, _upload in _DC_HOSTS.values()
}
# Sandbox and developer orgs have their own API host; accounts and upload hosts are shared.
_API_PREFIX = {"production": "www", "sandbox": "sandbox", "developer": "developer"}

DATA_CENTRES: dict[tuple[str, str], Endpoints] = {
    (region, env): Endpoints(f"https://{prefix}.{suffix}", accounts, upload)
    for region, (accounts, suffix, upload) in _DC_HOSTS.items()
    for env, prefix in _API_PREFIX.items()
}


def endpoints_for(region: str, environment: str = "production", local_url: str | None = None) -> Endpoints:
    """Hosts for ``region`` x ``environment``; ``local`` points all three at the emulator."""
    region = region.strip().lower()
    environment = environment.strip().lower()
    if region == "local":
        if not local_url:
            raise ZohoConfigError({"ZOHO_SDK_LOCAL_URL": "required when ZOHO_SDK_REGION=local"})
        base = local_url.rstrip("/")
        return Endpoints(base, base, base)
    try:
        return DATA_CENTRES[(region, environment)]
    except KeyError:
        problems = {}
        if region not in REGIONS:
            problems["ZOHO_SDK_REGION"] = f"{region!r} is not one of {', '.join(REGIONS)}"
        if environment not in ENVIRONMENTS:
            problems["ZOHO_SDK_ENVIRONMENT"] = f"{environment!r} is not one of {', '.join(ENVIRONMENTS)}"
        raise ZohoConfigError(problems) from None


def is_loopback_url(url: str) -> bool:
    """True for an http(s) URL whose host is 127.0.0.0/8, ::1 or localhost."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def dsn_label(dsn: str) -> str:
    """``host:port/dbname`` of a libpq DSN or URL, never the password (for error messages)."""
    try:
        d = conninfo_to_dict(dsn)
    except Exception:  # unparsable: say so without echoing it (it may hold a password)
        return "<unparsable database URL>"
    host = d.get("host") or d.get("hostaddr") or "localhost"
    return f"{host}:{d.get('port') or 5432}/{d.get('dbname') or d.get('user') or '?'}"


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------

# field name -> environment variable
ENV_NAMES: dict[str, str] = {
    "client_id": "ZOHO_SDK_CLIENT_ID",
    "client_secret": "ZOHO_SDK_CLIENT_SECRET",
    "refresh_token": "ZOHO_SDK_REFRESH_TOKEN",
    "redirect_url": "ZOHO_SDK_REDIRECT_URL",
    "region": "ZOHO_SDK_REGION",
    "local_url": "ZOHO_SDK_LOCAL_URL",
    "environment": "ZOHO_SDK_ENVIRONMENT",
    "database_url": "DATABASE_URL",
    "database_host": "DATABASE_HOST",
    "database_port": "DATABASE_PORT",
    "database_name": "DATABASE_NAME",
    "database_user": "DATABASE_USER",
    "database_password": "DATABASE_PASSWORD",
}
SECRET_FIELDS = frozenset({"client_secret", "refresh_token", "database_url", "database_password"})


def _env(field: str) -> Any:
    return Field(default=None, validation_alias=AliasChoices(ENV_NAMES[field], field))


class Settings(BaseSettings):
    """Validated configuration. Build it with :func:`load_settings` to get every problem at once."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    client_id: str | None = _env("client_id")
    client_secret: SecretStr | None = _env("client_secret")
    refresh_token: SecretStr | None = _env("refresh_token")
    redirect_url: str | None = _env("redirect_url")
    region: Region = Field(default="us", validation_alias=AliasChoices("ZOHO_SDK_REGION", "region"))
    local_url: str | None = _env("local_url")
    environment: Environment = Field(
        default="production", validation_alias=AliasChoices("ZOHO_SDK_ENVIRONMENT", "environment")
    )
    database_url: SecretStr | None = _env("database_url")
    database_host: str | None = _env("database_host")
    database_port: int = Field(
        default=5432, ge=1, le=65535, validation_alias=AliasChoices("DATABASE_PORT", "database_port")
    )
    database_name: str | None = _env("database_name")
    database_user: str | None = _env("database_user")
    database_password: SecretStr | None = _env("database_password")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings has already read overrides, environment and .env by ZOHO_SDK_*/DATABASE_*
        # names; reading them again here would also match the bare aliases (an unrelated
        # ENVIRONMENT=staging or REGION=... would break or redirect the configuration).
        return (init_settings,)

    @field_validator("region", "environment", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("local_url")
    @classmethod
    def _loopback(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not is_loopback_url(v):
            raise ValueError("must be an http(s) URL on 127.0.0.1 or localhost (the emulator runs on loopback only)")
        return v.rstrip("/")

    @field_validator("redirect_url")
    @classmethod
    def _redirect(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL, exactly as registered in Zoho's API console")
        return v

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None:
            return v
        raw = v.get_secret_value()
        scheme = raw.split("://", 1)[0].lower() if "://" in raw else ""
        if scheme and not scheme.startswith("postgres"):
            raise ValueError("must be a postgresql:// URL")  # never echo: it may hold a password
        try:
            conninfo_to_dict(normalise_database_url(raw))
        except Exception:
            raise ValueError("is not a valid PostgreSQL URL or conninfo string") from None
        return v

    # -- derived values ---------------------------------------------------------------------
    def endpoints(self) -> Endpoints:
        return endpoints_for(self.region, self.environment, self.local_url)

    def database_dsn(self) -> str:
        """A libpq DSN for psycopg; the only place the database password appears."""
        if self.database_url is not None:
            return normalise_database_url(self.database_url.get_secret_value())
        params: dict[str, Any] = {"host": self.database_host, "port": self.database_port, "dbname": self.database_name}
        if self.database_user:
            params["user"] = self.database_user
        if self.database_password is not None:
            params["password"] = self.database_password.get_secret_value()
        return make_conninfo(**params)

    def database_label(self) -> str:
        """``host:port/db`` for messages; no user, no password."""
        if self.database_url is None and not self.database_host:
            return "<no database configured>"
        return dsn_label(self.database_dsn())

    def secret_values(self) -> list[str]:
        """Every secret string in these settings (for redaction)."""
        out = [
            s.get_secret_value()
            for s in (self.client_secret, self.refresh_token, self.database_password)
            if s is not None
        ]
        if self.database_url is not None:
            pw = dsn_password(self.database_url.get_secret_value())
            if pw:
                out.append(pw)
        return out


def normalise_database_url(url: str) -> str:
    """Accept SQLAlchemy-style and short schemes; libpq wants postgresql:// or postgres://."""
    for prefix in ("postgresql+psycopg2://", "postgresql+psycopg://", "postgres+psycopg://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def dsn_password(dsn: str) -> str | None:
    """The password in a libpq DSN or URL (None when none, or unparsable): for redaction only."""
    try:
        password = conninfo_to_dict(normalise_database_url(dsn)).get("password")
        return None if password is None else str(password)
    except Exception:
        return None


# --------------------------------------------------------------------------------------------
# load_settings: every problem at once
# --------------------------------------------------------------------------------------------

DEFAULT_REQUIRED: tuple[str, ...] = ("client_id", "client_secret", "refresh_token", "database")


def _field_for(key: str) -> str:
    k = key.lower()
    if k in ENV_NAMES:
        return k
    for field, env in ENV_NAMES.items():
        if env.lower() == k:
            return field
    raise TypeError(f"unknown setting {key!r}; expected one of {', '.join(ENV_NAMES)}")


def _raw_values(env_file: str | os.PathLike[str] | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """What each variable is set to, by precedence override > environment > .env; empty = unset."""
    dotenv = {k.upper(): v for k, v in dotenv_values(env_file).items()} if env_file and Path(env_file).is_file() else {}
    environ = {k.upper(): v for k, v in os.environ.items()}
    out: dict[str, Any] = {}
    for field, env in ENV_NAMES.items():
        if field in overrides:
            v = overrides[field]
        else:
            v = environ.get(env) or dotenv.get(env)
        if isinstance(v, SecretStr):
            v = v.get_secret_value()
        out[field] = None if v is None or v == "" else v
    return out


def load_settings(
    env_file: str | os.PathLike[str] | None = ".env",
    require: tuple[str, ...] | list[str] = DEFAULT_REQUIRED,
    **overrides: Any,
) -> Settings:
    """Read and check the configuration; raise one ZohoConfigError listing every problem.

    ``overrides`` take precedence over the environment and ``.env``; keys are field names
    (``client_id``, ``region``, ``local_url``, ...) or variable names (``ZOHO_SDK_REGION``).
    ``require`` names what must be present: any of ``client_id``, ``client_secret``,
    ``refresh_token``, ``redirect_url`` and ``database`` (DATABASE_URL or DATABASE_HOST + NAME).
    Onboarding, before a refresh token exists, passes ``require=("client_id", "client_secret",
    "database")``.
    """
    overrides = {_field_for(k): v for k, v in overrides.items()}
    raw = _raw_values(env_file, overrides)
    # Whatever was read, register the secrets first so no later message can show them.
    _secrets.register(raw["client_secret"], raw["refresh_token"], raw["database_password"])
    if raw["database_url"]:
        _secrets.register(dsn_password(str(raw["database_url"])), str(raw["database_url"]))

    problems: dict[str, str] = {}
    settings: Settings | None = None
    try:
        settings = Settings(**{k: v for k, v in raw.items() if v is not None})
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            loc = str(err["loc"][0]) if err["loc"] else ""
            field = _field_for(loc) if loc.lower() in ENV_NAMES or loc.upper() in ENV_NAMES.values() else loc
            name = ENV_NAMES.get(field, loc)
            msg = str(err["msg"]).removeprefix("Value error, ")
            if field not in SECRET_FIELDS and raw.get(field) is not None:
                msg = f"{raw[field]!r}: {msg}"
            problems.setdefault(name, msg)

    # Presence and cross-field checks work on the raw values so they are reported alongside.
    for field in require:
        if field == "database":
            continue
        if raw.get(field) is None:
            problems.setdefault(ENV_NAMES[field], "missing")
    region = str(raw["region"] or "us").strip().lower()
    if region == "local" and raw["local_url"] is None:
        problems.setdefault("ZOHO_SDK_LOCAL_URL", "missing (required when ZOHO_SDK_REGION=local: the emulator's URL)")
    if "database" in require and raw["database_url"] is None:
        if raw["database_host"] is None and raw["database_name"] is None:
            problems.setdefault("DATABASE_URL", "missing (set DATABASE_URL, or DATABASE_HOST and DATABASE_NAME)")
        else:
            for field in ("database_host", "database_name"):
                if raw[field] is None:
                    problems.setdefault(ENV_NAMES[field], "missing (needed when DATABASE_URL is not set)")

    if problems or settings is None:
        raise ZohoConfigError(problems)
    return settings
