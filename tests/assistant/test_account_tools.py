"""The assistant's account 360 tools over real MCP stdio: get_related and account_overview,
read-only and bounded, answering what the client reads."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from sergas_nb.client import ZohoClient, connect
from tests.assistant._session import McpServer, server_env


@pytest.fixture(scope="module")
def crm(emulator) -> Iterator[ZohoClient]:
    emulator.control.reset()
    client = connect(emulator=emulator, env_file=None)
    yield client
    client.close()


@pytest.fixture(scope="module")
def mcp(emulator, crm, tmp_path_factory) -> Iterator[McpServer]:
    server = McpServer(env=server_env(emulator), args=[], cwd=tmp_path_factory.mktemp("mcp-360"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def account(crm) -> str:
    deals = crm.records("Deals", fields=["Account_Name"], progress=False)
    return str(deals["Account_Name.id"].value_counts().index[0])  # the account with the most deals


def test_get_related_answers_what_the_client_reads_and_is_bounded(mcp, crm, account):
    deals = crm.related("Accounts", account, "Deals", fields=["Deal_Name", "Amount"])
    answer = mcp.ok("get_related", {"module": "Accounts", "id": account, "related_list": "Deals",
                                     "fields": ["Deal_Name", "Amount"], "limit": 1})  # fmt: skip
    assert answer["count"] == len(deals) >= 2
    assert len(answer["rows"]) == 1 and "truncated" in answer
    assert answer["rows"][0]["id"] in set(deals["id"])
    assert "no related list 'Nope'" in mcp.error(
        "get_related", {"module": "Accounts", "id": account, "related_list": "Nope"}
    )


def test_account_overview_sums_up_one_account(mcp, crm, account):
    out = mcp.ok("account_overview", {"id": account})
    assert out["account"]["id"] == account
    assert out["counts"]["deals"] == len(crm.related("Accounts", account, "Deals", fields=["Deal_Name"]))
    assert out["health"]["contacts"] == out["counts"]["contacts"]
    open_deals = crm.related("Accounts", account, "Deals", fields=["Stage", "Amount"])
    still_open = open_deals[~open_deals["Stage"].astype(str).str.startswith("Closed")]
    assert out["health"]["open_deals"] == len(still_open)
    assert out["health"]["open_pipeline"] == pytest.approx(float(still_open["Amount"].fillna(0).sum()))
    assert all(len(v) <= 5 for v in out["latest"].values())
    assert mcp.error("account_overview", {"id": "not-an-id"})


def test_account_overview_counts_activities_as_the_health_columns_do(mcp, crm):
    """One definition (issue 18): activities on the account and on its deals, in the overview's
    list and in its health signals alike, and equal to the health of the whole org."""
    from sergas_nb.health import health_from

    now = pd.Timestamp.now(tz="UTC")
    org = health_from(crm, now=now).set_index("id")
    deals = crm.records("Deals", fields=["Account_Name"])
    tasks = crm.records("Tasks", fields=["What_Id", "Status", "Due_Date"])
    on_deal = tasks[tasks["What_Id.module"] == "Deals"].merge(
        deals[["id", "Account_Name.id"]], left_on="What_Id.id", right_on="id", suffixes=("", "_deal")
    )
    overdue = on_deal[(on_deal["Status"] != "Completed") & (on_deal["Due_Date"] < now.tz_localize(None).normalize())]
    assert len(overdue), "the seed has overdue tasks on deals"
    account = str(overdue["Account_Name.id"].value_counts().index[0])  # the most such tasks

    out = mcp.ok("account_overview", {"id": account})
    details = crm.account_details(account)
    acts = details["activities"]
    assert out["counts"]["activities"] == len(acts)
    assert set(acts["What_Id.id"].dropna()) - {account} <= set(details["deals"]["id"])
    assert (acts["What_Id.module"] == "Deals").any()  # deal activities are in the list
    assert out["health"]["overdue_tasks"] == int(org.loc[account, "overdue_tasks"])
    assert out["health"]["overdue_tasks"] >= int((overdue["Account_Name.id"] == account).sum())
