"""The emulator's accounts server over real HTTP: consent page, token endpoint, limits, revoke, 401s.

A real uvicorn server on 127.0.0.1 serves OAuthServer.routes() and control_routes() plus one
protected route that calls authenticate(), the way the emulator's CRM routes do. Time is a fake
clock the tests move, so nothing here waits.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sergas_nb._secrets import redact
from sergas_nb.emulator.errors import EmulatorError
from sergas_nb.emulator.oauth import OAuthServer

CLIENT_ID = "1000.TESTCLIENT"
CLIENT_SECRET = "s3cr3t-client-secret"
CLIENT_NAME = "Sergas <Notebook> & Co"
REDIRECT = "http://127.0.0.1:9/callback"
SCOPES = "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.READ"
TOKEN_RE = re.compile(r"^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$")
T0 = 1_700_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Accounts:
    url: str
    oauth: OAuthServer
    clock: FakeClock

    def token(self, **form: str) -> requests.Response:
        return requests.post(self.url + "/oauth/v2/token", data=form, timeout=10)

    def exchange(self, code: str, **overrides: str) -> dict:
        form = {
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": REDIRECT,
            "code": code,
            **overrides,
        }
        r = self.token(**form)
        assert r.status_code == 200
        return r.json()

    def refresh(self, refresh_token: str) -> requests.Response:
        return self.token(
            grant_type="refresh_token", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=refresh_token
        )

    def crm(self, access_token: str | None, scheme: str = "Zoho-oauthtoken") -> requests.Response:
        headers = {} if access_token is None else {"Authorization": f"{scheme} {access_token}"}
        return requests.get(self.url + "/crm/v8/whoami", headers=headers, timeout=10)

    def authorize(self, **overrides: str) -> requests.Response:
        params = {
            "scope": SCOPES,
            "client_id": CLIENT_ID,
            "response_type": "code",
            "access_type": "offline",
            "prompt": "consent",
            "redirect_uri": REDIRECT,
            "state": "st-42",
            **overrides,
        }
        params = {k: v for k, v in params.items() if v is not None}
        return requests.get(self.url + "/oauth/v2/auth", params=params, allow_redirects=False, timeout=10)

    def consent(self, **overrides: str) -> dict[str, str]:
        """Open the consent page and press Accept as a browser would; the callback's query."""
        page = self.authorize(**overrides)
        assert page.status_code == 200, page.text
        form = _form_of(page.text)
        form["action"] = "accept"
        r = requests.post(self.url + form.pop("__action__"), data=form, allow_redirects=False, timeout=10)
        assert r.status_code == 302
        return _callback(r.headers["location"])

    def code_grant(self, **overrides: str) -> dict:
        return self.exchange(self.consent(**overrides)["code"])


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.fields["__action__"] = a.get("action") or ""
        elif tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"] or ""] = a.get("value") or ""


def _form_of(html_text: str) -> dict[str, str]:
    reader = _FormReader()
    reader.feed(html_text)
    return reader.fields


def _callback(location: str, redirect: str = REDIRECT) -> dict[str, str]:
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == redirect
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


def _protected_app(oauth: OAuthServer) -> Starlette:
    async def whoami(request: Request) -> JSONResponse:
        try:
            grant = oauth.authenticate(request.headers.get("authorization"))
        except EmulatorError as e:
            return JSONResponse(e.body(), status_code=e.status)
        return JSONResponse({"email": grant.user_email, "client_id": grant.client_id, "scopes": list(grant.scopes)})

    return Starlette(routes=[*oauth.routes(), *oauth.control_routes(), Route("/crm/v8/whoami", whoami)])


@pytest.fixture(scope="module")
def server() -> Iterator[Accounts]:
    clock = FakeClock()
    base: dict[str, str] = {}
    oauth = OAuthServer(lambda: base["url"], clock=clock, user_email="ana@example.com")
    oauth.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT], CLIENT_NAME)
    config = uvicorn.Config(
        _protected_app(oauth), host="127.0.0.1", port=0, log_level="warning", log_config=None
    )  # keep the suite's log handlers open
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    for _ in range(500):
        if uv.started:
            break
        threading.Event().wait(0.01)
    assert uv.started, "uvicorn did not start"
    port = uv.servers[0].sockets[0].getsockname()[1]
    base["url"] = f"http://127.0.0.1:{port}"
    yield Accounts(base["url"], oauth, clock)
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def accounts(server: Accounts) -> Accounts:
    server.oauth.reset()
    server.oauth.auto_approve = False
    server.clock.now = T0
    return server


