"""COQL (POST /crm/v8/coql): grammar, comparators, lookups, ordering, paging, limits and errors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from sergas_nb.emulator.errors import EmulatorError
from sergas_nb.emulator.query import run_coql
from sergas_nb.emulator.state.metadata import field_map

ANN = {"name": "Ann Lee", "id": "4150868000000225013", "email": "ann.lee@sergas.example"}
BOB = {"name": "Bob Stone", "id": "4150868000000225014", "email": "bob.stone@sergas.example"}


def _blank(module: str) -> dict[str, Any]:
    return dict.fromkeys(field_map(module))


def _account(n: int, name: str, **values: Any) -> dict[str, Any]:
    record = _blank("Accounts")
    record.update(id=f"41508680000003000{n:02d}", Account_Name=name, Owner=ANN)
    record.update(values)
    return record


ACCOUNTS = [
    _account(
        1,
        "Zylker Systems",
        Annual_Revenue=2_500_000.0,
        Employees=120,
        Industry="Technology",
        Rating="Active",
        Billing_City="Austin",
        Last_Engagement_Date="2024-03-01",
        Created_Time="2023-01-05T10:00:00+00:00",
        Description="Long multi-line notes",
    ),
    _account(
        2,
        "O'Brien & Sons",
        Annual_Revenue=400_000.0,
        Employees=12,
        Industry="Retail",
        Owner=BOB,
        Billing_City="london",
        Last_Engagement_Date="2023-11-20",
        Created_Time="2023-06-30T23:30:00+00:00",
    ),
    _account(
        3,
        "Acme Corp",
        Annual_Revenue=None,
        Employees=5000,
        Industry="Manufacturing",
        Billing_City="New York",
        Parent_Account={"name": "Zylker Systems", "id": "4150868000000300001"},
        Created_Time="2024-02-29T08:15:00+00:00",
    ),
    _account(
        4,
        "Zyl Partners",
        Annual_Revenue=1_000_000.0,
        Employees=40,
        Industry="Technology",
        Owner=BOB,
        Billing_City="Austin",
        Last_Engagement_Date="2024-01-15",
        Created_Time="2024-07-01T00:00:00+00:00",
        Parent_Account={"name": "Acme Corp", "id": "4150868000000300003"},
    ),
    _account(
        5,
        "Initech",
        Annual_Revenue=1_000_000.0,
        Employees=40,
        Industry="Technology",
        Billing_City="Austin",
        Last_Engagement_Date="2022-05-05",
        Created_Time="2022-05-05T12:00:00+00:00",
    ),
]


def _contact(n: int, last: str, account: dict[str, Any] | None, **values: Any) -> dict[str, Any]:
    record = _blank("Contacts")
    record.update(
        id=f"41508680000004000{n:02d}",
        Last_Name=last,
        Owner=ANN,
        Account_Name={"name": account["Account_Name"], "id": account["id"]} if account else None,
    )
    record.update(values)
    return record


CONTACTS = [
    _contact(1, "Lee", ACCOUNTS[0], Email="lee@zylker.example", Email_Opt_Out=False),
    _contact(2, "Obi", ACCOUNTS[1], Email="obi@obrien.example", Email_Opt_Out=True),
    _contact(3, "Nox", None, Email=None, Email_Opt_Out=False),
]


class MemoryCatalog:
    """The Catalog protocol over plain lists, as the emulator's store offers it."""

    def __init__(self, data: dict[str, list[dict[str, Any]]]) -> None:
        self.data = data
        self.by_id = {(m, r["id"]): r for m, rows in data.items() for r in rows}

    def fields(self, module: str) -> dict[str, dict] | None:
        return field_map(module) if module in self.data else None

    def records(self, module: str) -> Iterable[dict]:
        return self.data[module]

    def get(self, module: str, id: str) -> dict | None:
        return self.by_id.get((module, id))

    def records_between(self, module: str, low: int | None, high: int | None) -> Iterable[dict]:
        return [
            r
            for r in self.data[module]
            if (low is None or int(r["id"]) >= low) and (high is None or int(r["id"]) <= high)
        ]


