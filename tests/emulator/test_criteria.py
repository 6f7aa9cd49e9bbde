"""Search criteria (GET /crm/v8/{module}/search): grammar, operators per field type, errors."""

from __future__ import annotations

from typing import Any

import pytest

from sergas_nb.emulator.errors import EmulatorError
from sergas_nb.emulator.query.criteria import (
    MAX_CONDITIONS,
    compile_criteria,
    email_matcher,
    phone_matcher,
    word_matcher,
)
from sergas_nb.emulator.state.metadata import field_map

ACCOUNTS = field_map("Accounts")
CONTACTS = field_map("Contacts")

ANN = {"name": "Ann Lee", "id": "4150868000000225013", "email": "ann.lee@sergas.example"}
BOB = {"name": "Bob Stone", "id": "4150868000000225014", "email": "bob.stone@sergas.example"}


def _account(i: str, name: str, **values: Any) -> dict[str, Any]:
    record: dict[str, Any] = dict.fromkeys(ACCOUNTS)
    record.update(id=i, Account_Name=name, Owner=ANN)
    record.update(values)
    return record


RECORDS = [
    _account(
        "4150868000000300001",
        "Zylker Systems",
        Annual_Revenue=2_500_000.0,
        Employees=120,
        Industry="Technology",
        Phone="+1 (555) 010-2000",
        Website="https://zylker.example",
        Billing_City="Austin",
        Last_Engagement_Date="2024-03-01",
        Created_Time="2023-01-05T10:00:00+00:00",
        Account_Status="Active",
    ),
    _account(
        "4150868000000300002",
        "Burns, Bates (UK) Ltd",
        Annual_Revenue=400_000.0,
        Employees=12,
        Industry="Retail",
        Phone="020 7946 0000",
        Billing_City="London",
        Owner=BOB,
        Last_Engagement_Date="2023-11-20",
        Created_Time="2023-06-30T23:30:00+00:00",
        Account_Status="At Risk",
    ),
    _account(
        "4150868000000300003",
        "Acme Corp",
        Annual_Revenue=None,
        Employees=5000,
        Industry="Manufacturing",
        Billing_City="New York",
        Parent_Account={"name": "Zylker Systems", "id": "4150868000000300001"},
        Last_Engagement_Date=None,
        Created_Time="2024-02-29T08:15:00+00:00",
        Account_Status="Churned",
    ),
    _account(
        "4150868000000300004",
        "Zyl Partners",
        Annual_Revenue=1_000_000.0,
        Employees=40,
        Industry="Technology",
        Billing_City="Austin",
        Owner=BOB,
        Last_Engagement_Date="2024-01-15",
        Created_Time="2024-07-01T00:00:00+00:00",
        Account_Status="Prospect",
    ),
]


def ids(criteria: str, fields: dict[str, dict] = ACCOUNTS, records: list[dict] = RECORDS) -> list[str]:
    predicate = compile_criteria(criteria, fields)
    return [r["id"][-1] for r in records if predicate(r)]


def error_of(criteria: str, fields: dict[str, dict] = ACCOUNTS) -> EmulatorError:
    with pytest.raises(EmulatorError) as caught:
        compile_criteria(criteria, fields)
    return caught.value


