"""Read strategies behind records(): the same rows and dtypes whichever ran, the choice visible,
streaming to Parquet, progress bars, and Bulk Write giving update()'s outcome table."""

from __future__ import annotations

import pandas as pd
import pytest

from sergas_nb import frames
from sergas_nb.client import ZohoClient, connect
from sergas_nb.errors import ZohoValidationError
from tests.fixtures.emulator import SESSION_ACCOUNTS


@pytest.fixture
def crm(fresh_emulator) -> ZohoClient:
    client = connect(emulator=fresh_emulator, env_file=None, backoff=0.01)
    yield client
    client.close()


def _strategies(crm: ZohoClient) -> pd.DataFrame:
    m = crm.metrics()
    return m[m["kind"] == "read_strategy"]


def test_every_strategy_reads_the_same_rows_and_dtypes(crm):
    by = {s: crm.records("Accounts", strategy=s, progress=False) for s in ("pages", "coql_partitions", "bulk_read")}
    auto = crm.records("Accounts", progress=False)
    assert len(auto) == SESSION_ACCOUNTS and auto["id"].is_unique
    assert list(auto.columns) == frames.columns_for(crm.field_metadata("Accounts"))
    for name, df in by.items():
        pd.testing.assert_frame_equal(df, auto, obj=name)
    assert auto["id"].astype("int64").is_monotonic_decreasing  # the list API's default order
    chosen = _strategies(crm)
    assert list(chosen["status"]) == ["pages", "coql_partitions", "bulk_read", "coql_partitions"]
    assert chosen["records"].tolist() == [SESSION_ACCOUNTS] * 4
    assert "COQL" in chosen["detail"].iloc[-1]  # the reason is recorded, not just the name


def test_where_reads_match_whichever_strategy(crm):
    where = "Industry = 'Technology' and Annual_Revenue > 1000000"
    a = crm.records("Accounts", where=where, progress=False)
    b = crm.records("Accounts", where=where, strategy="pages", progress=False)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) > 0 and (a["Industry"] == "Technology").all() and (a["Annual_Revenue"] > 1_000_000).all()
    assert list(_strategies(crm)["status"]) == ["coql_partitions", "pages"]


def test_small_and_sorted_reads_use_pages(crm):
    small = crm.records("Accounts", fields=["Account_Name"], limit=450, progress=False)
    srt = crm.records("Accounts", fields=["Account_Name"], sort_by="Created_Time", sort_order="asc", progress=False)
    assert len(small) == 450 and len(srt) == SESSION_ACCOUNTS
    assert small["id"].astype("int64").is_monotonic_decreasing
    chosen = _strategies(crm)
    assert list(chosen["status"]) == ["pages", "pages"]
    assert "sorted by Created_Time" in chosen["detail"].iloc[1]


def test_a_strategy_that_cannot_serve_the_read_is_refused_before_any_call(crm):
    with pytest.raises(ZohoValidationError):
        crm.records("Accounts", strategy="nope")
    with pytest.raises(ZohoValidationError):
        crm.records("Accounts", strategy="bulk_read", where="Industry = 'Retail'")
    with pytest.raises(ZohoValidationError):
        crm.records("Accounts", strategy="coql_partitions", sort_by="Created_Time")


def test_to_parquet_streams_the_same_rows(crm, tmp_path):
    path = crm.records("Accounts", to_parquet=tmp_path / "accounts.parquet", progress=False)
    back = pd.read_parquet(path)
    df = crm.records("Accounts", progress=False)
    assert len(back) == len(df) == SESSION_ACCOUNTS
    assert list(back.columns) == list(df.columns)
    assert back["id"].tolist() == df["id"].tolist()
    assert back["Annual_Revenue"].astype("Float64").equals(df["Annual_Revenue"])
    assert isinstance(back["Industry"].dtype, pd.CategoricalDtype)
    empty = crm.records("Accounts", where="Account_Name = 'no such account'", to_parquet=tmp_path / "none.parquet")
    assert len(pd.read_parquet(empty)) == 0


def test_progress_bar_on_request_and_off_with_a_parameter(crm, capsys):
    crm.records("Accounts", fields=["Account_Name"], progress=True)
    assert "rec" in capsys.readouterr().err
    crm.records("Accounts", fields=["Account_Name"], progress=False)
    assert capsys.readouterr().err == ""


def test_concat_of_chunks_equals_one_frame_with_picklist_values_outside_the_metadata():
    meta = [
        {"api_name": "Industry", "data_type": "picklist", "pick_list_values": [{"actual_value": "Retail"}]},
        {"api_name": "Employees", "data_type": "integer"},
    ]
    rows = [{"id": "1", "Industry": "Retail", "Employees": 3}, {"id": "2", "Industry": "Zinc", "Employees": None}]
    rows += [{"id": "3", "Industry": "Agri", "Employees": 5}]
    whole = frames.to_frame(rows, meta)
    joined = frames.concat_frames([frames.to_frame(rows[:1], meta), frames.to_frame(rows[1:], meta)], meta)
    pd.testing.assert_frame_equal(whole, joined)
    assert list(joined["Industry"].cat.categories) == ["Retail", "Agri", "Zinc"]