CATALOG = MemoryCatalog({"Accounts": ACCOUNTS, "Contacts": CONTACTS, "Deals": [], "Leads": []})


def run(query: str, catalog: MemoryCatalog = CATALOG) -> tuple[list[dict], bool]:
    return run_coql(query, catalog)


def nums(query: str) -> list[str]:
    rows, _ = run(query)
    return [row["id"][-1] for row in rows]


def error_of(query: str, catalog: MemoryCatalog = CATALOG) -> EmulatorError:
    with pytest.raises(EmulatorError) as caught:
        run_coql(query, catalog)
    return caught.value


# --- select ---------------------------------------------------------------------------------------


def test_rows_hold_selected_fields_plus_id_and_lookups_as_ids() -> None:
    rows, more = run(
        "select Account_Name, Owner, Parent_Account, Employees from Accounts where id = 4150868000000300003"
    )
    assert more is False
    assert rows == [
        {
            "Account_Name": "Acme Corp",
            "Owner": {"id": ANN["id"]},
            "Parent_Account": {"id": "4150868000000300001"},
            "Employees": 5000,
            "id": "4150868000000300003",
        }
    ]


def test_lookup_dot_paths_in_select() -> None:
    rows, _ = run(
        "select Owner.email, Parent_Account.Account_Name, Parent_Account.Parent_Account.Account_Name "
        "from Accounts where Parent_Account is not null"
    )
    assert rows == [
        {
            "Owner.email": ANN["email"],
            "Parent_Account.Account_Name": "Zylker Systems",
            "Parent_Account.Parent_Account.Account_Name": None,
            "id": "4150868000000300003",
        },
        {
            "Owner.email": BOB["email"],
            "Parent_Account.Account_Name": "Acme Corp",
            "Parent_Account.Parent_Account.Account_Name": "Zylker Systems",
            "id": "4150868000000300004",
        },
    ]


def test_lookup_dot_paths_in_where_cross_modules() -> None:
    rows, _ = run("select Last_Name, Account_Name.Industry from Contacts where Account_Name.Industry = 'retail'")
    assert rows == [{"Last_Name": "Obi", "Account_Name.Industry": "Retail", "id": "4150868000000400002"}]
    assert nums("select id from Accounts where Owner.email = 'bob.stone@sergas.example'") == ["2", "4"]
    assert nums("select id from Accounts where Owner.name like 'ann%'") == ["1", "3", "5"]


def test_keywords_ignore_case_and_quoted_column_names() -> None:
    rows, _ = run("SELECT 'Account_Name' FROM Accounts WHERE Industry = 'Retail' ORDER BY id DESC LIMIT 5")
    assert rows == [{"Account_Name": "O'Brien & Sons", "id": "4150868000000300002"}]


def test_field_names_ignore_case() -> None:
    rows, _ = run("select account_name from Accounts where INDUSTRY = 'Retail'")
    assert rows == [{"Account_Name": "O'Brien & Sons", "id": "4150868000000300002"}]