# ----- consent page ----------------------------------------------------------------------------


def test_consent_page_names_the_client_and_every_scope_escaped(accounts: Accounts) -> None:
    r = accounts.authorize()
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "Sergas &lt;Notebook&gt; &amp; Co" in r.text and "<Notebook>" not in r.text
    for scope in SCOPES.split(","):
        assert f"<li>{scope}</li>" in r.text
    assert "ana@example.com" in r.text
    assert 'value="accept"' in r.text and ">Accept<" in r.text


def test_accept_redirects_with_code_state_location_and_accounts_server(accounts: Accounts) -> None:
    cb = accounts.consent(state="a&b=c <x>")
    assert TOKEN_RE.match(cb["code"])
    assert cb["state"] == "a&b=c <x>"
    assert cb["location"] == "local"
    assert cb["accounts-server"] == accounts.url


def test_reject_redirects_with_access_denied_and_no_code(accounts: Accounts) -> None:
    form = _form_of(accounts.authorize().text)
    form["action"] = "reject"
    r = requests.post(accounts.url + form.pop("__action__"), data=form, allow_redirects=False, timeout=10)
    assert r.status_code == 302
    cb = _callback(r.headers["location"])
    assert cb == {"error": "access_denied", "state": "st-42"}


def test_unknown_client_gets_an_error_page(accounts: Accounts) -> None:
    r = accounts.authorize(client_id="1000.NOPE<script>")
    assert r.status_code == 400
    assert "Invalid Client" in r.text and "1000.NOPE&lt;script&gt;" in r.text
    assert "<script>" not in r.text and "location" not in r.headers


def test_unregistered_redirect_uri_gets_an_error_page(accounts: Accounts) -> None:
    r = accounts.authorize(redirect_uri="http://evil.example/cb")
    assert r.status_code == 400
    assert "Invalid Redirect Uri" in r.text and "http://evil.example/cb" in r.text
    assert "location" not in r.headers
    assert accounts.authorize(redirect_uri=None).status_code == 400


def test_missing_scope_gets_an_error_page(accounts: Accounts) -> None:
    r = accounts.authorize(scope="")
    assert r.status_code == 400 and "Invalid OAuth Scope" in r.text


def test_auto_approve_redirects_straight_away(accounts: Accounts) -> None:
    accounts.oauth.auto_approve = True
    r = accounts.authorize()
    assert r.status_code == 302
    cb = _callback(r.headers["location"])
    assert cb["state"] == "st-42" and cb["location"] == "local"
    assert "refresh_token" in accounts.exchange(cb["code"])
    # still an error page, never a redirect, for a bad client
    assert accounts.authorize(client_id="other").status_code == 400


def test_repeat_consent_without_prompt_gives_no_new_refresh_token(accounts: Accounts) -> None:
    first = accounts.code_grant(prompt=None)
    assert "refresh_token" in first
    again = accounts.code_grant(prompt=None)
    assert "refresh_token" not in again
    assert accounts.crm(again["access_token"]).status_code == 200
    assert "refresh_token" in accounts.code_grant(prompt="consent")
    online = accounts.code_grant(access_type="online")
    assert "refresh_token" not in online and "access_token" in online


# ----- token endpoint: code grant ----------------------------------------------------------------


def test_code_exchange_gives_working_tokens(accounts: Accounts) -> None:
    body = accounts.code_grant()
    assert set(body) == {"access_token", "refresh_token", "api_domain", "token_type", "expires_in"}
    assert body["api_domain"] == accounts.url
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600 and isinstance(body["expires_in"], int)
    assert TOKEN_RE.match(body["access_token"]) and TOKEN_RE.match(body["refresh_token"])
    assert redact(f"token={body['access_token']} {body['refresh_token']}") == "token=*** ***"
    r = accounts.crm(body["access_token"])
    assert r.status_code == 200
    assert r.json() == {"email": "ana@example.com", "client_id": CLIENT_ID, "scopes": SCOPES.split(",")}


