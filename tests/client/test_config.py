"""Configuration: every problem reported at once, secrets never shown, all data centres mapped."""

from __future__ import annotations

import pytest
from zohocrmsdk.src.com.zoho.crm.api.dc import (
    AUDataCenter,
    CADataCenter,
    CNDataCenter,
    EUDataCenter,
    INDataCenter,
    JPDataCenter,
    SADataCenter,
    USDataCenter,
)

from sergas_nb import _secrets
from sergas_nb.config import DATA_CENTRES, ENV_NAMES, Endpoints, endpoints_for, load_settings
from sergas_nb.errors import ZohoConfigError

CLIENT_SECRET = "cs-9f3b1d7e55aa40c2"
REFRESH = "1000.5c1e0f3a9b8d7e6f5a4b3c2d1e0f9a8b.0f1e2d3c4b5a69788796a5b4c3d2e1f0"
DB_PASSWORD = "pw-Tr0ub4dor-and-3"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path):
    """No ZOHO_SDK_* / DATABASE_* from the machine, and a working directory without a .env."""
    for name in ENV_NAMES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def good(**extra):
    values = {
        "client_id": "1000.CLIENTID",
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH,
        "database_url": f"postgresql://analyst:{DB_PASSWORD}@db.internal:5433/crm",
    }
    values.update(extra)
    return values


