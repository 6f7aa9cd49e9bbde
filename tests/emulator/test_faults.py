"""Test controls: injected faults fire for the next N matching calls, then the emulator is normal again."""

from __future__ import annotations

import json

import pytest
import requests

PARAMS = {"fields": "Account_Name", "per_page": 1}


def test_html_502_once_then_normal(api, fresh_emulator):
    fresh_emulator.control.add_fault("status", path=r"^/crm/v8/Accounts$", status=502, body="html")
    r = api.get("/Accounts", params=PARAMS)
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html") and "<html>" in r.text
    assert api.get("/Accounts", params=PARAMS).status_code == 200


def test_zoho_json_error_for_n_calls_matching_method(api, fresh_emulator):
    fresh_emulator.control.add_fault("status", path="/crm/v8/Accounts", method="GET", count=2, status=500)
    assert api.put("/Accounts", data='{"data": [{"id": "1"}]}').status_code == 400  # PUT does not match
    for _ in range(2):
        r = api.get("/Accounts", params=PARAMS)
        assert r.status_code == 500 and r.json() == {
            "status": "error",
            "code": "INTERNAL_ERROR",
            "message": "Internal server error occurred.",
            "details": {},
        }
    assert api.get("/Accounts", params=PARAMS).status_code == 200


def test_429_fault(api, fresh_emulator):
    fresh_emulator.control.add_fault("429", path="/search")
    r = api.get("/Accounts/search", params={"word": "Systems"})
    assert r.status_code == 429 and r.json()["code"] == "TOO_MANY_REQUESTS"


def test_connection_reset(api, fresh_emulator):
    fresh_emulator.control.add_fault("reset", path="/crm/v8/Accounts")
    with pytest.raises(requests.ConnectionError):
        api.get("/Accounts", params=PARAMS)
    assert api.get("/Accounts", params=PARAMS).status_code == 200


def test_reset_fault_on_token_endpoint(fresh_emulator):
    z = fresh_emulator
    z.control.add_fault("reset", path="/oauth/v2/token", method="POST")
    form = {
        "grant_type": "refresh_token",
        "client_id": z.client_id,
        "client_secret": z.client_secret,
        "refresh_token": z.refresh_token,
    }
    with pytest.raises(requests.ConnectionError):
        requests.post(z.token_url, data=form, timeout=10)
    assert "access_token" in requests.post(z.token_url, data=form, timeout=10).json()


def test_stall_makes_a_client_time_out(api, fresh_emulator):
    fresh_emulator.control.add_fault("stall", path="/crm/v8/org", seconds=2)
    with pytest.raises(requests.ReadTimeout):
        api.get("/org", timeout=0.3)
    assert api.get("/org").status_code == 200


def test_malformed_200(api, fresh_emulator):
    fresh_emulator.control.add_fault("malformed", path="/crm/v8/Accounts")
    r = api.get("/Accounts", params=PARAMS)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()


def test_latency_applies_to_crm_calls(api, fresh_emulator):
    fresh_emulator.control.set_latency(fixed=1.0)
    with pytest.raises(requests.ReadTimeout):
        api.get("/Accounts", params=PARAMS, timeout=0.3)
    fresh_emulator.control.set_latency(fixed=0, per_record=0.01)
    with pytest.raises(requests.ReadTimeout):
        api.get("/Accounts", params={"fields": "Account_Name", "per_page": 200}, timeout=0.5)  # 2 s for 200
    assert api.get("/Accounts", params=PARAMS, timeout=0.5).status_code == 200  # 0.01 s for 1


def test_stats_count_requests_by_path_and_reset_clears_everything(api, fresh_emulator):
    for _ in range(3):
        api.get("/Accounts", params=PARAMS)
    api.get("/org")
    assert fresh_emulator.control.requests_to("/crm/v8/Accounts") == 3
    assert fresh_emulator.control.requests_to("/crm/v8/org", method="GET") == 1
    stats = fresh_emulator.control.stats()
    assert stats["oauth"]["refresh_token"] == 1
    fresh_emulator.control.add_fault("status", path=".*", status=503)
    fresh_emulator.control.reset()
    stats = fresh_emulator.control.stats()
    assert stats["total"] == 0 and stats["pending_faults"] == []


def test_bad_control_requests_are_refused(fresh_emulator):
    base = fresh_emulator.url + "/__emulator__"
    assert requests.post(base + "/faults", json={"kind": "explode"}, timeout=5).status_code == 400
    assert requests.post(base + "/faults", json={"kind": "status", "path": "("}, timeout=5).status_code == 400
    assert requests.post(base + "/latency", json={"fixed": -1}, timeout=5).status_code == 400
    assert requests.post(base + "/reseed", json={"accounts": "many"}, timeout=5).status_code == 400


def test_reseed_changes_the_data(api, fresh_emulator):
    before = api.get("/Accounts", params=PARAMS).json()["data"][0]
    out = fresh_emulator.control.reseed(seed=7, accounts=120)
    assert out["counts"]["Accounts"] == 120
    after = api.get("/Accounts", params=PARAMS).json()["data"][0]
    assert after != before and api.get("/Accounts/actions/count").json()["count"] == 120


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "reset"},
        {"kind": "status", "status": 502, "body": "html"},
        {"kind": "malformed"},
    ],
)
def test_fault_after_apply_loses_the_answer_of_an_applied_write(api, fresh_emulator, fault):
    rid = api.get("/Accounts", params=PARAMS).json()["data"][0]["id"]
    fresh_emulator.control.add_fault(path="^/crm/v8/Accounts$", method="PUT", after=True, **fault)
    body = json.dumps({"data": [{"id": rid, "Description": "written before the answer was lost"}]})
    try:
        r = api.put("/Accounts", data=body)
        assert r.status_code == 502 or r.text.startswith('{"data": [{"id"')
        assert "SUCCESS" not in r.text or fault["kind"] == "malformed"
    except requests.ConnectionError:
        assert fault["kind"] == "reset"
    got = api.get(f"/Accounts/{rid}", params={"fields": "Description"}).json()["data"][0]
    assert got["Description"] == "written before the answer was lost"


def test_stall_after_apply_times_out_an_applied_write(api, fresh_emulator):
    rid = api.get("/Accounts", params=PARAMS).json()["data"][0]["id"]
    fresh_emulator.control.add_fault("stall", path="^/crm/v8/Accounts$", method="PUT", after=True, seconds=2)
    body = json.dumps({"data": [{"id": rid, "Description": "slow but applied"}]})
    with pytest.raises(requests.ReadTimeout):
        api.put("/Accounts", data=body, timeout=(5, 0.5))
    got = api.get(f"/Accounts/{rid}", params={"fields": "Description"}).json()["data"][0]
    assert got["Description"] == "slow but applied"