# --- numbers, currency, dates, datetimes -------------------------------------------------------


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ("(Annual_Revenue:equals:1000000)", ["4"]),
        ("(Annual_Revenue:not_equal:1000000)", ["1", "2", "3"]),
        ("(Annual_Revenue:greater_than:1000000)", ["1"]),
        ("(Annual_Revenue:greater_equal:1000000)", ["1", "4"]),
        ("(Annual_Revenue:less_than:1000000)", ["2"]),
        ("(Annual_Revenue:less_equal:1000000)", ["2", "4"]),
        ("(Annual_Revenue:between:400000,1000000)", ["2", "4"]),
        ("(Annual_Revenue:in:400000,2500000.00)", ["1", "2"]),
        ("(Employees:greater_than:100)", ["1", "3"]),
        ("(Employees:in:12,40)", ["2", "4"]),
    ],
)
def test_number_operators(criteria: str, expected: list[str]) -> None:
    assert ids(criteria) == expected


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ("(Last_Engagement_Date:equals:2024-03-01)", ["1"]),
        ("(Last_Engagement_Date:greater_equal:2024-01-15)", ["1", "4"]),
        ("(Last_Engagement_Date:less_than:2024-01-01)", ["2"]),
        ("(Last_Engagement_Date:between:2023-12-01,2024-02-01)", ["4"]),
        ("(Last_Engagement_Date:in:2023-11-20,2024-03-01)", ["1", "2"]),
        # 2023-07-01T01:00+02:00 is 2023-06-30T23:00Z: account 2 was created 30 minutes later.
        ("(Created_Time:greater_than:2023-07-01T01:00:00+02:00)", ["2", "3", "4"]),
        ("(Created_Time:less_equal:2023-06-30T23:30:00+00:00)", ["1", "2"]),
        ("(Created_Time:between:2024-01-01T00:00:00Z,2024-12-31T23:59:59Z)", ["3", "4"]),
    ],
)
def test_date_and_datetime_operators(criteria: str, expected: list[str]) -> None:
    assert ids(criteria) == expected


def test_datetime_offset_sent_unencoded_in_a_url_still_counts() -> None:
    # A '+' that was not %2B-encoded arrives as a space after URL decoding.
    assert ids("(Created_Time:equals:2023-06-30T23:30:00 00:00)") == ["2"]


# --- text, email, phone, website ---------------------------------------------------------------


def test_text_equals_means_contains_word_ignoring_case() -> None:
    assert ids("(Account_Name:equals:zylker)") == ["1"]
    assert ids("(Account_Name:equals:Systems)") == ["1"]
    assert ids("(Account_Name:equals:Zyl)") == ["4"]  # whole word only: not "Zylker"
    assert ids("(Account_Name:not_equal:zylker)") == ["2", "3", "4"]


def test_text_starts_with_and_in() -> None:
    assert ids("(Account_Name:starts_with:zyl)") == ["1", "4"]
    assert ids("(Billing_City:in:London,New York)") == ["2", "3"]


def test_email_phone_website_equals_are_whole_values() -> None:
    contacts = [
        {"id": "1", "Email": "jo@acme.example", "Phone": "555-0100"},
        {"id": "2", "Email": "mary.jo@acme.example", "Phone": "555-0101"},
    ]
    assert ids("(Email:equals:JO@acme.example)", CONTACTS, contacts) == ["1"]
    assert ids("(Email:starts_with:mary)", CONTACTS, contacts) == ["2"]
    assert ids("(Phone:in:555-0100,555-0101)", CONTACTS, contacts) == ["1", "2"]
    assert ids("(Website:equals:https://zylker.example)") == ["1"]


# --- picklists, owners, lookups, booleans, id --------------------------------------------------


def test_picklist_operators_ignore_case() -> None:
    assert ids("(Industry:equals:technology)") == ["1", "4"]
    assert ids("(Industry:not_equal:Technology)") == ["2", "3"]
    assert ids("(Account_Status:in:At Risk,Churned)") == ["2", "3"]


def test_owner_matches_by_id_email_or_name() -> None:
    assert ids(f"(Owner:equals:{BOB['id']})") == ["2", "4"]
    assert ids("(Owner:equals:ann.lee@sergas.example)") == ["1", "3"]
    assert ids("(Owner:not_equal:Bob Stone)") == ["1", "3"]
    assert ids(f"(Owner:in:{ANN['id']},{BOB['id']})") == ["1", "2", "3", "4"]


def test_lookup_matches_by_id_or_name() -> None:
    assert ids("(Parent_Account:equals:4150868000000300001)") == ["3"]
    assert ids("(Parent_Account:equals:zylker systems)") == ["3"]


def test_boolean_operators() -> None:
    contacts = [{"id": "1", "Email_Opt_Out": True}, {"id": "2", "Email_Opt_Out": False}]
    assert ids("(Email_Opt_Out:equals:true)", CONTACTS, contacts) == ["1"]
    assert ids("(Email_Opt_Out:not_equal:true)", CONTACTS, contacts) == ["2"]


