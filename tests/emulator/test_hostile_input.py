"""No input makes a handler raise: deep nesting and generated hostile criteria and COQL get 4xx, never 5xx.

Every call goes through the ``api`` fixture, which also fails the test if the app's catch-all (a
logged 500 for an unexpected exception) fired, and checks each answer against Zoho's files.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=150, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
)

# Pieces of real criteria and COQL, recombined at random: close enough to parse far, wrong enough to break.
CRITERIA_PIECES = st.sampled_from(
    [
        "(",
        ")",
        "((",
        "))",
        ":",
        ",",
        "\\",
        "\\(",
        "\\,",
        " ",
        "and",
        "or",
        "AND",
        " and ",
        " or ",
        "Account_Name",
        "Annual_Revenue",
        "Industry",
        "Owner",
        "Created_Time",
        "id",
        "Nope",
        "Tag",
        "equals",
        "not_equal",
        "starts_with",
        "greater_than",
        "between",
        "in",
        "less_equal",
        "Zylker",
        "1000000",
        "-1",
        "1e309",
        "2024-01-01",
        "2024-13-45T25:61:00+00:00",
        "true",
        "x",
        "é",
        "\x00",
    ]
)
COQL_PIECES = st.sampled_from(
    [
        "select",
        "from",
        "where",
        "group by",
        "order by",
        "limit",
        "offset",
        "as",
        "and",
        "or",
        "not",
        "in",
        "like",
        "between",
        "is null",
        "is not null",
        "asc",
        "desc",
        "COUNT(",
        "SUM(",
        "MIN(",
        "MAX(",
        "AVG(",
        "(",
        ")",
        ",",
        ".",
        "=",
        "!=",
        ">=",
        "<",
        "'",
        "''",
        '"',
        "Accounts",
        "Contacts",
        "Widgets",
        "id",
        "Account_Name",
        "Annual_Revenue",
        "Industry",
        "Owner.email",
        "Parent_Account.Account_Name",
        "Description",
        "Tag",
        "0",
        "2000",
        "99999999999999999999",
        "-5",
        "1.5e308",
        "'Zylker'",
        "'%z%'",
        "null",
        "true",
        " ",
    ]
)


def _hostile(pieces: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.lists(pieces, min_size=1, max_size=40).map("".join),
        st.lists(pieces, min_size=1, max_size=40).map(" ".join),
        st.text(max_size=200),
    )


def test_deeply_nested_criteria_is_zoho_s_400(api):
    for criteria in (
        "(" * 500 + "Industry:equals:Technology" + ")" * 500,
        "(" * 1000,
        "((" * 300 + "(Industry:equals:Technology)" + "))" * 300,
    ):
        for path in ("/Accounts/search", "/Accounts/actions/count"):
            r = api.get(path, params={"criteria": criteria})
            assert r.status_code == 400 and r.json()["code"] == "INVALID_QUERY", (path, r.text[:200])


def test_deeply_nested_coql_is_zoho_s_400(api):
    for query in (
        "select id from Accounts where " + "(" * 500 + "id is not null" + ")" * 500,
        "select id from Accounts where " + "(" * 1000,
        "(" * 1000,
    ):
        r = api.post("/coql", json={"select_query": query})
        assert r.status_code == 400 and r.json()["code"] in ("LIMIT_EXCEEDED", "SYNTAX_ERROR"), r.text[:200]


def test_generated_hostile_criteria_never_give_a_5xx(api):
    @FUZZ
    @given(criteria=_hostile(CRITERIA_PIECES), path=st.sampled_from(["/Accounts/search", "/Accounts/actions/count"]))
    def run(criteria: str, path: str) -> None:
        r = api.get(path, params={"criteria": criteria, "per_page": 5})
        assert r.status_code < 500, (criteria, r.text[:200])

    run()


def test_generated_hostile_coql_never_gives_a_5xx(api):
    @FUZZ
    @given(query=_hostile(COQL_PIECES))
    def run(query: str) -> None:
        r = api.post("/coql", json={"select_query": "select " + query})
        assert r.status_code < 500, (query, r.text[:200])

    run()


def test_coql_bodies_that_are_not_objects_get_invalid_query(api):
    for body in (b"[]", b'"select id from Accounts"', b"42", b"null", b"{", b"", b'{"select_query": 5}'):
        r = api.post("/coql", data=body)
        assert r.status_code == 400 and r.json()["code"] == "INVALID_QUERY", (body, r.text)
