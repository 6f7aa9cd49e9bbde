"""The OpenAPI contract is never off silently, and generated input (schemathesis) never breaks it.

Zoho's files stay outside the repository (see tests/fixtures/emulator.py for where they are looked
for). Without them these tests are SKIPPED with the reason, or FAIL with SERGAS_NB_REQUIRE_OAS=1.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures import emulator as fx

# The operation families every session must have validated at least one answer of.
FAMILIES = (
    "record.json",
    "module_search.json",
    "coql.json",
    "record_count.json",
    "users.json",
    "org.json",
    "fields.json",
    "modules.json",
)


def test_answers_of_every_operation_family_are_validated(api, oas):
    before = fx.VALIDATED.copy()
    api.get("/Accounts", params={"fields": "Account_Name", "per_page": 2})
    first = api.get("/Accounts", params={"fields": "Account_Name", "per_page": 1}).json()["data"][0]["id"]
    api.get(f"/Accounts/{first}")
    api.delete("/Accounts", params={"ids": first})
    api.get("/Accounts/deleted", params={"type": "all"})
    api.get("/Accounts/search", params={"criteria": "(Industry:equals:Technology)", "per_page": 2})
    summary = "select Industry, COUNT(id) from Accounts where id is not null group by Industry"
    api.post("/coql", json={"select_query": summary})
    api.get("/Accounts/actions/count")
    api.get("/users", params={"type": "CurrentUser"})
    api.get("/users/actions/count")
    api.get("/org")
    api.get("/settings/fields", params={"module": "Accounts"})
    api.get("/settings/modules")
    done = fx.VALIDATED - before
    assert {family: done[family] for family in FAMILIES if done[family] == 0} == {}, done
    assert api.validated >= 13 and not api.schema_errors


def test_missing_files_are_skipped_with_the_reason_and_fail_when_required(monkeypatch, tmp_path):
    monkeypatch.setenv(fx.OAS_ENV, str(tmp_path))
    monkeypatch.delenv(fx.REQUIRE_OAS_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=str(tmp_path)):
        fx.require_oas()
    monkeypatch.setenv(fx.REQUIRE_OAS_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="SERGAS_NB_REQUIRE_OAS=1"):
        fx.require_oas()


def test_the_environment_variable_names_the_folder_or_its_parent(oas, monkeypatch):
    real = fx.oas_dir()
    for named in (real, real.parent):
        monkeypatch.setenv(fx.OAS_ENV, str(named))
        assert fx.oas_dir() == real and fx.oas_missing_reason() is None


# ----- generated input: schemathesis against Zoho's own operation definitions ---------------------

# (file, path template, method, path parameter naming the module): records, search, COQL and count.
OPERATIONS = (
    ("record.json", "/crm/v8/{module_api_name}", "GET", "module_api_name"),
    ("record.json", "/crm/v8/{module_api_name}", "POST", "module_api_name"),
    ("record.json", "/crm/v8/{module_api_name}", "PUT", "module_api_name"),
    ("record.json", "/crm/v8/{module_api_name}", "DELETE", "module_api_name"),
    ("record.json", "/crm/v8/{module_api_name}/upsert", "POST", "module_api_name"),
    ("record.json", "/crm/v8/{module_api_name}/{id}", "GET", "module_api_name"),
    ("record.json", "/crm/v8/{module_api_name}/deleted", "GET", "module_api_name"),
    ("module_search.json", "/crm/v8/{module}/search", "GET", "module"),
    ("coql.json", "/crm/v8/coql", "POST", None),
    ("record_count.json", "/crm/v8/{module_api_name}/actions/count", "GET", "module_api_name"),
)
MODULES = st.sampled_from(["Accounts", "Leads", "Contacts", "Deals", "accounts", "Widgets", "x y", "%"])


@pytest.mark.parametrize(("file", "path", "method", "module_param"), OPERATIONS, ids=lambda v: str(v))
def test_generated_requests_get_no_5xx_and_conforming_answers(api, oas, file, path, method, module_param):
    schema = schemathesis.openapi.from_dict(fx.bundled_oas(file))
    strategy = schema[path][method].as_strategy()
    statuses: list[int] = []

    @settings(
        max_examples=int(os.environ.get("SERGAS_NB_FUZZ_EXAMPLES", "30")),
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, module=MODULES)
    def run(case, module):
        if module_param is not None:
            case.path_parameters = {**(case.path_parameters or {}), module_param: module}
        response = case.call(base_url=api.z.url, session=api)
        statuses.append(response.status_code)
        assert response.status_code < 500, (case.as_curl_command(), response.text[:300])

    run()
    assert statuses, "schemathesis generated no request"
    # Api checked every JSON answer against the operation's schema; the fixture fails on any mismatch.
    assert not api.schema_errors, api.schema_errors[:5]
