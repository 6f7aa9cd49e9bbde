"""frames.py: records <-> typed DataFrames, and validation before anything is sent (no network)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sergas_nb import frames
from sergas_nb.errors import ZohoValidationError


def _pick(*values: str) -> list[dict]:
    return [{"display_value": v, "actual_value": v, "type": "used"} for v in values]


def _field(api_name: str, data_type: str, **extra) -> dict:
    json_type = {
        "integer": "integer",
        "bigint": "integer",
        "currency": "double",
        "double": "double",
        "boolean": "boolean",
        "multiselectpicklist": "jsonarray",
        "lookup": "jsonobject",
        "ownerlookup": "jsonobject",
        "userlookup": "jsonobject",
    }.get(data_type, "string")
    f = {
        "api_name": api_name,
        "field_label": api_name.replace("_", " "),
        "display_label": api_name.replace("_", " "),
        "data_type": data_type,
        "json_type": json_type,
        "length": 255,
        "decimal_place": None,
        "read_only": False,
        "system_mandatory": False,
        "custom_field": False,
        "visible": True,
        "pick_list_values": [],
        "unique": {},
    }
    f.update(extra)
    return f


def _fallback_accounts_fields() -> list[dict]:
    """Accounts metadata in Zoho's /settings/fields shape (used until the emulator's exists)."""
    return [
        _field("Owner", "ownerlookup", lookup={"module": {"api_name": "users", "id": "1"}}),
        _field("Account_Name", "text", system_mandatory=True, length=200),
        _field("Account_Number", "text", length=40),
        _field("Account_Site", "text", length=80),
        _field("Parent_Account", "lookup", lookup={"module": {"api_name": "Accounts", "id": "2"}}),
        _field("Account_Type", "picklist", pick_list_values=_pick("Analyst", "Competitor", "Customer", "Partner")),
        _field("Industry", "picklist", pick_list_values=_pick("Technology", "Retail", "Banking", "Energy")),
        _field("Rating", "picklist", pick_list_values=_pick("Acquired", "Active", "Market Failed")),
        _field("Ownership", "picklist", pick_list_values=_pick("Private", "Public")),
        _field("Annual_Revenue", "currency", decimal_place=2),
        _field("Employees", "integer"),
        _field("SIC_Code", "integer"),
        _field("Phone", "phone", length=30),
        _field("Fax", "phone", length=30),
        _field("Website", "website"),
        _field("Ticker_Symbol", "text", length=30),
        *[
            _field(f"{p}_{s}", "text")
            for p in ("Billing", "Shipping")
            for s in ("Street", "City", "State", "Code", "Country")
        ],
        _field("Description", "textarea", length=32000),
        _field("Tag", "text", read_only=True),
        _field("Created_By", "userlookup", read_only=True),
        _field("Modified_By", "userlookup", read_only=True),
        _field("Created_Time", "datetime", read_only=True),
        _field("Modified_Time", "datetime", read_only=True),
        _field("Last_Activity_Time", "datetime", read_only=True),
        _field("Health_Score", "integer", custom_field=True),
        _field("Account_Status", "picklist", custom_field=True, pick_list_values=_pick("Active", "At Risk", "Churned")),
        _field("Last_Engagement_Date", "date", custom_field=True),
        _field("Is_Key_Account", "boolean", custom_field=True),
        _field("Regions", "multiselectpicklist", custom_field=True, pick_list_values=_pick("EMEA", "APAC", "AMER")),
    ]


def accounts_fields() -> list[dict]:
    """The emulator's Accounts metadata, plus custom fields of the types it lacks (boolean,
    multiselect, a writable datetime) so every type is exercised."""
    try:
        from sergas_nb.emulator.state.metadata import fields_for
    except ImportError:
        fields = _fallback_accounts_fields()
    else:
        fields = list(fields_for("Accounts"))
    have = {f["api_name"] for f in fields}
    extra = [
        _field("Is_Key_Account", "boolean", custom_field=True),
        _field("Regions", "multiselectpicklist", custom_field=True, pick_list_values=_pick("EMEA", "APAC", "AMER")),
        _field("Next_Review", "datetime", custom_field=True),
    ]
    return fields + [f for f in extra if f["api_name"] not in have]


META = accounts_fields()
FMAP = frames.field_map(META)


def _first(kind: str, exclude: tuple[str, ...] = ()) -> str:
    for name, f in FMAP.items():
        if frames.kind_of(f) == kind and not frames.is_read_only(f) and name not in exclude:
            return name
    pytest.skip(f"no writable {kind} field in Accounts metadata")


def _record(i: int) -> dict:
    return {
        "id": f"{5_000_000_000_000_000_000 + i}",
        "Owner": {"name": "Ana Analyst", "id": "4000000000000000001", "email": "ana@example.com"},
        "Account_Name": f"Acme {i}",
        "Parent_Account": {"name": "Acme Holding", "id": "5000000000000000999"},
        "Industry": "Technology",
        "Annual_Revenue": 1250000.5,
        "Employees": 120 + i,
        "Health_Score": 80,
        "Account_Status": "Active",
        "Last_Engagement_Date": "2025-10-18",
        "Created_Time": "2024-03-01T09:30:00+05:30",
        "Modified_Time": "2024-03-02T10:00:00+00:00",
        "Created_By": {"name": "Ana Analyst", "id": "4000000000000000001", "email": "ana@example.com"},
        "Is_Key_Account": True,
        "Regions": ["EMEA", "APAC"],
        "Description": None,
    }


def test_metadata_is_in_zoho_shape_and_covers_the_seed_fields():
    for name in (
        "Owner",
        "Account_Name",
        "Parent_Account",
        "Industry",
        "Annual_Revenue",
        "Employees",
        "Created_Time",
        "Health_Score",
        "Account_Status",
        "Last_Engagement_Date",
    ):
        assert name in FMAP
    assert len(FMAP) >= 34


def test_frames_dtypes_follow_the_metadata():
    df = frames.to_frame([_record(1), _record(2)], META)
    assert list(df.columns[:1]) == ["id"]
    assert df["id"].dtype == "string" and df.loc[0, "id"] == "5000000000000000001"
    assert df["Employees"].dtype == "Int64" and df["Health_Score"].dtype == "Int64"
    assert df["Annual_Revenue"].dtype == "Float64"
    assert df["Account_Name"].dtype == "string"
    assert isinstance(df["Industry"].dtype, pd.CategoricalDtype)
    assert set(frames.picklist_values(FMAP["Industry"])) <= set(df["Industry"].cat.categories)
    assert df["Last_Engagement_Date"].dtype == "datetime64[us]"
    assert df.loc[0, "Last_Engagement_Date"] == pd.Timestamp("2025-10-18")
    # +05:30 becomes UTC, whatever the machine's zone is
    assert str(df["Created_Time"].dtype) == "datetime64[us, UTC]"
    assert df.loc[0, "Created_Time"] == pd.Timestamp("2024-03-01T04:00:00", tz="UTC")
    assert df.loc[0, "Owner.email"] == "ana@example.com" and df.loc[0, "Owner.id"] == "4000000000000000001"
    assert df.loc[0, "Parent_Account.name"] == "Acme Holding" and "Parent_Account.email" not in df
    assert "Owner" not in df.columns
    assert df.loc[0, "Description"] is pd.NA
    if "Is_Key_Account" in FMAP:
        assert df["Is_Key_Account"].dtype == "boolean"
    if "Regions" in FMAP:
        assert df.loc[0, "Regions"] == ["EMEA", "APAC"]


def test_frames_missing_values_are_na_not_strings():
    rec = {
        "id": "1",
        "Employees": None,
        "Annual_Revenue": None,
        "Industry": None,
        "Created_Time": None,
        "Owner": None,
        "Last_Engagement_Date": None,
    }
    df = frames.to_frame([rec], META)
    assert df.loc[0, "Employees"] is pd.NA and df.loc[0, "Annual_Revenue"] is pd.NA
    assert pd.isna(df.loc[0, "Industry"]) and df.loc[0, "Created_Time"] is pd.NaT
    assert df.loc[0, "Owner.id"] is pd.NA and df.loc[0, "Last_Engagement_Date"] is pd.NaT


def test_frames_empty_answer_has_same_columns_and_dtypes():
    full = frames.to_frame([_record(1)], META)
    empty = frames.to_frame([], META)
    assert len(empty) == 0
    assert (
        list(empty.columns)
        == list(full.columns)
        == frames.columns_for(META) + [c for c in full.columns if c not in frames.columns_for(META)]
    )
    assert dict(empty.dtypes) == dict(full.dtypes)
    assert frames.dtypes_for(META, ["Employees"]) == {"id": "string", "Employees": "Int64"}


def test_frames_requested_fields_keep_order_and_flatten_lookups():
    df = frames.to_frame([_record(1)], META, ["Owner", "Account_Name", "Employees"])
    assert list(df.columns) == ["id", "Owner.name", "Owner.id", "Owner.email", "Account_Name", "Employees"]


def test_frames_coql_rows_with_id_only_lookups_and_dotted_columns():
    rows = [{"id": "11", "Account_Name": "A", "Owner": {"id": "42"}, "Owner.email": "x@example.com"}]
    df = frames.to_frame(rows, META, ["Account_Name", "Owner", "Owner.email"])
    assert df.loc[0, "Owner.id"] == "42" and df.loc[0, "Owner.name"] is pd.NA
    assert df.loc[0, "Owner.email"] == "x@example.com"


def test_frames_picklist_value_outside_metadata_is_kept():
    df = frames.to_frame([{"id": "1", "Industry": "Quantum Widgets"}], META, ["Industry"])
    assert df.loc[0, "Industry"] == "Quantum Widgets"


def test_frames_malformed_value_raises_naming_the_field():
    with pytest.raises(ValueError, match="Created_Time"):
        frames.to_frame([{"id": "1", "Created_Time": "yesterday"}], META, ["Created_Time"])


def test_frames_round_trip_frame_to_payload_to_frame_is_equal():
    records = [_record(1), _record(2), {"id": "77", "Account_Name": "Bare", "Regions": []}]
    df = frames.to_frame(records, META)
    payload = frames.to_payload(df, META, "update")
    # what the CRM would store: payload merged into the original records (read-only kept as they were)
    stored = []
    for orig, change in zip(records, payload, strict=False):
        merged = dict(orig)
        for k, v in change.items():
            if isinstance(v, dict) and isinstance(merged.get(k), dict):
                v = {**merged[k], **v}
            merged[k] = v
        stored.append(merged)
    again = frames.to_frame(stored, META)
    pd.testing.assert_frame_equal(df, again)


def test_frames_payload_converts_values_per_type():
    date_f, dt_f = _first(frames.DATE), "Created_Time"
    rows = [
        {
            "id": "5000000000000000001",
            "Employees": np.int64(7),
            "Annual_Revenue": 10,
            date_f: pd.Timestamp("2025-01-02"),
            "Industry": "Retail",
            "Owner": "4000000000000000002",
            "Parent_Account.id": 5000000000000000999,
        }
    ]
    out = frames.to_payload(rows, META, "update")[0]
    assert out == {
        "id": "5000000000000000001",
        "Employees": 7,
        "Annual_Revenue": 10.0,
        date_f: "2025-01-02",
        "Industry": "Retail",
        "Owner": {"id": "4000000000000000002"},
        "Parent_Account": {"id": "5000000000000000999"},
    }
    assert type(out["Employees"]) is int
    dtw = [n for n, f in FMAP.items() if frames.kind_of(f) == frames.DATETIME and not frames.is_read_only(f)]
    if dtw:
        out = frames.to_payload([{"id": "1", dtw[0]: pd.Timestamp("2024-03-01T09:30:00", tz="Asia/Kolkata")}], META)[0]
        assert out[dtw[0]] == "2024-03-01T04:00:00+00:00"
    assert dt_f in FMAP


def test_frames_na_clears_or_skips_explicitly():
    df = pd.DataFrame({"id": ["1"], "Employees": pd.array([None], dtype="Int64"), "Account_Name": ["A"]})
    assert frames.to_payload(df, META)[0] == {"id": "1", "Employees": None, "Account_Name": "A"}
    assert frames.to_payload(df, META, na="skip")[0] == {"id": "1", "Account_Name": "A"}
    assert frames.to_payload([{"id": "1", "Industry": None}], META)[0] == {"id": "1", "Industry": None}


def test_frames_validation_lists_every_problem_with_row_field_value():
    rows = [
        {"id": "1", "No_Such_Field": 3},  # unknown
        {"id": "2", "Created_Time": "2024-01-01T00:00:00+00:00"},  # read-only
        {"id": "3", "Employees": "many"},  # wrong type
        {"id": "4", "Industry": "Alchemy"},  # picklist value not allowed
        {"Account_Name": "no id"},  # missing id
        {"id": "1", "Employees": 3},  # duplicate id
        {"id": "abc"},  # not an id
        {"id": "8", "Annual_Revenue": True},  # bool is not a number
        {"id": "9", "Last_Engagement_Date": "18/10/2025"},  # date format
        {"id": "10", "Created_By.name": "x"},  # read-only lookup view
    ]
    with pytest.raises(ZohoValidationError) as err:
        frames.to_payload(rows, META, "update")
    found = {(p.row, p.field) for p in err.value.problems}
    assert {
        (0, "No_Such_Field"),
        (1, "Created_Time"),
        (2, "Employees"),
        (3, "Industry"),
        (4, "id"),
        (5, "id"),
        (6, "id"),
        (7, "Annual_Revenue"),
        (8, "Last_Engagement_Date"),
        (9, "Created_By.name"),
    } <= found
    by_field = {p.field: p for p in err.value.problems}
    assert by_field["Industry"].value == "Alchemy" and "not an allowed value" in by_field["Industry"].reason
    assert "nothing was sent" in str(err.value) and "row 3" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_frames_read_only_columns_of_a_read_frame_are_left_out():
    df = frames.to_frame([_record(1)], META)
    out = frames.to_payload(df, META, "update")[0]
    assert "Created_Time" not in out and "Created_By" not in out and "Modified_Time" not in out
    assert out["Owner"] == {"id": "4000000000000000001"}


def test_frames_insert_rules():
    with pytest.raises(ZohoValidationError) as err:
        frames.to_payload([{"Employees": 3}, {"id": "5", "Account_Name": "X"}], META, "insert")
    assert {(0, "Account_Name"), (1, "id")} <= {(p.row, p.field) for p in err.value.problems}
    df = frames.to_frame([_record(1)], META)
    out = frames.to_payload(df, META, "insert")[0]
    assert "id" not in out and out["Account_Name"] == "Acme 1"


def test_frames_naive_datetime_and_lookup_by_name_are_rejected():
    dtw = [n for n, f in FMAP.items() if frames.kind_of(f) == frames.DATETIME and not frames.is_read_only(f)]
    rows = [{"id": "1", "Owner.name": "Someone"}]
    if dtw:
        rows.append({"id": "2", dtw[0]: dt.datetime(2024, 1, 1, 12)})
    with pytest.raises(ZohoValidationError) as err:
        frames.to_payload(rows, META)
    reasons = " ".join(p.reason for p in err.value.problems)
    assert "Owner.id" in reasons
    if dtw:
        assert "naive" in reasons


def test_frames_duplicate_ids_in_a_frame():
    df = pd.DataFrame({"id": ["1", "1"], "Employees": [1, 2]}, index=["a", "b"])
    with pytest.raises(ZohoValidationError) as err:
        frames.to_payload(df, META)
    (p,) = err.value.problems
    assert p.row == "b" and p.field == "id" and "duplicate" in p.reason


def test_a_picklist_column_is_the_categorical_pandas_builds_from_the_same_values():
    # The column is built from codes (frames._categorical); it must be pandas' own result for
    # the same values: unlisted values after the allowed ones, sorted; None missing; numbers as text.
    field = _field("Rating", "picklist", pick_list_values=_pick("Hot", "Warm", "Cold"))
    values = ["Warm", None, "Zeta", "Hot", 7, "Alpha", "Warm", None]
    df = frames.to_frame([{"id": str(i), "Rating": v} for i, v in enumerate(values)], [field], ["id", "Rating"])
    expected = pd.Categorical(
        [None if v is None else str(v) for v in values], categories=["Hot", "Warm", "Cold", "7", "Alpha", "Zeta"]
    )
    got = df["Rating"].array
    assert got.dtype == expected.dtype and got.codes.dtype == expected.codes.dtype
    assert got.codes.tolist() == expected.codes.tolist()
    # Chunks typed apart and joined hold the categories of all of them, in the same order.
    chunks = [
        frames.to_frame([{"id": str(i), "Rating": v} for i, v in enumerate(part)], [field], ["id", "Rating"])
        for part in (values[:3], values[3:5], values[5:])
    ]
    joined = frames.concat_frames(chunks, [field], ["id", "Rating"])
    assert joined["Rating"].dtype == expected.dtype
    assert joined["Rating"].astype(object).where(joined["Rating"].notna(), None).tolist() == [
        None if v is None else str(v) for v in values
    ]
