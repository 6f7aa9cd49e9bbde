"""OAuth steps of the onboarding notebook, against the emulator's accounts server."""

from __future__ import annotations

import os
import socket
import stat
import threading
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from dotenv import dotenv_values

from sergas_nb.auth import (
    Callback,
    CallbackCatcher,
    TokenSet,
    authorization_url,
    exchange_code,
    refresh_access_token,
    revoke,
    trusted_accounts_server,
    write_env_file,
)
from sergas_nb.config import endpoints_for, is_loopback_url
from sergas_nb.emulator import Control, LocalZoho
from sergas_nb.errors import ZohoAPIError, ZohoAuthError, ZohoRateLimitError

SCOPES = ("ZohoCRM.modules.ALL", "ZohoCRM.users.READ")


@pytest.fixture(scope="module")
def zoho():
    with LocalZoho(accounts=20, auto_approve=True) as z:
        yield z


@pytest.fixture(scope="module")
def app(zoho):
    """An OAuth client registered in the emulator as in Zoho's API console, with a loopback redirect
    on its own port (LocalZoho's default redirect is on the emulator's port, where no catcher can bind)."""
    client = SimpleNamespace(
        client_id="1000.ONBOARDINGTEST",
        client_secret="onboarding-test-secret-0123",
        redirect_url=f"http://127.0.0.1:{_free_port()}/callback",
    )
    zoho.oauth.register_client(client.client_id, client.client_secret, [client.redirect_url], "onboarding test")
    return client


def consent(z, app, state: str | None = None):
    """Open the consent URL as a browser would (auto-approved) and catch the callback."""
    url, state = authorization_url(
        endpoints_for("local", local_url=z.url), app.client_id, app.redirect_url, SCOPES, state
    )
    with CallbackCatcher(app.redirect_url) as catcher:
        page = Control.browse(url, timeout=10)  # follows the 302 to the catcher, logs no code
        callback = catcher.wait(state, timeout=10)
    return page, callback


def self_client_code(z, app) -> str:
    r = requests.post(
        f"{z.url}/__emulator__/oauth/self-client-code",
        timeout=10,
        json={"client_id": app.client_id, "scopes": ",".join(SCOPES)},
    )
    r.raise_for_status()
    return r.json()["code"]


def test_authorization_url_asks_for_offline_access_with_consent():
    url, state = authorization_url(endpoints_for("eu"), "1000.CID", "http://127.0.0.1:8910/cb", SCOPES)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://accounts.zoho.eu/oauth/v2/auth"
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert q == {
        "scope": "ZohoCRM.modules.ALL,ZohoCRM.users.READ",
        "client_id": "1000.CID",
        "response_type": "code",
        "access_type": "offline",
        "prompt": "consent",
        "redirect_uri": "http://127.0.0.1:8910/cb",
        "state": state,
    }
    assert len(state) >= 20 and authorization_url(endpoints_for("eu"), "c", "http://x/", SCOPES)[1] != state
    assert authorization_url("https://accounts.zoho.jp/", "c", "http://x/", SCOPES, state="s1")[0].startswith(
        "https://accounts.zoho.jp/oauth/v2/auth?"
    )


def test_callback_flow_then_exchange_refresh_and_revoke(zoho, app):
    page, cb = consent(zoho, app)
    status, text = page
    assert status == 200 and "close this tab" in text
    assert cb.accounts_server and cb.accounts_server.rstrip("/") == zoho.url
    assert cb.code not in repr(cb)

    tokens = exchange_code(
        "https://accounts.zoho.com/oauth/v2/token",
        app.client_id,
        app.client_secret,
        app.redirect_url,
        cb.code,
        accounts_server=cb.accounts_server,
        region="local",
    )  # accounts-server wins
    assert tokens.refresh_token and tokens.access_token and tokens.expires_in > 0
    assert tokens.expires_at_ms > 0 and tokens.api_domain
    for secret in (tokens.access_token, tokens.refresh_token):
        assert secret not in repr(tokens) and secret not in str(tokens)

    refreshed = refresh_access_token(zoho.token_url, app.client_id, app.client_secret, tokens.refresh_token)
    assert refreshed.access_token != tokens.access_token and refreshed.refresh_token is None
    ok = requests.get(
        f"{zoho.url}/crm/v8/users",
        params={"type": "CurrentUser"},
        timeout=10,
        headers={"Authorization": f"Zoho-oauthtoken {refreshed.access_token}"},
    )
    assert ok.status_code == 200

    assert revoke(endpoints_for("local", local_url=zoho.url).revoke_url, tokens.refresh_token) is True
    with pytest.raises(ZohoAuthError) as info:
        refresh_access_token(zoho.token_url, app.client_id, app.client_secret, tokens.refresh_token)
    assert info.value.code == "invalid_code" and "onboarding" in str(info.value)