def test_code_is_single_use(accounts: Accounts) -> None:
    code = accounts.consent()["code"]
    assert "access_token" in accounts.exchange(code)
    assert accounts.exchange(code) == {"error": "invalid_code"}


def test_code_expires_after_two_minutes(accounts: Accounts) -> None:
    early, late = accounts.consent()["code"], accounts.consent()["code"]
    accounts.clock.advance(119)
    assert "access_token" in accounts.exchange(early)
    accounts.clock.advance(1)
    assert accounts.exchange(late) == {"error": "invalid_code"}


def test_client_and_code_mismatches_are_http_200_errors(accounts: Accounts) -> None:
    code = accounts.consent()["code"]
    assert accounts.exchange(code, client_secret="wrong") == {"error": "invalid_client_secret"}
    assert accounts.exchange(code, client_id="1000.OTHER") == {"error": "invalid_client"}
    assert accounts.exchange(code, redirect_uri="http://127.0.0.1:9/other") == {"error": "invalid_redirect_uri"}
    assert accounts.exchange("1000.abc.def") == {"error": "invalid_code"}
    assert accounts.token(grant_type="password").json() == {"error": "unsupported_grant_type"}
    # failed attempts did not burn the code
    assert "refresh_token" in accounts.exchange(code)


def test_token_parameters_in_the_query_string_work_too(accounts: Accounts) -> None:
    code = accounts.consent()["code"]
    r = requests.post(
        accounts.url + "/oauth/v2/token",
        timeout=10,
        params={
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": REDIRECT,
            "code": code,
        },
    )
    assert "refresh_token" in r.json()


# ----- token endpoint: refresh grant, limits ------------------------------------------------------


def test_refresh_gives_a_new_working_access_token_and_no_refresh_token(accounts: Accounts) -> None:
    first = accounts.code_grant()
    r = accounts.refresh(first["refresh_token"])
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "api_domain", "token_type", "expires_in"}
    assert body["access_token"] != first["access_token"]
    assert accounts.crm(body["access_token"]).status_code == 200
    assert accounts.crm(first["access_token"]).status_code == 200
    assert accounts.refresh("1000.unknown.token").json() == {"error": "invalid_code"}


def test_eleventh_refresh_in_ten_minutes_is_denied(accounts: Accounts) -> None:
    rt = accounts.code_grant()["refresh_token"]
    for _ in range(10):
        accounts.clock.advance(30)
        assert "access_token" in accounts.refresh(rt).json()
    denied = accounts.refresh(rt)
    assert denied.status_code == 400
    assert denied.json() == {
        "error": "Access Denied",
        "status": "failure",
        "error_description": "You have made too many requests continuously. Please try again after some time.",
    }
    # the first refresh leaves the 10-minute window 600 s after it happened
    accounts.clock.advance(600 - 10 * 30 + 30)
    assert "access_token" in accounts.refresh(rt).json()
    assert accounts.refresh(rt).status_code == 400


def test_concurrent_refreshes_are_counted_exactly(accounts: Accounts) -> None:
    rt = accounts.code_grant()["refresh_token"]
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda _: accounts.refresh(rt).status_code, range(16)))
    assert sorted(statuses) == [200] * 10 + [400] * 6
    assert accounts.oauth.stats()["refresh_token"] == 16


def test_at_most_ten_live_access_tokens_per_refresh_token(accounts: Accounts) -> None:
    grant = accounts.code_grant()
    tokens = [grant["access_token"]] + [
        accounts.refresh(grant["refresh_token"]).json()["access_token"] for _ in range(10)
    ]
    assert accounts.crm(tokens[0]).status_code == 401  # the oldest died
    assert all(accounts.crm(t).status_code == 200 for t in tokens[1:])


