"""Zoho's limits: org concurrency, sub-concurrency (search, COQL, big writes) and the credit budget."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import requests


def _parallel(calls):
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda c: c(), calls))


def _session(api):
    s = requests.Session()
    s.headers.update(api.headers)
    return s


def test_org_concurrency_answers_429(api, fresh_emulator):
    fresh_emulator.control.set_limits(concurrency=3)
    fresh_emulator.control.set_latency(fixed=0.6)
    url = fresh_emulator.url + "/crm/v8/Accounts"
    calls = [
        lambda: _session(api).get(url, params={"fields": "Account_Name", "per_page": 1}, timeout=10) for _ in range(6)
    ]
    codes = sorted(r.status_code for r in _parallel(calls))
    assert codes.count(200) == 3 and codes.count(429) == 3
    rejected = [r for r in _parallel(calls) if r.status_code == 429]
    assert rejected and all(r.json()["code"] == "TOO_MANY_REQUESTS" for r in rejected)


def test_search_uses_the_sub_concurrency_pool(api, fresh_emulator):
    fresh_emulator.control.set_limits(sub_concurrency=2)
    fresh_emulator.control.set_latency(fixed=0.6)
    base = fresh_emulator.url + "/crm/v8/Accounts"
    searches = [lambda: _session(api).get(base + "/search", params={"word": "Systems"}, timeout=10) for _ in range(4)]
    lists = [
        lambda: _session(api).get(base, params={"fields": "Account_Name", "per_page": 1}, timeout=10) for _ in range(2)
    ]
    results = _parallel(searches + lists)
    search_codes = sorted(r.status_code for r in results[:4])
    assert search_codes == [200, 200, 429, 429]
    assert [r.status_code for r in results[4:]] == [200, 200]  # plain lists are not in the sub pool


def test_only_writes_of_more_than_10_records_use_the_sub_pool(api, fresh_emulator):
    ids = [r["id"] for r in api.get("/Accounts", params={"fields": "Account_Name", "per_page": 11}).json()["data"]]
    fresh_emulator.control.set_limits(sub_concurrency=1)
    fresh_emulator.control.set_latency(fixed=0.6)
    url = fresh_emulator.url + "/crm/v8/Accounts"

    def write(n):
        body = json.dumps({"data": [{"id": i, "Health_Score": 50} for i in ids[:n]]})
        return lambda: _session(api).put(url, data=body, timeout=10)

    assert sorted(r.status_code for r in _parallel([write(11), write(11)])) == [200, 429]
    assert [r.status_code for r in _parallel([write(10), write(10)])] == [200, 200]


def test_credit_budget_header_and_exhaustion(api, fresh_emulator):
    fresh_emulator.control.set_limits(credits_per_day=10)
    params = {"fields": "Account_Name", "per_page": 1}
    first = api.get("/Accounts", params=params)
    assert "X-API-CREDITS-REMAINING" not in first.headers  # not past half yet
    ids = [r["id"] for r in api.get("/Accounts", params={"fields": "Account_Name", "per_page": 30}).json()["data"]]
    r = api.put("/Accounts", data=json.dumps({"data": [{"id": i, "Health_Score": 1} for i in ids]}))  # 3 credits
    assert r.status_code == 200 and "X-API-CREDITS-REMAINING" not in r.headers  # 5 of 10 left: exactly half
    for left in ("4", "3", "2", "1", "0"):
        assert api.get("/Accounts", params=params).headers["X-API-CREDITS-REMAINING"] == left
    r = api.get("/Accounts", params=params)
    assert r.status_code == 429 and r.json()["code"] == "TOO_MANY_REQUESTS"
    fresh_emulator.control.reset()
    assert fresh_emulator.control.stats()["limits"]["credits_spent"] == 0