def test_id_criteria() -> None:
    assert ids("(id:equals:4150868000000300002)") == ["2"]
    assert ids("(id:greater_than:4150868000000300002)") == ["3", "4"]


def test_multiselect_picklist_equals_matches_one_of_the_options() -> None:
    fields = {"Languages": {"api_name": "Languages", "data_type": "multiselectpicklist"}}
    records = [{"id": "1", "Languages": ["English", "German"]}, {"id": "2", "Languages": ["French"]}]
    assert ids("(Languages:equals:german)", fields, records) == ["1"]
    assert ids("(Languages:in:French,Spanish)", fields, records) == ["2"]


# --- grammar: escaping, nesting, and/or --------------------------------------------------------


def test_backslash_escapes_brackets_and_commas_in_values() -> None:
    assert ids(r"(Account_Name:equals:Burns\, Bates \(UK\) Ltd)") == ["2"]
    # An escaped comma inside an `in` list stays part of one value.
    assert ids(r"(Account_Name:in:Burns\, Bates,Acme Corp)") == ["2", "3"]


def test_nesting_and_precedence() -> None:
    assert ids("((Industry:equals:Technology)and((Employees:greater_than:100)or(Billing_City:equals:Austin)))") == [
        "1",
        "4",
    ]
    assert ids("(((Industry:equals:Technology)and(Employees:less_than:100))or(Billing_City:equals:London))") == [
        "2",
        "4",
    ]
    # Without inner brackets `and` binds tighter than `or`.
    assert ids("((Billing_City:equals:London)or(Industry:equals:Technology)and(Employees:less_than:100))") == ["2", "4"]
    assert ids("( (Industry:equals:Retail) OR (Industry:equals:Manufacturing) )") == ["2", "3"]


def test_missing_values_never_match_comparisons_but_do_not_equal() -> None:
    assert ids("(Annual_Revenue:less_than:10000000)") == ["1", "2", "4"]
    assert ids("(Last_Engagement_Date:not_equal:2024-03-01)") == ["2", "3", "4"]


def test_ten_conditions_are_allowed_eleven_are_not() -> None:
    ten = "(" + "or".join(["(Employees:greater_than:1)"] * MAX_CONDITIONS) + ")"
    assert ids(ten) == ["1", "2", "3", "4"]
    eleven = "(" + "or".join(["(Employees:greater_than:1)"] * (MAX_CONDITIONS + 1)) + ")"
    error = error_of(eleven)
    assert error.code == "CRITERIA_LIMIT_EXCEEDED"
    assert error.details["limit"] == MAX_CONDITIONS


# --- errors -------------------------------------------------------------------------------------


def test_unknown_field_names_the_field() -> None:
    error = error_of("(Revenue:equals:100)")
    assert (error.code, error.message, error.details["api_name"]) == (
        "INVALID_QUERY",
        "Invalid query formed",
        "Revenue",
    )


@pytest.mark.parametrize(
    ("criteria", "operator", "api_name"),
    [
        ("(Account_Name:greater_than:Acme)", "greater_than", "Account_Name"),
        ("(Industry:starts_with:Tech)", "starts_with", "Industry"),
        ("(Annual_Revenue:starts_with:100)", "starts_with", "Annual_Revenue"),
        ("(Owner:between:a,b)", "between", "Owner"),
        ("(Account_Name:contains:Acme)", "contains", "Account_Name"),
    ],
)
def test_operator_not_allowed_for_the_type(criteria: str, operator: str, api_name: str) -> None:
    error = error_of(criteria)
    assert error.code == "INVALID_QUERY"
    assert error.details["operator"] == operator
    assert error.details["api_name"] == api_name


def test_boolean_rejects_in() -> None:
    assert error_of("(Email_Opt_Out:in:true,false)", CONTACTS).details["operator"] == "in"