# --- comparators ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Annual_Revenue = 1000000", ["4", "5"]),
        ("Annual_Revenue != 1000000", ["1", "2"]),
        ("Annual_Revenue <> 1000000", ["1", "2"]),
        ("Annual_Revenue > 1000000", ["1"]),
        ("Annual_Revenue >= 1000000", ["1", "4", "5"]),
        ("Annual_Revenue < 1000000", ["2"]),
        ("Annual_Revenue <= 1000000.0", ["2", "4", "5"]),
        ("Annual_Revenue between 400000 and 1000000", ["2", "4", "5"]),
        ("Annual_Revenue not between 400000 and 1000000", ["1"]),
        ("Employees in (12, 40)", ["2", "4", "5"]),
        ("Employees not in (12, 40)", ["1", "3"]),
        ("Employees = '120'", ["1"]),
        ("Annual_Revenue is null", ["3"]),
        ("Annual_Revenue is not null", ["1", "2", "4", "5"]),
        ("Annual_Revenue = null", ["3"]),
    ],
)
def test_number_comparators(where: str, expected: list[str]) -> None:
    assert nums(f"select id from Accounts where {where}") == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Account_Name = 'zylker systems'", ["1"]),
        ("Account_Name = 'O''Brien & Sons'", ["2"]),
        (r"Account_Name = 'O\'Brien & Sons'", ["2"]),
        ('Account_Name = "O\'Brien & Sons"', ["2"]),
        ("Account_Name like 'zyl%'", ["1", "4"]),
        ("Account_Name like '%corp'", ["3"]),
        ("Account_Name like '%TEM%'", ["1"]),
        ("Account_Name not like '%zyl%'", ["2", "3", "5"]),
        ("Billing_City in ('London', 'new york')", ["2", "3"]),
        ("Billing_City not in ('Austin')", ["2", "3"]),
        ("Billing_City != 'Austin'", ["2", "3"]),
        ("Industry = 'Technology'", ["1", "4", "5"]),
        ("Industry like 'Tech%'", ["1", "4", "5"]),
        ("Rating is null", ["2", "3", "4", "5"]),
    ],
)
def test_text_and_picklist_comparators(where: str, expected: list[str]) -> None:
    assert nums(f"select id from Accounts where {where}") == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Last_Engagement_Date = '2024-03-01'", ["1"]),
        ("Last_Engagement_Date > '2023-12-31'", ["1", "4"]),
        ("Last_Engagement_Date between '2023-01-01' and '2024-01-31'", ["2", "4"]),
        ("Last_Engagement_Date in ('2022-05-05', '2024-03-01')", ["1", "5"]),
        ("Created_Time >= '2023-07-01T01:00:00+02:00'", ["2", "3", "4"]),
        ("Created_Time < '2023-01-05T10:00:01Z'", ["1", "5"]),
        ("id > 4150868000000300003", ["4", "5"]),
        ("id in ('4150868000000300001', 4150868000000300005)", ["1", "5"]),
        ("Owner = '4150868000000225014'", ["2", "4"]),
        ("Parent_Account = 4150868000000300001", ["3"]),
    ],
)
def test_date_datetime_id_and_lookup_comparators(where: str, expected: list[str]) -> None:
    assert nums(f"select id from Accounts where {where}") == expected


def test_boolean_comparators() -> None:
    rows, _ = run("select Last_Name from Contacts where Email_Opt_Out = true")
    assert [r["Last_Name"] for r in rows] == ["Obi"]
    rows, _ = run("select Last_Name from Contacts where Email_Opt_Out = 'false'")
    assert [r["Last_Name"] for r in rows] == ["Lee", "Nox"]


def test_and_or_with_brackets() -> None:
    assert nums("select id from Accounts where Industry = 'Technology' and Employees < 100") == ["4", "5"]
    assert nums("select id from Accounts where Industry = 'Retail' or Employees > 1000") == ["2", "3"]
    assert nums(
        "select id from Accounts where ((Industry = 'Technology' and Employees < 100) or Billing_City = 'London')"
    ) == ["2", "4", "5"]
    assert nums(
        "select id from Accounts where (Industry = 'Technology' and (Employees < 100 and Owner.email like 'bob%'))"
    ) == ["4"]


# --- order, limit, offset -----------------------------------------------------------------------


def test_default_order_is_id_ascending() -> None:
    assert nums("select id from Accounts where id is not null") == ["1", "2", "3", "4", "5"]


