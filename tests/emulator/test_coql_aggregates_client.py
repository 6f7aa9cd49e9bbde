"""The client's coql() turns aggregate answers into typed frames, against the emulator over HTTP."""

from __future__ import annotations

import pandas as pd
import pytest

from sergas_nb.client import ZohoClient, connect
from tests.fixtures.emulator import SESSION_ACCOUNTS


@pytest.fixture
def crm(fresh_emulator) -> ZohoClient:
    client = connect(emulator=fresh_emulator, env_file=None, backoff=0.01)
    yield client
    client.close()


def test_revenue_by_industry_is_a_typed_frame_that_matches_the_local_summary(crm):
    summary = crm.coql(
        "select Industry, SUM(Annual_Revenue) as revenue, COUNT(id) as accounts, AVG(Employees), "
        "MAX(Created_Time) from Accounts where id is not null group by Industry order by revenue desc"
    )
    assert list(summary.columns) == ["Industry", "revenue", "accounts", "AVG(Employees)", "MAX(Created_Time)"]
    assert isinstance(summary["Industry"].dtype, pd.CategoricalDtype)  # typed like the picklist
    assert summary["revenue"].dtype == "Float64" and summary["AVG(Employees)"].dtype == "Float64"
    assert summary["accounts"].dtype == "Int64"
    assert str(summary["MAX(Created_Time)"].dtype) == "datetime64[us, UTC]"
    assert summary["accounts"].sum() == SESSION_ACCOUNTS
    assert summary["revenue"].is_monotonic_decreasing

    rows = crm.records("Accounts", fields=["Industry", "Annual_Revenue"])
    local = rows.groupby("Industry", observed=True, dropna=False)["Annual_Revenue"].sum()
    server = summary.set_index("Industry")["revenue"]
    for industry, total in local.items():
        if pd.notna(industry):
            assert server[industry] == pytest.approx(total, rel=1e-9), industry


def test_count_without_group_by_is_one_row(crm):
    df = crm.coql("select COUNT(id) from Accounts where Industry = 'Technology'")
    assert list(df.columns) == ["COUNT(id)"] and len(df) == 1 and df["COUNT(id)"].dtype == "Int64"
    assert int(df["COUNT(id)"].iloc[0]) == crm.count("Accounts", where="Industry = 'Technology'")


def test_group_by_a_lookup_gives_its_id_and_min_keeps_the_field_type(crm):
    df = crm.coql("select Owner, MIN(Employees) from Accounts where id is not null group by Owner")
    assert list(df.columns) == ["Owner.id", "MIN(Employees)"]
    assert df["Owner.id"].dtype == "string" and df["MIN(Employees)"].dtype == "Int64"
    assert df["Owner.id"].str.fullmatch(r"\d+").all()
