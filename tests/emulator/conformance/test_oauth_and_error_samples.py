"""OAuth answers and the error bodies (tokens, modules, criteria, page and field limits, 429) against
the shapes of Zoho's documented samples."""

from __future__ import annotations

import requests

from tests.emulator.conformance._shape import check_shape

# https://www.zoho.com/crm/developer/docs/api/v4/access-refresh.html (the code grant's sample; the
# v7/v8 pages show the same keys): both tokens, the API domain, "Bearer" and an integer lifetime.
CODE_GRANT = {"access_token": str, "refresh_token": str, "api_domain": str, "token_type": "Bearer", "expires_in": int}
# The refresh grant answers the same keys without a refresh token (Zoho accounts' refresh samples, e.g.
# https://prewww.zoho.com/contracts/api/getting-started/refreshing-access-tokens.html, one accounts server).
REFRESH_GRANT = {"access_token": str, "api_domain": str, "token_type": "Bearer", "expires_in": int}
# Failures come back as HTTP 200 with an "error" string (../shared/reference/zoho-crm-v8.md, from
# Zoho's accounts OAuth docs): invalid_code for a bad or used code and a bad refresh token.
OAUTH_ERROR = {"error": frozenset({"invalid_code", "invalid_client", "invalid_client_secret"})}
# https://www.zoho.com/crm/developer/docs/api/v7/revoke-tokens.html: {"status": "success"}.
REVOKED = {"status": "success"}


def _error(code: str, message: object = str) -> dict[str, object]:
    """Zoho's error envelope (every "Possible Errors" list of the v7 pages): status, code, message, details."""
    return {"status": "error", "code": code, "message": message, "details": dict}


# Zoho's status-code list and every v7 page's OAUTH errors: a missing or dead token is 401 INVALID_TOKEN
# "invalid oauth token" with empty details.
INVALID_TOKEN = {"status": "error", "code": "INVALID_TOKEN", "message": "invalid oauth token", "details": {}}
# https://www.zoho.com/crm/developer/docs/api/v7/get-records.html, possible errors (all HTTP 400):
INVALID_MODULE = _error("INVALID_MODULE")
FIELDS_MISSING = _error("REQUIRED_PARAM_MISSING")
FIELDS_OVER_50 = _error("LIMIT_EXCEEDED")
PAST_2000 = _error("DISCRETE_PAGINATION_LIMIT_EXCEEDED")
PAGE_AND_TOKEN = _error("AMBIGUITY_DURING_PROCESSING")
# https://www.zoho.com/crm/developer/docs/api/v7/api-limits.html: past the limits HTTP 429 TOO_MANY_REQUESTS.
TOO_MANY = _error("TOO_MANY_REQUESTS")


def _grant(z, **params: str) -> requests.Response:
    return requests.post(
        z.token_url, data={"client_id": z.client_id, "client_secret": z.client_secret, **params}, timeout=10
    )


def test_code_and_refresh_grants(fresh_emulator):
    z = fresh_emulator
    code = z.control.self_client_code(z.client_id, "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL")
    r = _grant(z, grant_type="authorization_code", code=code, redirect_uri=z.redirect_url)
    assert r.status_code == 200 and check_shape(r.json(), CODE_GRANT) == [], r.text
    again = _grant(z, grant_type="authorization_code", code=code, redirect_uri=z.redirect_url)
    assert again.status_code == 200 and again.json() == {"error": "invalid_code"}  # single-use
    refreshed = _grant(z, grant_type="refresh_token", refresh_token=r.json()["refresh_token"])
    assert refreshed.status_code == 200 and check_shape(refreshed.json(), REFRESH_GRANT) == []
    assert "refresh_token" not in refreshed.json()


def test_oauth_errors_are_http_200_with_an_error(fresh_emulator):
    z = fresh_emulator
    cases = [
        ({"grant_type": "refresh_token", "refresh_token": "1000.nope"}, "invalid_code"),
        ({"grant_type": "refresh_token", "refresh_token": z.refresh_token, "client_id": "1000.NOPE"}, "invalid_client"),
        (
            {"grant_type": "refresh_token", "refresh_token": z.refresh_token, "client_secret": "nope"},
            "invalid_client_secret",
        ),
    ]
    for params, expected in cases:
        r = _grant(z, **params)
        assert r.status_code == 200 and check_shape(r.json(), OAUTH_ERROR) == [] and r.json()["error"] == expected


def test_revoke_kills_the_refresh_token_and_its_access_tokens(api, fresh_emulator):
    z = fresh_emulator
    assert api.get("/org").status_code == 200
    r = requests.post(z.url + "/oauth/v2/token/revoke", params={"token": z.refresh_token}, timeout=10)
    assert r.status_code == 200 and check_shape(r.json(), REVOKED) == []
    dead = api.get("/org")
    assert dead.status_code == 401 and check_shape(dead.json(), INVALID_TOKEN) == []
    assert _grant(z, grant_type="refresh_token", refresh_token=z.refresh_token).json() == {"error": "invalid_code"}


def test_token_errors(fresh_emulator):
    url = fresh_emulator.url + "/crm/v8/org"
    for headers in ({}, {"Authorization": "Zoho-oauthtoken 1000.0000.0000"}):
        r = requests.get(url, headers=headers, timeout=10)
        assert r.status_code == 401 and check_shape(r.json(), INVALID_TOKEN) == []


def test_module_criteria_page_and_field_limit_errors(api):
    cases = [
        (api.get("/Nope", params={"fields": "Account_Name"}), INVALID_MODULE),
        (api.get("/Nope/actions/count"), INVALID_MODULE),
        (api.get("/settings/fields", params={"module": "Nope"}), INVALID_MODULE),
        (api.get("/Accounts"), FIELDS_MISSING),
        (api.get("/Accounts", params={"fields": ",".join(["Account_Name"] * 51)}), FIELDS_OVER_50),
        (api.get("/Accounts", params={"fields": "Account_Name", "page": 11}), PAST_2000),
        (api.get("/Accounts", params={"fields": "Account_Name", "page": 2, "page_token": "x"}), PAGE_AND_TOKEN),
        (api.get("/Accounts/search", params={"criteria": "Account_Name:equals"}), _error("INVALID_QUERY")),
    ]
    for response, shape in cases:
        assert response.status_code == 400, (response.request.url, response.status_code)
        assert check_shape(response.json(), shape) == [], (response.request.url, response.json())


def test_too_many_requests(api, fresh_emulator):
    fresh_emulator.control.add_fault("429", path="/crm/v8/org")
    r = api.get("/org")
    assert r.status_code == 429 and check_shape(r.json(), TOO_MANY) == [], r.text