def test_expired_tokens_do_not_count_as_live(accounts: Accounts) -> None:
    accounts.oauth.set_access_ttl(60)
    grant = accounts.code_grant()
    accounts.clock.advance(61)
    fresh = [accounts.refresh(grant["refresh_token"]).json()["access_token"] for _ in range(10)]
    assert all(accounts.crm(t).status_code == 200 for t in fresh)


# ----- revoke, expiry, 401 -------------------------------------------------------------------------


def test_revoking_a_refresh_token_kills_its_access_tokens(accounts: Accounts) -> None:
    grant = accounts.code_grant()
    other = accounts.code_grant()
    r = requests.post(accounts.url + "/oauth/v2/token/revoke", params={"token": grant["refresh_token"]}, timeout=10)
    assert r.status_code == 200 and r.json() == {"status": "success"}
    assert accounts.crm(grant["access_token"]).status_code == 401
    assert accounts.refresh(grant["refresh_token"]).json() == {"error": "invalid_code"}
    assert accounts.crm(other["access_token"]).status_code == 200


def test_revoking_an_access_token_in_a_form_body_as_the_sdk_does(accounts: Accounts) -> None:
    grant = accounts.code_grant()
    r = requests.post(accounts.url + "/oauth/v2/token/revoke", data={"token": grant["access_token"]}, timeout=10)
    assert r.json() == {"status": "success"}
    assert accounts.crm(grant["access_token"]).status_code == 401
    assert "access_token" in accounts.refresh(grant["refresh_token"]).json()


def test_expired_access_token_gets_401_invalid_token(accounts: Accounts) -> None:
    token = accounts.code_grant()["access_token"]
    accounts.clock.advance(3599)
    assert accounts.crm(token).status_code == 200
    accounts.clock.advance(1)
    r = accounts.crm(token)
    assert r.status_code == 401
    assert r.json() == {"status": "error", "code": "INVALID_TOKEN", "message": "invalid oauth token", "details": {}}


def test_missing_malformed_and_unknown_tokens_get_401(accounts: Accounts) -> None:
    token = accounts.code_grant()["access_token"]
    for r in (accounts.crm(None), accounts.crm(""), accounts.crm("1000.abc.def"), accounts.crm(token, "Basic")):
        assert r.status_code == 401 and r.json()["code"] == "INVALID_TOKEN"


def test_access_ttl_can_be_fractions_of_a_second(accounts: Accounts) -> None:
    r = requests.post(accounts.url + "/__emulator__/oauth/access-ttl", json={"seconds": 0.5}, timeout=10)
    assert r.json() == {"access_ttl": 0.5}
    body = accounts.code_grant()
    assert body["expires_in"] == 0
    accounts.clock.advance(0.4)
    assert accounts.crm(body["access_token"]).status_code == 200
    accounts.clock.advance(0.1)
    assert accounts.crm(body["access_token"]).status_code == 401
    bad = requests.post(accounts.url + "/__emulator__/oauth/access-ttl", json={"seconds": -1}, timeout=10)
    assert bad.status_code == 400


# ----- self client, seeded credentials, controls ----------------------------------------------------


def test_self_client_code_exchanges_without_a_redirect_uri(accounts: Accounts) -> None:
    r = requests.post(
        accounts.url + "/__emulator__/oauth/self-client-code",
        json={"client_id": CLIENT_ID, "scopes": ["ZohoCRM.modules.ALL", "ZohoCRM.coql.READ"], "ttl": None},
        timeout=10,
    )
    assert r.status_code == 200
    code = r.json()["code"]
    body = accounts.token(
        grant_type="authorization_code", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code
    ).json()
    assert "refresh_token" in body
    assert accounts.crm(body["access_token"]).json()["scopes"] == ["ZohoCRM.modules.ALL", "ZohoCRM.coql.READ"]
    unknown = requests.post(
        accounts.url + "/__emulator__/oauth/self-client-code",
        data={"client_id": "nope", "scope": "ZohoCRM.modules.ALL"},
        timeout=10,
    )
    assert unknown.status_code == 400 and unknown.json() == {"error": "invalid_client"}