def test_order_by_several_keys_is_stable_with_nulls_first_ascending() -> None:
    assert nums("select id from Accounts where id is not null order by Annual_Revenue") == ["3", "2", "4", "5", "1"]
    assert nums("select id from Accounts where id is not null order by Annual_Revenue desc") == [
        "1",
        "4",
        "5",
        "2",
        "3",
    ]
    assert nums("select id from Accounts where id is not null order by Employees asc, Created_Time desc") == [
        "2",
        "4",
        "5",
        "1",
        "3",
    ]
    assert nums("select id from Accounts where id is not null order by Billing_City, id desc") == [
        "5",
        "4",
        "1",
        "2",
        "3",
    ]
    assert nums(
        "select id from Accounts where id is not null order by Owner.email desc, Parent_Account.Account_Name"
    ) == ["2", "4", "1", "5", "3"]


def test_limit_offset_forms_and_more_records() -> None:
    base = "select id from Accounts where id is not null"
    rows, more = run(f"{base} limit 2")
    assert ([r["id"][-1] for r in rows], more) == (["1", "2"], True)
    rows, more = run(f"{base} limit 2 offset 2")
    assert ([r["id"][-1] for r in rows], more) == (["3", "4"], True)
    rows, more = run(f"{base} limit 4, 2")  # "limit offset, count"
    assert ([r["id"][-1] for r in rows], more) == (["5"], False)
    rows, more = run(f"{base} offset 3")
    assert ([r["id"][-1] for r in rows], more) == (["4", "5"], False)
    rows, more = run(f"{base} limit 5")
    assert (len(rows), more) == (5, False)


def test_default_limit_is_200_and_2000_is_allowed() -> None:
    many = [_account(0, f"Bulk {i}") | {"id": str(5_000_000_000_000_000_000 + i)} for i in range(2_100)]
    catalog = MemoryCatalog({"Accounts": many})
    rows, more = run_coql("select Account_Name from Accounts where id is not null", catalog)
    assert (len(rows), more) == (200, True)
    rows, more = run_coql("select Account_Name from Accounts where id is not null limit 2000", catalog)
    assert (len(rows), more, rows[-1]["Account_Name"]) == (2000, True, "Bulk 1999")
    rows, more = run_coql("select Account_Name from Accounts where id is not null limit 2000 offset 2000", catalog)
    assert (len(rows), more) == (100, False)


# --- limits ---------------------------------------------------------------------------------------


def test_limit_above_2000() -> None:
    error = error_of("select id from Accounts where id is not null limit 2001")
    assert (error.code, error.details["limit"]) == ("LIMIT_EXCEEDED", 2000)


def test_offset_reaches_100000_rows() -> None:
    assert run("select id from Accounts where id is not null limit 2000 offset 98000")[0] == []
    error = error_of("select id from Accounts where id is not null limit 2000 offset 98001")
    assert (error.code, error.details["limit"]) == ("LIMIT_EXCEEDED", 100_000)


def test_at_most_50_selected_fields() -> None:
    names = list(field_map("Accounts"))
    fifty = ", ".join((names * 2)[:50])
    assert run(f"select {fifty} from Accounts where id is not null limit 1")[0]
    error = error_of(f"select {fifty}, id from Accounts where id is not null")
    assert (error.code, error.details["limit"]) == ("LIMIT_EXCEEDED", 50)


def _nested(conditions: list[str]) -> str:
    where = conditions[0]
    for condition in conditions[1:]:
        where = f"({where} or {condition})"
    return where


def test_at_most_25_criteria() -> None:
    twenty_five = _nested([f"Employees = {n}" for n in range(25)])
    assert nums(f"select id from Accounts where {twenty_five}") == ["2"]
    error = error_of(f"select id from Accounts where {_nested([f'Employees = {n}' for n in range(26)])}")
    assert (error.code, error.details["limit"]) == ("LIMIT_EXCEEDED", 25)


def test_at_most_50_values_in_in() -> None:
    fifty = ", ".join(str(n) for n in range(50))
    assert nums(f"select id from Accounts where Employees in ({fifty})") == ["2", "4", "5"]
    error = error_of(f"select id from Accounts where Employees not in ({fifty}, 50)")
    assert (error.code, error.details["limit"]) == ("LIMIT_EXCEEDED", 50)


