"""``sergas-nb mcp`` over stdio, driven by the official MCP client, against the emulator: the tool
list and schemas, every read tool, cursors past 2,000 records, resources, tool errors, bounded
output, and no secret in anything the server said."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import jsonschema
import pandas as pd
import pytest

from sergas_nb.assistant import render
from sergas_nb.client import ZohoClient, connect
from sergas_nb.errors import ZohoAPIError
from tests.assistant._session import McpServer, server_env
from tests.fixtures.emulator import SESSION_ACCOUNTS
from tests.leaks import find_leaks

READ_TOOLS = [
    "list_modules",
    "describe_module",
    "search_records",
    "get_record",
    "count_records",
    "run_coql",
    "summarize",
    "health",
    "get_related",
    "account_overview",
]
WRITE_TOOLS = {"plan_edit", "apply_plan", "undo_plan", "list_plans"}


@pytest.fixture(scope="module")
def crm(emulator) -> Iterator[ZohoClient]:
    emulator.control.reset()
    client = connect(emulator=emulator, env_file=None)
    yield client
    client.close()


@pytest.fixture(scope="module")
def mcp(emulator, crm, tmp_path_factory) -> Iterator[McpServer]:
    server = McpServer(env=server_env(emulator), args=[], cwd=tmp_path_factory.mktemp("mcp-stdio"))
    yield server
    server.close()


def _aggregates(crm: ZohoClient) -> bool:
    try:
        crm.request(
            "POST",
            "/crm/v8/coql",
            json={"select_query": "select Industry, COUNT(id) from Accounts where id is not null group by Industry"},
        )
    except ZohoAPIError:
        return False
    return True


# ------------------------------------------------------------------------- tools and schemas


def test_tool_list_has_the_read_tools_with_usable_schemas(mcp):
    tools = {t.name: t for t in mcp.tools()}
    assert list(tools) == READ_TOOLS  # and no write tool without --allow-writes
    assert not WRITE_TOOLS & set(tools)
    for tool in tools.values():
        assert len(tool.description) > 60, tool.name
        jsonschema.Draft202012Validator.check_schema(tool.input_schema)
        assert tool.input_schema["type"] == "object"
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        assert tool.annotations.read_only_hint is True
        for name, prop in tool.input_schema.get("properties", {}).items():
            assert prop.get("description") or name == "module" and "$ref" in prop, (tool.name, name)
    search = tools["search_records"].input_schema
    assert search["required"] == ["module"]
    assert search["properties"]["module"]["pattern"]
    assert search["properties"]["limit"]["maximum"] == render.MAX_ROWS
    assert set(search["properties"]) == {"module", "where", "word", "email", "phone", "fields", "limit", "cursor"}
    assert tools["get_record"].input_schema["required"] == ["module", "id"]
    assert tools["run_coql"].input_schema["required"] == ["query"]


# ------------------------------------------------------------------------- modules and fields


def test_list_modules_and_describe_module(mcp, crm):
    modules = mcp.ok("list_modules")
    assert {m["api_name"] for m in modules["modules"]} >= {"Accounts", "Contacts", "Deals", "Leads"}
    described = mcp.ok("describe_module", {"module": "accounts"})
    assert described["module"] == "Accounts"
    fields = {f["api_name"]: f for f in described["fields"]}
    assert set(fields) == set(crm.fields("Accounts")["api_name"])
    assert fields["Health_Score"]["dtype"] == "Int64"
    assert fields["Account_Status"]["values"][1:] == ["Active", "At Risk", "Churned", "Prospect"]
    assert fields["Parent_Account"]["lookup_module"] == "Accounts"
    assert fields["Account_Name"]["required"] is True
    assert fields["Created_Time"]["writable"] is False


def test_resources_give_field_metadata_without_a_tool_call(mcp):
    templates = mcp._do(mcp.session.list_resource_templates()).resource_templates
    assert [t.uri_template for t in templates] == ["zoho://modules/{module}/fields"]
    fields = json.loads(mcp.read("zoho://modules/Deals/fields"))
    assert fields["module"] == "Deals" and any(f["api_name"] == "Deal_Name" for f in fields["fields"])
    modules = json.loads(mcp.read("zoho://modules"))
    assert "Accounts" in [m["api_name"] for m in modules["modules"]]


# ------------------------------------------------------------------------- records


def test_search_records_renders_typed_values_as_json(mcp, crm):
    chosen = ["Account_Name", "Annual_Revenue", "Health_Score", "Created_Time", "Last_Engagement_Date", "Owner"]
    answer = mcp.ok("search_records", {"module": "Accounts", "fields": chosen, "limit": 5})
    rows = answer["rows"]
    assert answer["returned"] == 5 and answer["next_cursor"]
    expected = crm.records_by_ids("Accounts", [r["id"] for r in rows], chosen)
    for row, (_, want) in zip(rows, expected.iterrows(), strict=True):
        assert row["Account_Name"] == want["Account_Name"]
        assert row["Owner.name"] == want["Owner.name"] and row["Owner.id"] == want["Owner.id"]
        assert row["Created_Time"] == want["Created_Time"].strftime("%Y-%m-%dT%H:%M:%SZ")
        date = want["Last_Engagement_Date"]
        assert row["Last_Engagement_Date"] == (None if pd.isna(date) else date.strftime("%Y-%m-%d"))
        score = want["Health_Score"]
        assert row["Health_Score"] == (None if pd.isna(score) else int(score))
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)  # ordered by id


def test_search_records_cursor_walks_every_record_past_2000(mcp):
    seen: list[str] = []
    cursor = None
    calls = 0
    while True:
        args = {"module": "Accounts", "fields": ["Account_Name"], "limit": 100}
        answer = mcp.ok("search_records", args | ({"cursor": cursor} if cursor else {}))
        seen += [r["id"] for r in answer["rows"]]
        calls += 1
        cursor = answer["next_cursor"]
        if cursor is None:
            break
        assert calls < 40
    assert len(seen) == SESSION_ACCOUNTS == len(set(seen))
    assert seen == sorted(seen)
    assert mcp.ok("count_records", {"module": "Accounts"})["count"] == SESSION_ACCOUNTS


def test_search_records_where_as_coql_or_criteria(mcp, crm):
    where = "Industry = 'Technology' and Annual_Revenue > 1000000"
    want = sorted(crm.records("Accounts", fields=["Industry"], where=where)["id"])
    got: list[str] = []
    answer = mcp.ok("search_records", {"module": "Accounts", "where": where, "fields": ["Industry"], "limit": 50})
    while True:
        got += [r["id"] for r in answer["rows"]]
        assert all(r["Industry"] == "Technology" for r in answer["rows"])
        if not answer["next_cursor"]:
            break
        answer = mcp.ok("search_records", {"module": "Accounts", "cursor": answer["next_cursor"]})
    assert got == want and len(want) > 50
    criteria = "((Industry:equals:Technology)and(Annual_Revenue:greater_than:1000000))"
    assert mcp.ok("count_records", {"module": "Accounts", "where": criteria})["count"] == len(want)
    assert mcp.ok("count_records", {"module": "Accounts", "where": where})["count"] == len(want)


def test_search_records_by_word_pages_through_zoho_search(mcp, crm):
    want = list(crm.search("Accounts", word="GmbH", fields=["Account_Name"])["id"])
    got: list[str] = []
    answer = mcp.ok("search_records", {"module": "Accounts", "word": "GmbH", "fields": ["Account_Name"], "limit": 40})
    while True:
        got += [r["id"] for r in answer["rows"]]
        if not answer["next_cursor"]:
            break
        answer = mcp.ok("search_records", {"module": "Accounts", "cursor": answer["next_cursor"]})
    assert got == want and len(want) > 40


def test_get_record_and_count(mcp, crm):
    rid = crm.records("Accounts", fields=["Account_Name"], limit=1).loc[0, "id"]
    record = mcp.ok("get_record", {"module": "Accounts", "id": rid})["record"]
    want = crm.record("Accounts", rid)
    assert record["id"] == rid and record["Account_Name"] == want["Account_Name"]
    assert set(record) == set(want)
    few = mcp.ok("get_record", {"module": "Accounts", "id": rid, "fields": ["Rating"]})["record"]
    assert set(few) == {"id", "Rating"}
    assert mcp.ok("count_records", {"module": "Accounts", "where": "Industry = 'Energy'"})["count"] == crm.count(
        "Accounts", "Industry = 'Energy'"
    )


def test_run_coql_typed_rows_and_cursor(mcp, crm):
    query = "select Account_Name, Annual_Revenue, Modified_Time from Accounts where Industry = 'Retail' order by id"
    first = mcp.ok("run_coql", {"query": query, "limit": 30})
    second = mcp.ok("run_coql", {"query": query, "cursor": first["next_cursor"]})
    ids = [r["id"] for r in first["rows"] + second["rows"]]
    want = crm.coql(query + " limit 60")
    assert ids == list(want["id"]) and len(set(ids)) == 60
    assert first["rows"][0]["Modified_Time"].endswith("Z")
    assert isinstance(first["rows"][0]["Annual_Revenue"], float | None)
    own = mcp.ok("run_coql", {"query": "select Account_Name from Accounts where id is not null limit 3"})
    assert own["returned"] == 3 and own["next_cursor"] is None


@pytest.mark.parametrize(
    "query",
    [
        "delete from Accounts where id is not null",
        "update Accounts set Rating = 'Hot'",
        "select id from Accounts where id is not null; delete from Accounts",
        "insert into Accounts (Account_Name) values ('x')",
    ],
)
def test_run_coql_refuses_anything_but_one_select(mcp, query):
    message = mcp.error("run_coql", {"query": query})
    assert "SELECT" in message or "one statement" in message


def test_run_coql_aggregates_when_the_crm_supports_them(mcp, crm):
    query = "select Industry, COUNT(id) from Accounts where id is not null group by Industry"
    if not _aggregates(crm):
        message = mcp.error("run_coql", {"query": query})
        assert "invalid query" in message.lower() or "syntax" in message.lower()
        pytest.skip("the emulator's COQL has no aggregates yet: the refusal is a clear tool error")
    rows = mcp.ok("run_coql", {"query": query, "limit": 100})["rows"]
    frame = crm.records("Accounts", fields=["Industry"])
    want = frame["Industry"].astype("string").value_counts()
    got = {r["Industry"]: next(v for k, v in r.items() if k != "Industry") for r in rows if r["Industry"]}
    assert got == {k: int(v) for k, v in want.items()}


def test_summarize_groups_server_side_or_says_why_not(mcp, crm):
    args = {"module": "Accounts", "group_by": "Industry", "metrics": ["count", "sum:Annual_Revenue"]}
    if not _aggregates(crm):
        message = mcp.error("summarize", args)
        assert "summarize needs COQL aggregates" in message and "group by Industry" in message
        return
    groups = mcp.ok("summarize", args)["groups"]
    frame = crm.records("Accounts", fields=["Industry", "Annual_Revenue"])
    want = frame.groupby(frame["Industry"].astype("string"))["Annual_Revenue"].agg(["count", "sum"])
    got = {g["Industry"]: g for g in groups if g["Industry"]}
    counts = [g["count"] for g in groups]
    assert counts == sorted(counts, reverse=True)  # largest first
    for industry, row in want.iterrows():
        assert got[industry]["count"] == frame[frame["Industry"] == industry].shape[0]
        assert got[industry]["sum_Annual_Revenue"] == pytest.approx(float(row["sum"]))


def test_summarize_checks_its_arguments_before_sending(mcp):
    message = mcp.error(
        "summarize", {"module": "Accounts", "group_by": "Nope", "metrics": ["sum:Account_Name", "median:Health_Score"]}
    )
    assert "Nope" in message and "Account_Name" in message and "median" in message


def test_health(mcp, emulator):
    answer = mcp.ok("health")
    assert answer["api"] == emulator.url and answer["writes"] is False
    status = {c["check"]: c["status"] for c in answer["checks"]}
    assert status == {"configuration": "ok", "database": "skipped", "token": "ok", "api": "ok"}


# ------------------------------------------------------------------------- errors and bounds


@pytest.mark.parametrize(
    ("tool", "arguments", "expect"),
    [
        ("search_records", {"module": "Nope"}, "unknown module 'Nope'"),
        ("search_records", {"module": "Accounts", "limit": 1000}, "less than or equal to 100"),
        ("search_records", {"module": "Accounts", "fields": ["Not_A_Field"]}, "Not_A_Field"),
        ("search_records", {"module": "Accounts", "where": "Bogus_Field = 3"}, "invalid"),
        ("search_records", {"module": "Accounts", "where": "(Nope:equals:x)"}, "unknown field in criteria"),
        ("search_records", {"module": "Accounts", "cursor": "not-a-cursor"}, "cursor"),
        ("search_records", {"module": "Accounts", "word": "ab", "email": "a@b.c"}, "one of word, email, phone"),
        ("search_records", {"module": "Accounts; drop"}, "pattern"),
        ("get_record", {"module": "Accounts"}, "id"),
        ("get_record", {"module": "Accounts", "id": "123"}, "not found"),
        ("get_record", {"module": "Accounts", "id": "12ab"}, "pattern"),
        ("describe_module", {}, "module"),
        ("run_coql", {"query": "select Nope from Accounts where id is not null"}, "column_name"),
        ("apply_plan", {"plan_id": "Accounts-Rating-000000000000"}, "unknown tool"),  # no writes without the flag
    ],
)
def test_bad_arguments_are_tool_errors(mcp, tool, arguments, expect):
    message = mcp.error(tool, arguments)
    assert expect.lower() in message.lower(), message
    assert "Traceback" not in message and 'File "' not in message


def test_a_cursor_only_continues_its_own_query(mcp):
    answer = mcp.ok("search_records", {"module": "Accounts", "where": "Industry = 'Retail'", "limit": 2})
    message = mcp.error(
        "search_records", {"module": "Accounts", "where": "Industry = 'Energy'", "cursor": answer["next_cursor"]}
    )
    assert "cursor belongs to another query" in message
    coql = mcp.ok("run_coql", {"query": "select Account_Name from Accounts where id is not null", "limit": 2})
    assert "cursor" in mcp.error("search_records", {"module": "Accounts", "cursor": coql["next_cursor"]})


def test_every_answer_is_bounded(mcp):
    answer = mcp.call("search_records", {"module": "Accounts", "limit": render.MAX_ROWS})
    text = answer.content[0].text
    assert len(text) <= render.MAX_BYTES + 200
    body = answer.structured_content
    if body["returned"] < render.MAX_ROWS:  # cut by size: it says so and the cursor goes on from there
        assert "truncated" in body and body["next_cursor"]
        more = mcp.ok("search_records", {"module": "Accounts", "cursor": body["next_cursor"]})
        assert more["rows"][0]["id"] > body["rows"][-1]["id"]


# ------------------------------------------------------------------------- cursors and counts


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_forged_or_altered_cursor_is_refused(mcp):
    # what an unsigned cursor used to be: base64 JSON, here with a where past its 4,000 characters
    forged = _b64(json.dumps({"v": 1, "kind": "records", "module": "Accounts", "where": "x" * 5000}).encode())
    message = mcp.error("search_records", {"module": "Accounts", "cursor": forged})
    assert "not a cursor this server gave" in message
    coql = _b64(json.dumps({"v": 2, "kind": "coql", "query": "select id from Accounts", "limit": 100000}).encode())
    assert "not a cursor this server gave" in mcp.error(
        "run_coql", {"query": "select id from Accounts", "cursor": f"{coql}.{_b64(b'0' * 32)}"}
    )
    # a real cursor with its payload changed (another last id) keeps its old signature: refused
    real = mcp.ok("search_records", {"module": "Accounts", "limit": 2})["next_cursor"]
    payload, tag = real.split(".")
    state = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    altered = _b64(json.dumps(dict(state, after="1"), separators=(",", ":"), sort_keys=True).encode())
    assert "not a cursor this server gave" in mcp.error(
        "search_records", {"module": "Accounts", "cursor": f"{altered}.{tag}"}
    )
    assert mcp.ok("search_records", {"module": "Accounts", "cursor": real})["returned"] == render.DEFAULT_ROWS


def test_count_with_where_is_one_coql_call(mcp, crm, emulator):
    for where, want in [
        ("id is not null", SESSION_ACCOUNTS),  # past 2,000: reading ids would take several calls
        ("(Industry:equals:Energy)", len(crm.records("Accounts", fields=["Industry"], where="Industry = 'Energy'"))),
        ("Account_Name = 'No Such Account Anywhere'", 0),
    ]:
        before = emulator.control.requests_to("/crm/v8/coql", "POST")
        assert mcp.ok("count_records", {"module": "Accounts", "where": where})["count"] == want, where
        assert emulator.control.requests_to("/crm/v8/coql", "POST") == before + 1, where
    before = emulator.control.requests_to("/crm/v8/Accounts/actions/count", "GET")
    assert mcp.ok("count_records", {"module": "Accounts"})["count"] == SESSION_ACCOUNTS  # the count API, as before
    assert emulator.control.requests_to("/crm/v8/Accounts/actions/count", "GET") == before + 1


def test_nothing_the_server_said_holds_a_secret(mcp, emulator):
    # last in this module: scans every answer above, and everything the server logged
    assert len(mcp.outputs) > 40
    known = [emulator.client_secret, emulator.refresh_token]
    for text in mcp.outputs:
        assert not find_leaks(text, known), text[:200]
    log = mcp.stderr()
    assert not find_leaks(log, known)
    assert "Traceback" not in log