def test_self_client_code_honours_its_ttl(accounts: Accounts) -> None:
    code = accounts.oauth.issue_code(CLIENT_ID, ["ZohoCRM.modules.ALL"], ttl=600)
    accounts.clock.advance(599)
    assert (
        "access_token"
        in accounts.token(
            grant_type="authorization_code", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code
        ).json()
    )


def test_seeded_refresh_token_works_and_survives_reset(accounts: Accounts) -> None:
    rt = accounts.oauth.issue_refresh_token(CLIENT_ID, ["ZohoCRM.modules.ALL"], "cli@example.com")
    body = accounts.refresh(rt).json()
    assert accounts.crm(body["access_token"]).json()["email"] == "cli@example.com"
    requests.post(accounts.url + "/oauth/v2/token/revoke", params={"token": rt}, timeout=10)
    assert accounts.refresh(rt).json() == {"error": "invalid_code"}
    consented = accounts.code_grant()
    assert requests.post(accounts.url + "/__emulator__/oauth/reset", timeout=10).json() == {"status": "success"}
    assert "access_token" in accounts.refresh(rt).json()
    assert accounts.refresh(consented["refresh_token"]).json() == {"error": "invalid_code"}


def test_stats_count_token_requests_by_grant_type(accounts: Accounts) -> None:
    grant = accounts.code_grant()
    accounts.refresh(grant["refresh_token"])
    accounts.refresh(grant["refresh_token"])
    accounts.exchange("1000.bad.code")
    stats = requests.get(accounts.url + "/__emulator__/oauth/stats", timeout=10).json()
    assert stats["authorization_code"] == 2 and stats["refresh_token"] == 2
    accounts.oauth.reset()
    assert accounts.oauth.stats()["refresh_token"] == 0


def test_expire_access_tokens_control_forces_a_refresh(accounts: Accounts) -> None:
    grant = accounts.code_grant()
    r = requests.post(accounts.url + "/__emulator__/oauth/expire-access-tokens", timeout=10)
    assert r.json() == {"expired": 1}
    assert accounts.crm(grant["access_token"]).status_code == 401
    assert accounts.crm(accounts.refresh(grant["refresh_token"]).json()["access_token"]).status_code == 200


def test_grant_scopes_follow_zoho_hierarchy(accounts: Accounts) -> None:
    grant = accounts.oauth.authenticate("Zoho-oauthtoken " + accounts.code_grant()["access_token"])
    assert grant.allows("ZohoCRM.modules.accounts.READ")
    assert grant.allows("ZohoCRM.settings.fields.READ")
    assert grant.allows("ZohoCRM.users.READ")
    assert not grant.allows("ZohoCRM.users.ALL")
    assert not grant.allows("ZohoCRM.coql.READ")


def test_limits_control_lifts_the_refresh_throttle(accounts: Accounts) -> None:
    rt = accounts.code_grant()["refresh_token"]
    limits_url = accounts.url + "/__emulator__/oauth/limits"
    try:
        r = requests.post(limits_url, json={"refresh_limit": 12}, timeout=10)
        assert r.json()["refresh_limit"] == 12
        assert [accounts.refresh(rt).status_code for _ in range(13)] == [200] * 12 + [400]
        assert requests.post(limits_url, json={"refresh_limit": 0}, timeout=10).status_code == 400
    finally:
        accounts.oauth.set_limits(refresh_limit=10)


# ----- the official SDK ------------------------------------------------------------------------------