def test_bulk_write_gives_the_same_outcome_table_as_update(crm, fresh_emulator):
    df = crm.records("Accounts", fields=["Account_Name", "Description", "Industry"], limit=120, progress=False)
    edited = df[["id", "Description"]].copy()
    edited["Description"] = "bulk edited"
    # Row 5 takes another account's name: the CRM refuses it (duplicate), the others go through.
    named = df[["id", "Account_Name"]].copy()
    named.loc[5, "Account_Name"] = df.loc[6, "Account_Name"]
    bulk = crm.bulk_write("Accounts", named, "update")
    sync = crm.update("Accounts", named)
    pd.testing.assert_frame_equal(bulk.records, sync.records)
    assert bulk.failed == 1 and bulk.failures.iloc[0]["code"] == "DUPLICATE_DATA"
    assert bulk.failures.iloc[0]["field"] == "Account_Name"
    result = crm.bulk_write("Accounts", edited)
    assert result.ok and result.total == 120
    again = crm.records("Accounts", fields=["Description"], where="id is not null", progress=False)
    assert (again.set_index("id").loc[list(edited["id"]), "Description"] == "bulk edited").all()
    ops = crm.metrics()["operation"].tolist()
    assert {"bulk_upload", "bulk_write", "bulk_status", "bulk_write_download"} <= set(ops)


def test_bulk_write_insert_and_upsert_report_actions(crm):
    new = pd.DataFrame({"Account_Name": ["Bulk Alpha", "Bulk Beta"], "Employees": pd.array([3, None], dtype="Int64")})
    ins = crm.bulk_write("Accounts", new, "insert")
    assert ins.ok and ins.records["id"].notna().all() and ins.records["action"].isna().all()
    up = crm.bulk_write(
        "Accounts",
        pd.DataFrame({"Account_Name": ["Bulk Alpha", "Bulk Gamma"], "Employees": pd.array([4, 5], dtype="Int64")}),
        "upsert",
    )
    assert up.ok and list(up.records["action"]) == ["update", "insert"]
    assert up.records.loc[0, "id"] == ins.records.loc[0, "id"]


def test_bulk_write_checks_values_before_sending(crm, fresh_emulator):
    before = fresh_emulator.control.stats()["by_path"].get("/crm/v8/upload", 0)
    with pytest.raises(ZohoValidationError):
        crm.bulk_write("Accounts", pd.DataFrame({"id": ["1"], "Employees": ["many"]}))
    assert fresh_emulator.control.stats()["by_path"].get("/crm/v8/upload", 0) == before


def test_parts_holding_more_than_one_coql_answer_are_continued(crm, monkeypatch):
    from sergas_nb import _reads

    expected = crm.records("Accounts", fields=["Account_Name", "Owner"], strategy="pages", progress=False)
    where = crm.records("Accounts", fields=["Account_Name"], where="Account_Name like '%a%'", strategy="pages")
    monkeypatch.setattr(_reads, "PART_SIZE", 5000)  # one part of 2,500 ids: two COQL answers
    calls_before = (crm.metrics()["operation"] == "coql").sum()
    got = crm.records("Accounts", fields=["Account_Name", "Owner"], strategy="coql_partitions", progress=False)
    pd.testing.assert_frame_equal(got, expected)
    coql_calls = (crm.metrics()["operation"] == "coql").sum() - calls_before
    assert coql_calls == 2 + 2  # the id range's two ends, then one part in two answers
    got_where = crm.records(
        "Accounts", fields=["Account_Name"], where="Account_Name like '%a%'", strategy="coql_partitions"
    )
    pd.testing.assert_frame_equal(got_where, where)


def test_a_cut_off_coql_answer_is_retried_and_the_frame_is_whole(crm, fresh_emulator):
    # A truncated 200 ('{"data": [{"id": "6250...') on a COQL part, as a proxy or a dropped stream
    # gives: the read sends that part again rather than failing with a bare JSON error later.
    expected = crm.records("Accounts", strategy="coql_partitions", progress=False)
    # The read's first two COQL calls find the id range's ends; the third is its first part.
    fresh_emulator.control.add_fault("malformed", path="^/crm/v8/coql$", method="POST", every=3, count=1)
    got = crm.records("Accounts", strategy="coql_partitions", progress=False)
    pd.testing.assert_frame_equal(got, expected)
    m = crm.metrics()
    assert m[(m["kind"] == "call") & (m["operation"] == "coql")]["retries"].sum() == 1


def test_an_answer_broken_inside_reads_as_a_zoho_error_not_a_json_one():
    from sergas_nb._json_rows import rows_and_info
    from sergas_nb.errors import ZohoAPIError

    records = ",".join(f'{{"id":"{i}","Account_Name":"A {i}"}}' for i in range(20_000))
    broken = f'{{"data":[{records}],"info":{{"more_records":false}}}}'.encode().replace(b'"A 19000"', b'"A 19000')
    for body in (broken, b'{"data": [1, 2,'):
        with pytest.raises(ZohoAPIError) as err:
            rows_and_info(body)
        assert err.value.code == "MALFORMED_RESPONSE" and "A 1" not in str(err.value)
