"""Search and COQL (rows, lookups, aggregates, errors) against the shapes of Zoho's documented samples."""

from __future__ import annotations

from tests.emulator.conformance._shape import check_shape

# https://www.zoho.com/crm/developer/docs/api/v7/search-records.html (every sample response): rows
# with their id, and an `info` of four keys (no page tokens in search).
SEARCH = {"data": [{"id": str}], "info": {"per_page": int, "count": int, "page": int, "more_records": bool}}
# Same page, possible errors: none of criteria/email/phone/word is EXPECTED_PARAM_MISSING
# "mandatory param missing" (400); a value under 2 characters INVALID_DATA (400); a bad operator or
# field INVALID_QUERY (400). The page writes "invalid query formed"; Zoho's module_search.json enum
# has only "Invalid query formed": the OpenAPI enum is followed (the contract test enforces it, and
# the words are the same).
SEARCH_PARAM_MISSING = {
    "status": "error",
    "code": "EXPECTED_PARAM_MISSING",
    "message": "mandatory param missing",
    "details": {"param_names": [str]},
}
SEARCH_SHORT_VALUE = {"status": "error", "code": "INVALID_DATA", "message": str, "details": dict}
SEARCH_BAD_QUERY = {"status": "error", "code": "INVALID_QUERY", "message": "Invalid query formed", "details": dict}

# https://www.zoho.com/crm/developer/docs/api/v7/Get-Records-through-COQL-Query.html: rows always
# carry the id; `info` is count and more_records only. Lookups: most samples of that page show
# {"id"} alone ("the response only contains the ID"), one later section says that from v7 lookups
# also carry the display name. Both are accepted here; see the report (unconfirmed).
COQL = {"data": [{"id": str}], "info": {"count": int, "more_records": bool}}
COQL_LOOKUP = {"id": str, "name?": str}
# Same page, "Aggregate Function": a row per group holding the grouped columns and each aggregate
# under its text (e.g. "SUM(Annual_Revenue)"), a number; no id.
COQL_AGG_ROW = {"Industry": (str, None), "COUNT(id)": int, "SUM(Annual_Revenue)": (float, None)}
# Same page, possible errors (all 400 with Zoho's error envelope).
COQL_ERROR = {"status": "error", "code": str, "message": str, "details": dict}


def test_search_rows_and_info(api):
    r = api.get("/Accounts/search", params={"criteria": "(Account_Name:starts_with:So)", "fields": "Account_Name"})
    assert r.status_code == 200, r.text
    assert check_shape(r.json(), SEARCH) == []
    assert "next_page_token" not in r.json()["info"]


def test_search_errors(api):
    missing = api.get("/Accounts/search")
    assert missing.status_code == 400 and check_shape(missing.json(), SEARCH_PARAM_MISSING) == []
    short = api.get("/Accounts/search", params={"word": "a"})
    assert short.status_code == 400 and check_shape(short.json(), SEARCH_SHORT_VALUE) == []
    bad = api.get("/Accounts/search", params={"criteria": "(Account_Name:resembles:Solar)"})
    assert bad.status_code == 400 and check_shape(bad.json(), SEARCH_BAD_QUERY) == []
    nothing = api.get("/Accounts/search", params={"criteria": "(Account_Name:equals:Qqqqqqqqqq)"})
    assert nothing.status_code == 204 and not nothing.content  # search page: 204 when nothing matches


def test_coql_rows_lookups_and_info(api):
    q = "select Account_Name, Owner, Parent_Account, Annual_Revenue from Accounts where id is not null limit 5"
    r = api.post("/coql", json={"select_query": q})
    assert r.status_code == 200, r.text
    body = r.json()
    assert check_shape(body, COQL) == []
    assert body["info"]["count"] == len(body["data"]) == 5 and body["info"]["more_records"] is True
    for row in body["data"]:
        assert check_shape(row["Owner"], COQL_LOOKUP) == []
        assert check_shape(row["Parent_Account"], (COQL_LOOKUP, None)) == []


def test_coql_aggregates_are_keyed_by_their_text(api):
    q = "select Industry, COUNT(id), SUM(Annual_Revenue) from Accounts where id is not null group by Industry"
    r = api.post("/coql", json={"select_query": q})
    assert r.status_code == 200, r.text
    assert check_shape(r.json(), {"data": [COQL_AGG_ROW], "info": {"count": int, "more_records": bool}}) == []
    assert all("id" not in row for row in r.json()["data"])


def test_coql_errors(api):
    cases = {
        "select from Accounts where id is not null": "SYNTAX_ERROR",
        "select Account_Name from Accounts": "SYNTAX_ERROR",  # no where clause (older versions demand one)
        "select Nope__x from Accounts where id is not null": "INVALID_QUERY",
        "select id from Accounts where id is not null limit 2001": "LIMIT_EXCEEDED",
        # The page also lists a select column given twice as DUPLICATE_DATA (HTTP 401 there); the emulator
        # folds repeats into one column and tests/emulator/test_coql.py::test_at_most_50_selected_fields
        # relies on that, so it stays (reported as an open difference). Repeats in ORDER BY are checked:
        "select id from Accounts where id is not null order by id, id": "DUPLICATE_DATA",
    }
    for query, code in cases.items():
        r = api.post("/coql", json={"select_query": query})
        assert r.status_code in (400, 401), (query, r.status_code)
        assert check_shape(r.json(), {**COQL_ERROR, "code": code}) == [], (query, r.json())