def test_reused_code_is_explained(zoho, app):
    code = self_client_code(zoho, app)
    exchange_code(zoho.token_url, app.client_id, app.client_secret, None, code)
    with pytest.raises(ZohoAuthError) as info:
        exchange_code(zoho.token_url, app.client_id, app.client_secret, None, code)
    text = str(info.value)
    assert info.value.code == "invalid_code"
    assert "already" in text and "expired" in text and "data centre" in text
    assert code not in text and app.client_secret not in text


def test_wrong_client_secret_and_unknown_client_are_explained(zoho, app):
    with pytest.raises(ZohoAuthError) as info:
        exchange_code(zoho.token_url, app.client_id, "not-the-secret-xyz", None, self_client_code(zoho, app))
    assert info.value.code == "invalid_client_secret" and "ZOHO_SDK_CLIENT_SECRET" in str(info.value)
    with pytest.raises(ZohoAuthError) as info:
        exchange_code(zoho.token_url, "1000.NOSUCHCLIENT", app.client_secret, None, self_client_code(zoho, app))
    assert info.value.code == "invalid_client"
    assert "ZOHO_SDK_REGION" in str(info.value) and app.client_secret not in str(info.value)


def test_redirect_mismatch_is_explained(zoho, app):
    _, cb = consent(zoho, app)
    with pytest.raises(ZohoAuthError) as info:
        exchange_code(zoho.token_url, app.client_id, app.client_secret, app.redirect_url + "-other", cb.code)
    assert "redirect" in info.value.code and "API console" in str(info.value)


def test_refresh_throttling_becomes_rate_limit_error(zoho, app):
    tokens = exchange_code(zoho.token_url, app.client_id, app.client_secret, None, self_client_code(zoho, app))
    with pytest.raises(ZohoRateLimitError) as info:
        for _ in range(30):  # Zoho: at most 10 access tokens per refresh token every 10 minutes
            refresh_access_token(zoho.token_url, app.client_id, app.client_secret, tokens.refresh_token)
    assert info.value.retry_after and "Wait a few minutes" in str(info.value)
    assert tokens.refresh_token not in str(info.value)


def test_callback_with_the_wrong_state_is_refused(zoho, app):
    url, _ = authorization_url(zoho.url, app.client_id, app.redirect_url, SCOPES, state="the-state-we-got")
    with CallbackCatcher(app.redirect_url) as catcher:
        Control.browse(url, timeout=10)
        with pytest.raises(ZohoAuthError) as info:
            catcher.wait("the-state-we-sent", timeout=1)
    assert info.value.code == "STATE_MISMATCH"


def test_denied_consent_and_no_callback_are_explained():
    redirect = f"http://127.0.0.1:{_free_port()}/callback"
    with CallbackCatcher(redirect) as catcher:
        other = requests.get(redirect.replace("/callback", "/favicon.ico"), timeout=5)
        assert other.status_code == 404  # only the callback path counts
        page = requests.get(redirect, params={"error": "access_denied", "state": "s"}, timeout=5)
        with pytest.raises(ZohoAuthError) as info:
            catcher.wait("s", timeout=5)
    assert "not granted" in page.text and info.value.code == "access_denied"
    with CallbackCatcher(redirect) as catcher, pytest.raises(ZohoAuthError) as info:
        catcher.wait("s", timeout=0.2)
    assert info.value.code == "CALLBACK_TIMEOUT" and "self-client" in str(info.value)
    with pytest.raises(ZohoAuthError, match="loopback"):
        CallbackCatcher("https://crm.example.com/callback")