def test_order_by_at_most_10_fields_and_no_duplicates() -> None:
    names = [n for n in field_map("Accounts") if n != "Description"][:11]
    error = error_of(f"select id from Accounts where id is not null order by {', '.join(names)}")
    assert (error.code, error.details["limit"]) == ("LIMIT_EXCEEDED", 10)
    assert error_of("select id from Accounts where id is not null order by id, id").code == "DUPLICATE_DATA"


# --- syntax errors ----------------------------------------------------------------------------------


def test_more_than_two_conditions_need_brackets() -> None:
    error = error_of("select id from Accounts where Employees > 1 and Employees < 100 and Industry = 'Retail'")
    assert error.code == "SYNTAX_ERROR"
    assert error.details == {"line": 1, "column": 65, "near": "and"}
    assert nums("select id from Accounts where ((Employees > 1 and Employees < 100) and Industry = 'Retail')") == ["2"]


def test_missing_where_clause() -> None:
    error = error_of("select id from Accounts order by id")
    assert (error.code, error.details) == ("SYNTAX_ERROR", {"clause": "where"})


@pytest.mark.parametrize(
    ("query", "line", "column", "near"),
    [
        ("select id form Accounts where id is not null", 1, 11, "form"),
        ("select id from Accounts where Employees = ", 1, 41, "="),
        ("select id from Accounts where Employees == 5", 1, 42, "="),
        ("select id,\nfrom Accounts where id is not null", 2, 6, "Accounts"),
        ("select id from Accounts where Account_Name = 'open", 1, 46, "'open"),
        ("select * from Accounts where id is not null", 1, 8, "*"),
        ("update Accounts set Employees = 1", 1, 1, "update"),
        ("select id from Accounts where id is not null limit -1", 1, 52, "-1"),
    ],
)
def test_syntax_error_points_at_the_problem(query: str, line: int, column: int, near: str) -> None:
    error = error_of(query)
    assert error.code == "SYNTAX_ERROR"
    assert error.details == {"line": line, "column": column, "near": near}


# --- invalid queries --------------------------------------------------------------------------------


def test_unknown_column_and_module() -> None:
    error = error_of("select Revenue from Accounts where id is not null")
    assert (error.code, error.message, error.details) == (
        "INVALID_QUERY",
        "column given seems to be invalid",
        {"column_name": "Revenue"},
    )
    assert error_of("select id from Accounts where Owner.phone = '1'").details == {"column_name": "Owner.phone"}
    assert error_of("select Industry.Name from Accounts where id is not null").details == {
        "column_name": "Industry.Name"
    }
    assert error_of("select Parent_Account.Nope from Accounts where id is not null").details == {
        "column_name": "Parent_Account.Nope"
    }
    error = error_of("select id from Widgets where id is not null")
    assert (error.code, error.details["module"]) == ("INVALID_QUERY", "Widgets")


@pytest.mark.parametrize(
    ("where", "column", "expected_type"),
    [
        ("Employees = 'many'", "Employees", "integer"),
        ("Employees = 1.5", "Employees", "integer"),
        ("Annual_Revenue > true", "Annual_Revenue", "currency"),
        ("Last_Engagement_Date = '2024-02-30'", "Last_Engagement_Date", "date"),
        ("Created_Time > '2024-01-01'", "Created_Time", "datetime"),
        ("Created_Time > '0001-01-01T00:00:00+05:00'", "Created_Time", "datetime"),  # before year 1 in UTC
        ("Owner = 'ann'", "Owner", "ownerlookup"),
        ("id = '\u00b2'", "id", "id"),  # a digit to str.isdigit, not to int()
    ],
)
def test_value_of_the_wrong_type(where: str, column: str, expected_type: str) -> None:
    error = error_of(f"select id from Accounts where {where}")
    assert (error.code, error.message) == ("INVALID_QUERY", "value given seems to be invalid for the column")
    assert (error.details["column_name"], error.details["expected_data_type"]) == (column, expected_type)