@pytest.mark.parametrize(
    ("criteria", "expected_type"),
    [
        ("(Annual_Revenue:greater_than:lots)", "currency"),
        ("(Employees:equals:12.5)", "integer"),
        ("(Last_Engagement_Date:equals:2024-02-30)", "date"),
        ("(Last_Engagement_Date:equals:01/03/2024)", "date"),
        ("(Created_Time:greater_than:2024-01-01)", "datetime"),
        ("(Created_Time:greater_than:9999-12-31T23:00:00-05:00)", "datetime"),  # past year 9999 in UTC
        ("(id:equals:\u00b2\u00b2)", "id"),  # digits to str.isdigit, not to int()
    ],
)
def test_value_of_the_wrong_type(criteria: str, expected_type: str) -> None:
    error = error_of(criteria)
    assert error.code == "INVALID_QUERY"
    assert error.details["expected_data_type"] == expected_type


def test_boolean_value_must_be_true_or_false() -> None:
    assert error_of("(Email_Opt_Out:equals:yes)", CONTACTS).details["expected_data_type"] == "boolean"


def test_text_values_under_two_characters_are_invalid_data() -> None:
    error = error_of("(Account_Name:starts_with:Z)")
    assert error.code == "INVALID_DATA"
    assert error.details["api_name"] == "Account_Name"


def test_between_needs_two_values_and_in_at_most_100() -> None:
    assert error_of("(Employees:between:10)").code == "INVALID_QUERY"
    many = ",".join(str(n) for n in range(101))
    error = error_of(f"(Employees:in:{many})")
    assert error.message == 'Only 100 values are allowed in "IN" criteria'
    assert ids("(Employees:in:" + ",".join(str(n) for n in range(100)) + ")") == ["2", "4"]


@pytest.mark.parametrize(
    "criteria",
    [
        "",
        "Account_Name:equals:Acme",
        "(Account_Name:equals:Acme",
        "((Account_Name:equals:Acme)",
        "(Account_Name:equals:Acme))",
        "(Account_Name equals Acme)",
        "(Account_Name:equals:Acme (UK))",
        "(Account_Name:equals:Acme)xor(Industry:equals:Retail)",
        "(Account_Name:equals:)",
        "(:equals:Acme)",
    ],
)
def test_malformed_criteria(criteria: str) -> None:
    assert error_of(criteria).code == "INVALID_QUERY"


# --- word, email, phone parameters -------------------------------------------------------------


def test_word_search_across_text_picklist_and_lookup_names() -> None:
    def found(word: str) -> list[str]:
        predicate = word_matcher(word, ACCOUNTS)
        return [r["id"][-1] for r in RECORDS if predicate(r)]

    assert found("austin") == ["1", "4"]
    assert found("Manufacturing") == ["3"]
    assert found("zylker") == ["1", "3"]  # account 3's parent account is named Zylker Systems
    assert found("Zy") == []  # a whole word, not a prefix
    with pytest.raises(EmulatorError) as caught:
        word_matcher("Z", ACCOUNTS)
    assert caught.value.code == "INVALID_DATA"


def test_email_search_matches_any_email_field() -> None:
    contacts = [
        {"id": "1", "Email": "jo@acme.example", "Secondary_Email": None},
        {"id": "2", "Email": None, "Secondary_Email": "JO@acme.example"},
        {"id": "3", "Email": "mary.jo@acme.example", "Secondary_Email": None},
    ]
    predicate = email_matcher("jo@acme.example", CONTACTS)
    assert [c["id"] for c in contacts if predicate(c)] == ["1", "2"]


def test_phone_search_ignores_formatting() -> None:
    predicate = phone_matcher("5550102000", ACCOUNTS)
    assert [r["id"][-1] for r in RECORDS if predicate(r)] == ["1"]
    predicate = phone_matcher("+44 20 7946 0000", ACCOUNTS)
    assert [r["id"][-1] for r in RECORDS if predicate(r)] == []
    predicate = phone_matcher("020-7946-0000", ACCOUNTS)
    assert [r["id"][-1] for r in RECORDS if predicate(r)] == ["2"]