def test_unknown_accounts_server_never_receives_the_secret():
    with pytest.raises(ZohoAuthError) as info:
        exchange_code(
            "https://accounts.zoho.com/oauth/v2/token",
            "c",
            "s3cret-value",
            "http://127.0.0.1/cb",
            "code",
            accounts_server="https://accounts.evil.example",
        )
    assert info.value.code == "UNTRUSTED_ACCOUNTS_SERVER"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_call_is_bounded_in_time_and_transport_errors_are_named():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # accepts connections, never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/oauth/v2/token"
        with pytest.raises(ZohoAPIError) as info:
            refresh_access_token(url, "c", "secret-abcdef", "1000.rt", timeout=0.3)
        assert info.value.code == "TIMEOUT"
    finally:
        silent.close()
    with pytest.raises(ZohoAPIError) as info:
        exchange_code(f"http://127.0.0.1:{_free_port()}/oauth/v2/token", "c", "secret-abcdef", None, "code-123456")
    assert info.value.code == "CONNECTION_ERROR" and "secret-abcdef" not in str(info.value)


def test_tokenset_repr_hides_tokens():
    t = TokenSet.from_response(
        {
            "access_token": "1000.acc3ss",
            "refresh_token": "1000.r3fresh",
            "expires_in": 3600,
            "api_domain": "https://www.zohoapis.com",
        }
    )
    assert "1000.acc3ss" not in repr(t) and "1000.r3fresh" not in repr(t) and "***" in repr(t)
    old = TokenSet.from_response({"access_token": "x" * 8, "expires_in": 3600000, "expires_in_sec": 3600})
    assert old.expires_in == 3600


def test_write_env_file_updates_in_place_and_keeps_other_lines(tmp_path, capsys):
    env = tmp_path / ".env"
    env.write_text("# my settings\nOTHER=keep me\nZOHO_SDK_CLIENT_ID=old\nexport ZOHO_SDK_REGION=us\n\nLAST=1\n")
    secret = 'pa ss#word"with\\stuff'
    written = write_env_file(
        env, {"ZOHO_SDK_CLIENT_ID": "1000.NEW", "ZOHO_SDK_REGION": "eu", "ZOHO_SDK_CLIENT_SECRET": secret, "LAST": None}
    )
    assert written == ["ZOHO_SDK_CLIENT_ID", "ZOHO_SDK_REGION", "ZOHO_SDK_CLIENT_SECRET"]
    text = env.read_text()
    assert text.startswith("# my settings\nOTHER=keep me\nZOHO_SDK_CLIENT_ID=1000.NEW\nZOHO_SDK_REGION=eu\n")
    assert "LAST" not in text
    assert dotenv_values(env) == {
        "OTHER": "keep me",
        "ZOHO_SDK_CLIENT_ID": "1000.NEW",
        "ZOHO_SDK_REGION": "eu",
        "ZOHO_SDK_CLIENT_SECRET": secret,
    }
    assert stat.S_IMODE(os.stat(env).st_mode) == 0o600
    out = capsys.readouterr()
    assert secret not in out.out + out.err
    new = tmp_path / "sub" / ".env"
    write_env_file(new, {"A": "1"})
    assert dotenv_values(new) == {"A": "1"}


def test_catcher_answers_the_browser_only_once():
    redirect = f"http://127.0.0.1:{_free_port()}/cb"
    results = []
    with CallbackCatcher(redirect) as catcher:
        t = threading.Thread(target=lambda: results.append(catcher.wait("st", timeout=5)))
        t.start()
        status, _ = Control.browse(redirect + "?code=c0de-one&state=st", timeout=5)
        t.join(10)
    assert status == 200 and results[0].code == "c0de-one"
    with pytest.raises(requests.ConnectionError):  # one-shot: the server is gone
        requests.get(redirect, params={"code": "c0de-two", "state": "st"}, timeout=2)


# ---------------------------------------------------------------- a page cannot end the sign-in


def _wait_in_thread(catcher: CallbackCatcher, state: str | None, timeout: float) -> tuple[threading.Thread, list]:
    results: list = []

    def run() -> None:
        try:
            results.append(catcher.wait(state, timeout=timeout))
        except ZohoAuthError as exc:
            results.append(exc)

    t = threading.Thread(target=run)
    t.start()
    return t, results