@pytest.mark.parametrize(
    ("where", "operator"),
    [
        ("Employees like '1%'", "like"),
        ("Account_Name > 'M'", ">"),
        ("Industry between 'A' and 'M'", "between"),
        ("Owner not like 'x%'", "not like"),
    ],
)
def test_comparator_not_supported_for_the_type(where: str, operator: str) -> None:
    error = error_of(f"select id from Accounts where {where}")
    assert error.code == "INVALID_QUERY"
    assert error.details["operator"] == operator


def test_multi_line_fields_cannot_be_criteria() -> None:
    error = error_of("select id from Accounts where Description like '%notes%'")
    assert (error.code, error.message, error.details["column_name"]) == (
        "INVALID_QUERY",
        "data type not supported",
        "Description",
    )
    rows, _ = run("select Description from Accounts where id = 4150868000000300001")
    assert rows[0]["Description"] == "Long multi-line notes"


def test_limit_zero_is_invalid() -> None:
    assert error_of("select id from Accounts where id is not null limit 0").code == "INVALID_QUERY"


# --- aggregates -------------------------------------------------------------------------------------

WHERE_ALL = "where id is not null"


def test_aggregates_without_group_by_give_one_row_named_as_written() -> None:
    columns = "COUNT(id), sum(Annual_Revenue), MIN(Employees), MAX(Created_Time), AVG(Employees)"
    rows, more = run(f"select {columns} from Accounts {WHERE_ALL}")
    assert more is False
    assert rows == [
        {
            "COUNT(id)": 5,
            "SUM(Annual_Revenue)": 4_900_000.0,
            "MIN(Employees)": 12,
            "MAX(Created_Time)": "2024-07-01T00:00:00+00:00",
            "AVG(Employees)": 1042.4,
        }
    ]
    assert isinstance(rows[0]["COUNT(id)"], int) and isinstance(rows[0]["SUM(Annual_Revenue)"], float)


def test_count_of_a_field_skips_empty_values_and_no_match_counts_zero() -> None:
    assert run(f"select COUNT(Annual_Revenue) from Accounts {WHERE_ALL}")[0] == [{"COUNT(Annual_Revenue)": 4}]
    rows, _ = run("select COUNT(id), SUM(Annual_Revenue) from Accounts where Employees > 100000")
    assert rows == [{"COUNT(id)": 0, "SUM(Annual_Revenue)": None}]


def test_group_by_with_aliases_and_order_by_an_aggregate() -> None:
    rows, _ = run(
        "select Industry, SUM(Annual_Revenue) as revenue, COUNT(id) as n from Accounts "
        f"{WHERE_ALL} group by Industry order by revenue desc"
    )
    assert rows == [
        {"Industry": "Technology", "revenue": 4_500_000.0, "n": 3},
        {"Industry": "Retail", "revenue": 400_000.0, "n": 1},
        {"Industry": "Manufacturing", "revenue": None, "n": 1},  # nulls last when descending
    ]
    by_count = run(f"select Industry, COUNT(id) from Accounts {WHERE_ALL} group by Industry order by COUNT(id) asc")
    assert [r["Industry"] for r in by_count[0]][-1] == "Technology"


def test_groups_default_to_key_order_and_page_with_limit() -> None:
    rows, more = run(f"select Industry, COUNT(id) from Accounts {WHERE_ALL} group by Industry limit 2")
    assert [r["Industry"] for r in rows] == ["Manufacturing", "Retail"] and more is True
    rows, more = run(f"select Industry, COUNT(id) from Accounts {WHERE_ALL} group by Industry limit 2 offset 2")
    assert [r["Industry"] for r in rows] == ["Technology"] and more is False


