"""ZohoClient against the emulator: reads, typed frames, the 2,000 boundary, writes, validation."""

from __future__ import annotations

import pandas as pd
import pytest

from sergas_nb import frames
from sergas_nb.client import WriteResult, ZohoClient, connect, criteria_to_coql
from sergas_nb.errors import ZohoAPIError, ZohoConfigError, ZohoValidationError
from tests.fixtures.emulator import SESSION_ACCOUNTS


@pytest.fixture
def crm(fresh_emulator) -> ZohoClient:
    client = connect(emulator=fresh_emulator, env_file=None, backoff=0.01)
    yield client
    client.close()


def _writes(z) -> int:
    s = z.control.stats()["requests"]
    return sum(
        n
        for k, n in s.items()
        if k.split(" ", 1)[0] in ("POST", "PUT", "DELETE") and k.split(" ", 1)[1].startswith("/crm/v8/Accounts")
    )


# ---------------------------------------------------------------- connect / configuration


def test_client_connect_without_configuration_raises_config_error_naming_each(monkeypatch, tmp_path):
    for var in (
        "ZOHO_SDK_CLIENT_ID",
        "ZOHO_SDK_CLIENT_SECRET",
        "ZOHO_SDK_REFRESH_TOKEN",
        "ZOHO_SDK_REGION",
        "ZOHO_SDK_LOCAL_URL",
        "DATABASE_URL",
        "DATABASE_HOST",
        "DATABASE_NAME",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ZohoConfigError) as err:
        connect()
    assert {"ZOHO_SDK_CLIENT_ID", "ZOHO_SDK_CLIENT_SECRET", "ZOHO_SDK_REFRESH_TOKEN"} <= set(err.value.problems)