def test_reads_environment_and_dotenv_with_overrides_winning(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text(
        "ZOHO_SDK_CLIENT_ID=from-dotenv\n"
        f"ZOHO_SDK_CLIENT_SECRET={CLIENT_SECRET}\n"
        f"ZOHO_SDK_REFRESH_TOKEN={REFRESH}\n"
        "ZOHO_SDK_REGION=eu\n"
        "DATABASE_HOST=db.example\nDATABASE_NAME=crm\nDATABASE_USER=analyst\n"
        f"DATABASE_PASSWORD={DB_PASSWORD}\n"
    )
    monkeypatch.setenv("ZOHO_SDK_ENVIRONMENT", "Sandbox")
    monkeypatch.setenv("ZOHO_SDK_CLIENT_ID", "from-env")
    s = load_settings(region="in")
    assert s.client_id == "from-env"  # environment beats .env
    assert s.region == "in"  # override beats both
    assert s.environment == "sandbox"  # case-insensitive
    assert s.endpoints() == Endpoints(
        "https://sandbox.zohoapis.in", "https://accounts.zoho.in", "https://content.zohoapis.in"
    )
    assert s.database_label() == "db.example:5432/crm"
    assert DB_PASSWORD in s.database_dsn()


def test_only_the_documented_variable_names_are_read(monkeypatch, tmp_path):
    # Bare names are common on servers and in other tools' .env files: they must not be taken.
    monkeypatch.setenv("ENVIRONMENT", "staging")
    monkeypatch.setenv("REGION", "mars")
    (tmp_path / ".env").write_text("CLIENT_ID=not-ours\n")
    s = load_settings(**good())
    assert (s.environment, s.region, s.client_id) == ("production", "us", "1000.CLIENTID")


def test_every_missing_or_invalid_variable_is_named_in_one_error():
    with pytest.raises(ZohoConfigError) as info:
        load_settings(
            region="mars",
            environment="staging",
            database_port="not-a-port",
            redirect_url="not a url",
            client_secret=CLIENT_SECRET,
        )
    problems = info.value.problems
    assert set(problems) == {
        "ZOHO_SDK_CLIENT_ID",
        "ZOHO_SDK_REFRESH_TOKEN",
        "ZOHO_SDK_REGION",
        "ZOHO_SDK_ENVIRONMENT",
        "ZOHO_SDK_REDIRECT_URL",
        "DATABASE_PORT",
        "DATABASE_URL",
    }
    assert "mars" in problems["ZOHO_SDK_REGION"] and "eu" in problems["ZOHO_SDK_REGION"]
    for name in problems:
        assert name in str(info.value)


def test_local_region_needs_a_loopback_url():
    with pytest.raises(ZohoConfigError) as info:
        load_settings(**good(region="local"))
    assert set(info.value.problems) == {"ZOHO_SDK_LOCAL_URL"}
    with pytest.raises(ZohoConfigError) as info:
        load_settings(**good(region="local", local_url="http://10.1.2.3:8765"))
    assert (
        "loopback" in info.value.problems["ZOHO_SDK_LOCAL_URL"]
        or "127.0.0.1" in info.value.problems["ZOHO_SDK_LOCAL_URL"]
    )
    s = load_settings(**good(region="local", local_url="http://127.0.0.1:8765/"))
    e = s.endpoints()
    # issue 15: the emulator's file host is its own (ZOHO_SDK_LOCAL_CONTENT_URL), never the API host by default
    assert e == Endpoints("http://127.0.0.1:8765", "http://127.0.0.1:8765", "")
    assert e.token_url == "http://127.0.0.1:8765/oauth/v2/token"


def test_database_components_are_an_alternative_to_database_url():
    s = load_settings(
        **good(
            database_url=None,
            database_host="127.0.0.1",
            database_port="6543",
            database_name="tokens",
            database_user="me",
            database_password=DB_PASSWORD,
        )
    )
    assert s.database_label() == "127.0.0.1:6543/tokens"
    dsn = s.database_dsn()
    assert "port=6543" in dsn and "dbname=tokens" in dsn and DB_PASSWORD in dsn
    with pytest.raises(ZohoConfigError) as info:
        load_settings(**good(database_url=None, database_host="127.0.0.1"))
    assert set(info.value.problems) == {"DATABASE_NAME"}


def test_sqlalchemy_style_url_is_accepted_and_other_schemes_are_not():
    s = load_settings(**good(database_url=f"postgresql+psycopg://a:{DB_PASSWORD}@h:5432/d"))
    assert s.database_dsn().startswith("postgresql://")
    with pytest.raises(ZohoConfigError) as info:
        load_settings(**good(database_url=f"mysql://a:{DB_PASSWORD}@h/d"))
    assert "DATABASE_URL" in info.value.problems
    assert DB_PASSWORD not in str(info.value)


def test_secrets_never_in_repr_str_or_errors(caplog):
    s = load_settings(**good())
    for text in (repr(s), str(s), s.database_label(), repr(s.endpoints())):
        for secret in (CLIENT_SECRET, REFRESH, DB_PASSWORD):
            assert secret not in text
    with pytest.raises(ZohoConfigError) as info:  # invalid secrets are named, never echoed
        load_settings(
            client_secret=CLIENT_SECRET,
            refresh_token=REFRESH,
            database_url=f"mysql://u:{DB_PASSWORD}@h/d",
            region="nowhere",
        )
    text = str(info.value) + repr(info.value) + repr(info.value.details)
    for secret in (CLIENT_SECRET, REFRESH, DB_PASSWORD):
        assert secret not in text
    # Loading registers the secrets for log redaction.
    assert _secrets.redact(f"secret={CLIENT_SECRET} pw {DB_PASSWORD}").count(_secrets.MASK) == 2


def test_onboarding_can_load_without_a_refresh_token():
    s = load_settings(require=("client_id", "client_secret", "database"), **good(refresh_token=None))
    assert s.refresh_token is None


@pytest.mark.parametrize(
    "region,dc",
    [
        ("us", USDataCenter),
        ("eu", EUDataCenter),
        ("in", INDataCenter),
        ("au", AUDataCenter),
        ("jp", JPDataCenter),
        ("cn", CNDataCenter),
        ("ca", CADataCenter),
        ("sa", SADataCenter),
    ],
)
def test_data_centre_table_matches_the_sdk(region, dc):
    """Our table and the official SDK agree on all three hosts for every environment."""
    for env, sdk_env in (("production", dc.PRODUCTION()), ("sandbox", dc.SANDBOX()), ("developer", dc.DEVELOPER())):
        ours = endpoints_for(region, env)
        assert ours.api_url == sdk_env.url
        assert ours.token_url == sdk_env.accounts_url
        assert ours.upload_url == sdk_env.file_upload_url
    assert len(DATA_CENTRES) == 8 * 3


def test_hosts_from_the_reference_table():
    assert endpoints_for("ca", "production") == Endpoints(
        "https://www.zohoapis.ca", "https://accounts.zohocloud.ca", "https://upload.zohocloud.ca"
    )
    assert endpoints_for("sa", "developer").upload_url == "https://files.zoho.sa"
    assert endpoints_for("au", "sandbox").api_url == "https://sandbox.zohoapis.com.au"
    assert endpoints_for("cn").revoke_url == "https://accounts.zoho.com.cn/oauth/v2/token/revoke"
    with pytest.raises(ZohoConfigError):
        endpoints_for("xx", "production")