def test_group_by_two_columns_and_a_lookup() -> None:
    rows, _ = run(f"select Industry, Billing_City, COUNT(id) from Accounts {WHERE_ALL} group by Industry, Billing_City")
    assert {(r["Industry"], r["Billing_City"], r["COUNT(id)"]) for r in rows} == {
        ("Manufacturing", "New York", 1),
        ("Retail", "london", 1),
        ("Technology", "Austin", 3),
    }
    owners, _ = run(f"select Owner, COUNT(id) from Accounts {WHERE_ALL} group by Owner")
    assert {r["Owner"]["id"]: r["COUNT(id)"] for r in owners} == {ANN["id"]: 3, BOB["id"]: 2}


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (f"select SUM(Account_Name) from Accounts {WHERE_ALL}", "INVALID_QUERY"),  # not a number
        (f"select MAX(Industry) from Accounts {WHERE_ALL}", "INVALID_QUERY"),
        (f"select Account_Name, COUNT(id) from Accounts {WHERE_ALL} group by Industry", "INVALID_QUERY"),
        (f"select COUNT(id), count(Id) from Accounts {WHERE_ALL}", "DUPLICATE_DATA"),
        (f"select Industry from Accounts {WHERE_ALL} group by Industry, industry", "DUPLICATE_DATA"),
        (f"select COUNT(id) as a, SUM(Employees) as A from Accounts {WHERE_ALL}", "DUPLICATE_ALIAS"),
        (f"select Description, COUNT(id) from Accounts {WHERE_ALL} group by Description", "INVALID_QUERY"),
        (f"select id from Accounts {WHERE_ALL} order by COUNT(id)", "INVALID_QUERY"),
    ],
)
def test_aggregate_mistakes_are_answered_as_zoho_does(query: str, code: str) -> None:
    assert error_of(query).code == code


def test_aggregate_limits_four_group_by_fields_and_five_aggregates() -> None:
    five = "Industry, Billing_City, Rating, Account_Type, Ownership"
    err = error_of(f"select COUNT(id) from Accounts {WHERE_ALL} group by {five}")
    assert err.code == "LIMIT_EXCEEDED" and err.details["clause"] == "group by" and err.details["limit"] == 4
    six = "COUNT(id), SUM(Employees), MIN(Employees), MAX(Employees), AVG(Employees), SUM(Annual_Revenue)"
    err = error_of(f"select {six} from Accounts {WHERE_ALL}")
    assert err.code == "LIMIT_EXCEEDED" and err.details["limit"] == 5


def test_deeply_nested_brackets_are_a_400_not_a_crash() -> None:
    deep = "select id from Accounts where " + "(" * 500 + "id is not null" + ")" * 500
    assert error_of(deep).code == "LIMIT_EXCEEDED"
    assert error_of("select id from Accounts where " + "(" * 1000).code == "LIMIT_EXCEEDED"
    within = "select id from Accounts where " + "(" * 40 + "Employees > 100" + ")" * 40
    assert nums(within) == ["1", "3"]
    quoted = "select id from Accounts where Account_Name = '" + "(" * 60 + "'"
    assert run(quoted)[0] == []  # brackets inside a quoted value do not count


def test_se_module_column_names_the_module_of_a_polymorphic_lookup(api) -> None:
    body = api.post("/coql", json={"select_query": "select What_Id, $se_module from Tasks where id is not null"}).json()
    rows = body["data"]
    assert rows and all(set(r) == {"What_Id", "$se_module", "id"} for r in rows)
    for r in rows:
        task = api.get(f"/Tasks/{r['id']}").json()["data"][0]
        assert r["$se_module"] == task["$se_module"]
        assert r["What_Id"] == ({"id": task["What_Id"]["id"]} if task["What_Id"] else None)


def test_se_module_is_no_column_of_a_module_without_a_polymorphic_lookup(api) -> None:
    r = api.post("/coql", json={"select_query": "select $se_module from Accounts where id is not null"})
    assert r.status_code == 400
    assert r.json()["code"] == "INVALID_QUERY"