def test_a_request_with_another_state_is_ignored_and_the_right_one_still_arrives():
    redirect = f"http://127.0.0.1:{_free_port()}/callback"
    with CallbackCatcher(redirect, state="ours-1234") as catcher:
        t, results = _wait_in_thread(catcher, "ours-1234", timeout=20)
        forged = requests.get(redirect, params={"code": "f0rged-code", "state": "theirs"}, timeout=5)
        no_state = requests.get(redirect, params={"code": "f0rged-code-2"}, timeout=5)
        denied = requests.get(redirect, params={"error": "access_denied", "state": "theirs"}, timeout=5)
        for page in (forged, no_state, denied):
            assert page.status_code == 400 and "was ignored" in page.text and "still waiting" in page.text
        assert not results and t.is_alive()  # none of them ended the wait
        status, text = Control.browse(redirect + "?code=the-real-c0de&state=ours-1234&location=eu", timeout=5)
        t.join(10)
    assert status == 200 and "close this tab" in text
    (cb,) = results
    assert isinstance(cb, Callback) and cb.code == "the-real-c0de" and cb.location == "eu"
    assert catcher.ignored == 3


def test_requests_before_wait_are_checked_when_wait_learns_the_state():
    """The notebook's own order: the catcher starts, the browser comes back, then wait(state)."""
    redirect = f"http://127.0.0.1:{_free_port()}/cb"
    with CallbackCatcher(redirect) as catcher:
        requests.get(redirect, params={"code": "f0rged-code", "state": "theirs"}, timeout=5)
        requests.get(redirect, params={"code": "the-real-c0de", "state": "ours-5678"}, timeout=5)
        cb = catcher.wait("ours-5678", timeout=5)
    assert cb.code == "the-real-c0de" and catcher.ignored == 1


def test_only_answers_with_another_state_end_in_a_state_mismatch_at_the_timeout():
    redirect = f"http://127.0.0.1:{_free_port()}/callback"
    with CallbackCatcher(redirect, state="ours-9999") as catcher:
        t, results = _wait_in_thread(catcher, "ours-9999", timeout=2)
        page = requests.get(redirect, params={"code": "f0rged-code", "state": "theirs"}, timeout=5)
        t.join(10)
    assert page.status_code == 400
    (exc,) = results
    assert isinstance(exc, ZohoAuthError) and exc.code == "STATE_MISMATCH"
    assert "1 answer(s) with another state were ignored" in str(exc)
    with pytest.raises(ValueError, match="another state"):
        CallbackCatcher(redirect, state="a").wait("b", timeout=1)


# ---------------------------------------------------------------- loopback accounts servers: emulator only


@pytest.mark.parametrize("region", ["us", "eu", "in"])
def test_a_real_region_refuses_a_loopback_accounts_server_from_the_callback(zoho, app, region):
    _, cb = consent(zoho, app)  # a real callback that names a loopback accounts-server
    assert cb.accounts_server and is_loopback_url(cb.accounts_server)
    before = zoho.oauth.stats()["authorization_code"]
    with pytest.raises(ZohoAuthError) as info:
        exchange_code(
            endpoints_for(region).token_url,
            app.client_id,
            app.client_secret,
            app.redirect_url,
            cb.code,
            accounts_server=cb.accounts_server,
            region=region,
        )
    assert info.value.code == "UNTRUSTED_ACCOUNTS_SERVER" and "region='local'" in str(info.value)
    assert app.client_secret not in str(info.value)
    with pytest.raises(ZohoAuthError) as info:  # no region named: the real token URL decides
        exchange_code(
            endpoints_for(region).token_url,
            app.client_id,
            app.client_secret,
            app.redirect_url,
            cb.code,
            accounts_server=cb.accounts_server,
        )
    assert info.value.code == "UNTRUSTED_ACCOUNTS_SERVER"
    assert zoho.oauth.stats()["authorization_code"] == before  # the code and secret were never sent
    tokens = exchange_code(  # the emulator (region "local") is still trusted with them
        zoho.token_url,
        app.client_id,
        app.client_secret,
        app.redirect_url,
        cb.code,
        accounts_server=cb.accounts_server,
        region="local",
    )
    assert tokens.refresh_token and zoho.oauth.stats()["authorization_code"] == before + 1


def test_a_real_accounts_server_from_the_callback_is_trusted_for_any_region():
    assert trusted_accounts_server("https://accounts.zoho.eu/", "us") == "https://accounts.zoho.eu"
    assert trusted_accounts_server("http://127.0.0.1:9/", "local") == "http://127.0.0.1:9"
    with pytest.raises(ZohoAuthError):
        trusted_accounts_server("http://localhost:9", "eu")