def test_client_real_region_without_database_is_a_config_error_not_a_fallback(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for var in ("DATABASE_URL", "DATABASE_HOST", "DATABASE_NAME", "ZOHO_SDK_LOCAL_URL"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ZohoConfigError) as err:
        connect(region="eu", client_id="1000.abc", client_secret="s3cr3t-value", refresh_token="1000.r.t")
    assert "DATABASE_URL" in err.value.problems
    assert "s3cr3t-value" not in str(err.value)


def test_client_region_local_needs_its_url(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ZOHO_SDK_LOCAL_URL", raising=False)
    with pytest.raises(ZohoConfigError) as err:
        connect(region="local", client_id="1000.abc", client_secret="secret-x", refresh_token="1000.r.t")
    assert "ZOHO_SDK_LOCAL_URL" in err.value.problems


def test_client_connects_to_emulator_only_from_env_when_configured(fresh_emulator, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    z = fresh_emulator
    for k, v in {
        "ZOHO_SDK_REGION": "local",
        "ZOHO_SDK_LOCAL_URL": z.url,
        "ZOHO_SDK_CLIENT_ID": z.client_id,
        "ZOHO_SDK_CLIENT_SECRET": z.client_secret,
        "ZOHO_SDK_REFRESH_TOKEN": z.refresh_token,
    }.items():
        monkeypatch.setenv(k, v)
    for var in ("DATABASE_URL", "DATABASE_HOST", "DATABASE_NAME"):
        monkeypatch.delenv(var, raising=False)
    with connect() as crm:
        assert crm.api_url == z.url
        assert crm.count("Accounts") == SESSION_ACCOUNTS
        assert z.client_secret not in repr(crm)


# ---------------------------------------------------------------- reads


def test_client_records_reads_all_accounts_past_2000_typed(crm):
    df = crm.records("Accounts")
    assert len(df) == SESSION_ACCOUNTS and df["id"].is_unique
    assert df["id"].dtype == "string" and df["Employees"].dtype == "Int64"
    assert df["Annual_Revenue"].dtype == "Float64"
    assert str(df["Created_Time"].dtype) == "datetime64[us, UTC]"
    assert df["Last_Engagement_Date"].dtype == "datetime64[us]"
    assert isinstance(df["Industry"].dtype, pd.CategoricalDtype)
    assert {"Owner.name", "Owner.id", "Owner.email", "Parent_Account.id", "Parent_Account.name"} <= set(df.columns)
    assert df["Owner.email"].notna().all()
    assert len(frames.columns_for(crm.field_metadata("Accounts"))) == len(df.columns)


def test_client_records_limit_fields_sort(crm):
    df = crm.records("Accounts", fields=["Account_Name", "Owner"], sort_by="id", sort_order="desc", limit=2050)
    assert len(df) == 2050
    assert list(df.columns) == ["id", "Account_Name", "Owner.name", "Owner.id", "Owner.email"]
    ids = df["id"].astype(int)
    assert ids.is_monotonic_decreasing
    assert len(crm.records("Accounts", limit=0)) == 0


def test_client_records_where_coql_and_search_criteria_give_the_same_rows(crm):
    all_df = crm.records("Accounts", fields=["Industry", "Annual_Revenue"])
    expected = all_df[(all_df["Industry"] == "Technology") & (all_df["Annual_Revenue"] > 1_000_000)]
    a = crm.records(
        "Accounts",
        fields=["Industry", "Annual_Revenue", "Owner"],
        where="Industry = 'Technology' and Annual_Revenue > 1000000",
    )
    b = crm.records(
        "Accounts",
        fields=["Industry", "Annual_Revenue", "Owner"],
        where="((Industry:equals:Technology)and(Annual_Revenue:greater_than:1000000))",
    )
    assert sorted(a["id"]) == sorted(b["id"]) == sorted(expected["id"])
    assert a["Owner.name"].notna().all()  # fetched by id: full records, lookup names included


def test_client_records_where_beyond_2000_matches(crm):
    df = crm.bulk_read_accounts(criteria="id is not null", fields=["Account_Name"])
    assert len(df) == SESSION_ACCOUNTS


def test_client_empty_answer_is_an_empty_typed_frame(crm):
    full = crm.records("Accounts", limit=1)
    empty = crm.records("Accounts", where="Account_Name = 'no such account anywhere'")
    assert len(empty) == 0
    assert list(empty.columns) == list(full.columns)
    assert dict(empty.dtypes) == dict(full.dtypes)
    s = crm.search("Accounts", criteria="(Account_Name:equals:zzqqxx-nothing)")
    assert len(s) == 0 and list(s.columns) == list(full.columns)


def test_client_record_and_get_account(crm):
    first = crm.records("Accounts", limit=1)
    rec = crm.record("Accounts", first.loc[0, "id"])
    assert rec["id"] == first.loc[0, "id"]
    assert rec["Account_Name"] == first.loc[0, "Account_Name"]
    assert isinstance(rec["Created_Time"], pd.Timestamp) and str(rec["Created_Time"].tz) == "UTC"
    assert crm.get_account(int(first.loc[0, "id"]))["id"] == rec["id"]
    with pytest.raises(ZohoAPIError):
        crm.get_account("1234567890123456789")


def test_client_get_accounts_pages_like_the_seed(crm):
    p1 = crm.get_accounts(limit=50)
    p2 = crm.get_accounts(limit=50, page=2)
    assert len(p1) == len(p2) == 50 and not set(p1["id"]) & set(p2["id"])
    every = crm.records("Accounts", fields=["Account_Name"])
    far = crm.get_accounts(limit=200, page=12, fields=["Account_Name"])  # records 2,201-2,400: page tokens
    assert list(far["id"]) == list(every["id"][2200:2400])
    # 150 does not divide 2,000: page 14 (records 1,951-2,100) must not ask for ?page=14.
    odd = crm.get_accounts(limit=150, page=14, fields=["Account_Name"])
    assert list(odd["id"]) == list(every["id"][1950:2100])
    with pytest.raises(ZohoValidationError):
        crm.get_accounts(limit=500)


def test_client_search_and_search_accounts(crm):
    df = crm.search_accounts("(Industry:equals:Technology)", limit=30)
    assert 0 < len(df) <= 30 and (df["Industry"] == "Technology").all()
    one = crm.records("Accounts", fields=["Account_Name"], limit=1).loc[0, "Account_Name"]
    by_word = crm.search("Accounts", word=one.split()[0], fields=["Account_Name"])
    assert len(by_word) >= 1
    with pytest.raises(ZohoValidationError):
        crm.search("Accounts")


def test_client_coql_typed_and_paged(crm):
    df = crm.coql("select Account_Name, Annual_Revenue, Created_Time from Accounts where id is not null")
    assert len(df) == SESSION_ACCOUNTS
    assert list(df.columns) == ["id", "Account_Name", "Annual_Revenue", "Created_Time"]
    assert df["Annual_Revenue"].dtype == "Float64" and str(df["Created_Time"].dtype) == "datetime64[us, UTC]"
    few = crm.coql("select Account_Name from Accounts where id is not null limit 5")
    assert len(few) == 5
    with pytest.raises(ZohoAPIError) as err:
        crm.coql("select Account_Name from Accounts where Nope = 1")
    assert err.value.status == 400


def test_client_fields_and_count(crm):
    f = crm.fields("Accounts")
    assert {"api_name", "data_type", "dtype", "writable", "pick_list_values"} <= set(f.columns)
    row = f.set_index("api_name").loc["Employees"]
    assert row["dtype"] == "Int64" and bool(row["writable"])
    assert not bool(f.set_index("api_name").loc["Created_Time", "writable"])
    assert crm.count("Accounts") == SESSION_ACCOUNTS
    assert crm.count("Accounts", where="Industry = 'Technology'") == len(
        crm.records("Accounts", fields=["Industry"], where="Industry = 'Technology'")
    )
    with pytest.raises(ZohoAPIError):
        crm.fields("NoSuchModule")


# ---------------------------------------------------------------- writes


def test_client_round_trip_read_edit_write_read_is_equal(crm):
    cols = [
        "Account_Name",
        "Employees",
        "Annual_Revenue",
        "Industry",
        "Last_Engagement_Date",
        "Health_Score",
        "Account_Status",
        "Owner",
        "Description",
    ]
    df = crm.records("Accounts", fields=cols, limit=150)
    edited = df.copy()
    edited["Health_Score"] = (edited["Health_Score"].fillna(0) + 1).astype("Int64")
    edited.loc[0, "Annual_Revenue"] = pd.NA
    edited.loc[1, "Industry"] = "Retail"
    edited.loc[2, "Last_Engagement_Date"] = pd.Timestamp("2025-01-31")
    edited.loc[3, "Description"] = "Ünïcode, quotes ' \" and commas"
    result = crm.update("Accounts", edited)
    assert isinstance(result, WriteResult) and result.total == 150 and result.failed == 0
    again = crm.records("Accounts", fields=cols, where="id is not null", limit=None)
    again = again.set_index("id").loc[list(edited["id"])].reset_index()
    pd.testing.assert_frame_equal(edited, again, check_categorical=False)


def test_client_insert_upsert_delete(crm, fresh_emulator):
    new = pd.DataFrame(
        {
            "Account_Name": ["Zeta One", "Zeta Two"],
            "Employees": pd.array([5, None], dtype="Int64"),
            "Industry": ["Retail", None],
        }
    )
    ins = crm.insert("Accounts", new)
    assert ins.succeeded == 2 and ins.records["id"].notna().all()
    ids = list(ins.records["id"])
    got = crm.record("Accounts", ids[0])
    assert got["Account_Name"] == "Zeta One" and got["Employees"] == 5
    up = crm.upsert("Accounts", [{"Account_Name": "Zeta One", "Employees": 6}, {"Account_Name": "Zeta Three"}])
    assert up.succeeded == 2 and list(up.records["action"]) == ["update", "insert"]
    assert crm.record("Accounts", ids[0])["Employees"] == 6
    gone = crm.delete("Accounts", ids)
    assert gone.succeeded == 2
    with pytest.raises(ZohoAPIError):
        crm.record("Accounts", ids[0])
    assert crm.count("Accounts") == SESSION_ACCOUNTS + 1


def test_client_update_account_returns_the_updated_record(crm):
    aid = crm.records("Accounts", limit=1).loc[0, "id"]
    rec = crm.update_account(
        aid, {"Account_Status": "Active", "Health_Score": 85, "Last_Engagement_Date": "2025-10-18"}
    )
    assert rec["Health_Score"] == 85 and rec["Account_Status"] == "Active"
    assert rec["Last_Engagement_Date"] == pd.Timestamp("2025-10-18")


def test_client_bulk_update_batches_of_100_and_partial_failure_record_by_record(crm, fresh_emulator):
    z = fresh_emulator
    df = crm.records("Accounts", fields=["Health_Score"], limit=250)
    rows = [{"id": i, "Health_Score": 70} for i in df["id"]]
    rows[7]["id"] = "1234567890123456789"  # unknown record: Zoho refuses that one only
    rows[201]["id"] = "1234567890123456780"
    before = z.control.stats()["requests"].get("PUT /crm/v8/Accounts", 0)
    result = crm.bulk_update_accounts(rows)
    assert z.control.stats()["requests"].get("PUT /crm/v8/Accounts", 0) - before == 3  # 100 + 100 + 50
    assert (result.total, result.succeeded, result.failed) == (250, 248, 2)
    assert result["total"] == 250
    bad = result.failures
    assert list(bad["row"]) == [7, 201] and list(bad["id"]) == ["1234567890123456789", "1234567890123456780"]
    assert bad["code"].notna().all() and bad["message"].notna().all()
    assert list(result.records.columns[:6]) == ["row", "id", "status", "code", "message", "field"]
    after = crm.records("Accounts", fields=["Health_Score"], limit=250)
    assert (after["Health_Score"].drop([7, 201]) == 70).all()


def test_client_validation_happens_before_anything_is_sent(crm, fresh_emulator):
    z = fresh_emulator
    crm.fields("Accounts")
    before = _writes(z)
    bad = [
        {"id": "1", "Industry": "Alchemy"},
        {"Employees": 3},
        {"id": "1", "Nope": 1},
        {"id": "2", "Created_Time": "2024-01-01T00:00:00+00:00"},
        {"id": "3", "Employees": "lots"},
    ]
    with pytest.raises(ZohoValidationError) as err:
        crm.update("Accounts", bad)
    assert {(p.row, p.field) for p in err.value.problems} >= {
        (0, "Industry"),
        (1, "id"),
        (2, "id"),
        (2, "Nope"),
        (3, "Created_Time"),
        (4, "Employees"),
    }
    with pytest.raises(ZohoValidationError):
        crm.insert("Accounts", [{"Employees": 1}])  # Account_Name is mandatory
    with pytest.raises(ZohoValidationError):
        crm.delete("Accounts", ["12", "12"])
    assert _writes(z) == before


def test_client_criteria_translation():
    fmap = {
        "Industry": {"data_type": "picklist"},
        "Annual_Revenue": {"data_type": "currency"},
        "Owner": {"data_type": "ownerlookup"},
        "Account_Name": {"data_type": "text"},
    }
    assert (
        criteria_to_coql("((Industry:equals:Tech\\,nology)and(Annual_Revenue:greater_than:5))", fmap)
        == "((Industry = 'Tech,nology') and (Annual_Revenue > 5))"
    )
    assert criteria_to_coql("(Account_Name:starts_with:O'B)", fmap) == "(Account_Name like 'O\\'B%')"
    assert criteria_to_coql("Annual_Revenue > 5", fmap) == "Annual_Revenue > 5"
    with pytest.raises(ZohoValidationError):
        criteria_to_coql("(Nope:equals:x)", fmap)