def test_official_sdk_initializes_with_a_grant_code_from_the_consent_page(tmp_path) -> None:
    from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
    from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
    from zohocrmsdk.src.com.zoho.api.logger import Logger
    from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
    from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
    from zohocrmsdk.src.com.zoho.crm.api.parameter_map import ParameterMap
    from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
    from zohocrmsdk.src.com.zoho.crm.api.users import GetUsersParam, ResponseWrapper, UsersOperations

    from sergas_nb.emulator import LocalZoho

    with LocalZoho(accounts=20, auto_approve=False) as z:
        page = requests.get(
            z.url + "/oauth/v2/auth",
            allow_redirects=False,
            timeout=10,
            params={
                "scope": SCOPES,
                "client_id": z.client_id,
                "response_type": "code",
                "access_type": "offline",
                "prompt": "consent",
                "redirect_uri": z.redirect_url,
                "state": "nb-1",
            },
        )
        assert page.status_code == 200 and "Accept" in page.text
        form = _form_of(page.text)
        form["action"] = "accept"
        accepted = requests.post(z.url + form.pop("__action__"), data=form, allow_redirects=False, timeout=10)
        callback = _callback(accepted.headers["location"], z.redirect_url)
        assert callback["accounts-server"] == z.url and callback["state"] == "nb-1"

        store_file = tmp_path / "tokens.csv"
        Initializer.initialize(
            environment=DataCenter.Environment(z.url, callback["accounts-server"] + "/oauth/v2/token", z.url),
            token=OAuthToken(
                client_id=z.client_id,
                client_secret=z.client_secret,
                grant_token=callback["code"],
                redirect_url=z.redirect_url,
            ),
            store=FileStore(str(store_file)),
            sdk_config=SDKConfig(auto_refresh_fields=False),  # update_api_domain stays on (the default)
            resource_path=str(tmp_path),
            logger=Logger.get_instance(Logger.Levels.ERROR, str(tmp_path / "sdk.log")),
        )

        assert z.oauth.stats()["authorization_code"] == 1
        assert z.oauth.stats()["refresh_token"] == 0
        assert Initializer.get_initializer().environment.url == z.url  # api_domain kept it here
        saved = store_file.read_text()
        assert z.user_email in saved and re.search(r"1000\.[0-9a-f]{32}\.[0-9a-f]{32}", saved)

        params = ParameterMap()
        params.add(GetUsersParam.type, "CurrentUser")
        response = UsersOperations().get_users(params)
        assert response.get_status_code() == 200
        wrapper = response.get_object()
        assert isinstance(wrapper, ResponseWrapper)
        assert [u.get_email() for u in wrapper.get_users()] == [z.user_email]
        assert z.oauth.stats()["refresh_token"] == 0  # the code grant's access token was reused


# ----- token requests in every form Zoho accepts ---------------------------------------------------


def _multipart(url: str, form: dict[str, str]) -> requests.Response:
    """A token POST as Zoho's non-Python SDKs send it: multipart/form-data, one part per parameter."""
    return requests.post(url, files={k: (None, v) for k, v in form.items()}, timeout=10)


def _query_string(url: str, form: dict[str, str]) -> requests.Response:
    """A token POST as Zoho's docs show it: every parameter in the query string, no body."""
    return requests.post(url, params=form, timeout=10)


@pytest.mark.parametrize("send", [_multipart, _query_string], ids=["multipart", "query-string"])
def test_token_requests_in_multipart_and_query_string_give_tokens_and_refresh_after_expiry(
    accounts: Accounts, send: Callable[[str, dict[str, str]], requests.Response]
) -> None:
    token_url = accounts.url + "/oauth/v2/token"
    code = accounts.consent()["code"]
    r = send(
        token_url,
        {
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": REDIRECT,
            "code": code,
        },
    )
    if send is _multipart:
        assert r.request.headers["content-type"].startswith("multipart/form-data")
    else:
        assert r.request.body is None and "grant_type=authorization_code" in (r.request.url or "")
    first = r.json()
    assert {"access_token", "refresh_token"} <= set(first), first
    assert accounts.crm(first["access_token"]).status_code == 200

    accounts.clock.advance(3601)  # the access token has expired
    assert accounts.crm(first["access_token"]).status_code == 401
    refreshed = send(
        token_url,
        {
            "grant_type": "refresh_token",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": first["refresh_token"],
        },
    ).json()
    assert "access_token" in refreshed, refreshed
    assert accounts.crm(refreshed["access_token"]).status_code == 200


def test_a_malformed_multipart_token_request_is_answered_not_crashed(accounts: Accounts) -> None:
    r = requests.post(
        accounts.url + "/oauth/v2/token",
        data=b"--x\r\nContent-Disposition: form-data\r\n\r\nbroken",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        timeout=10,
    )
    assert r.status_code == 200 and r.json() == {"error": "unsupported_grant_type"}
