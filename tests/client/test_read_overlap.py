"""A read whose ``fields=`` names the columns does not wait for the field metadata: its first pages
cross the metadata call (issue 16), and a bad name is still refused, named, before anything else."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from sergas_nb.client import ZohoClient, connect
from sergas_nb.errors import ZohoAPIError, ZohoValidationError

FIELDS = ["Account_Name", "Owner", "Annual_Revenue", "Created_Time"]


@pytest.fixture
def crm(fresh_emulator) -> ZohoClient:
    fresh_emulator.control.set_latency(fixed=0.05)
    client = connect(emulator=fresh_emulator, env_file=None, backoff=0.01)
    yield client
    client.close()


def _calls(crm: ZohoClient, operation: str) -> list:
    return [e for e in crm.events_since(pd.Timestamp(0, tz="UTC")) if e.kind == "call" and e.operation == operation]


def test_first_pages_are_sent_before_the_metadata_answer(crm: ZohoClient) -> None:
    df = crm.records("Accounts", fields=FIELDS, progress=False)
    (meta_call,) = _calls(crm, "fields")
    pages = _calls(crm, "records")
    assert pages
    first_sent = min(e.at - pd.Timedelta(seconds=e.duration) for e in pages)
    assert first_sent < meta_call.at  # a page left while the metadata call was still out
    # The same frame as a read that had the metadata before it started.
    again = crm.records("Accounts", fields=FIELDS, progress=False)
    pd.testing.assert_frame_equal(df, again)
    assert list(df.columns) == [
        "id",
        "Account_Name",
        "Owner.name",
        "Owner.id",
        "Owner.email",
        "Annual_Revenue",
        "Created_Time",
    ]
    assert str(df["Annual_Revenue"].dtype) == "Float64"


def test_a_bad_name_is_refused_by_name_and_nothing_follows(crm: ZohoClient) -> None:
    with pytest.raises(ZohoValidationError) as err:
        crm.records("Accounts", fields=["Account_Name", "Acount_Nmae"], progress=False)
    assert "Acount_Nmae" in str(err.value)
    ops = {e.operation for e in crm.events_since(pd.Timestamp(0, tz="UTC")) if e.kind == "call"}
    assert ops <= {"connect", "fields", "records"}  # no count, no COQL, no partition after the refusal
    assert len(_calls(crm, "records")) <= 10


def test_cached_metadata_or_no_field_list_takes_the_usual_path(crm: ZohoClient) -> None:
    whole = crm.records("Accounts", progress=False)  # fields=None: metadata first, it names the columns
    (meta_call,) = _calls(crm, "fields")
    pages = _calls(crm, "records")
    assert min(e.at - pd.Timedelta(seconds=e.duration) for e in pages) >= meta_call.at
    narrow = crm.records("Accounts", fields=FIELDS, progress=False)
    pd.testing.assert_frame_equal(narrow, whole[narrow.columns.tolist()])


def test_a_bad_name_shows_only_the_validation_error(crm: ZohoClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="sergas_nb")
    with pytest.raises(ZohoValidationError):
        crm.records("Accounts", fields=["Account_Name", "Acount_Nmae"], progress=False)
    # The pages sent beside the metadata call were refused (INVALID_DATA) and dropped ...
    assert any(e.status != "ok" for e in _calls(crm, "records"))
    # ... without an ERROR the user would read beside the validation error.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_prefetched_page_that_fails_when_used_is_logged_and_raised(
    crm: ZohoClient, fresh_emulator, caplog: pytest.LogCaptureFixture
) -> None:
    fresh_emulator.control.add_fault("status", path="^/crm/v8/Accounts$", method="GET", status=400, count=10)
    caplog.set_level(logging.INFO, logger="sergas_nb")
    with pytest.raises(ZohoAPIError):
        crm.records("Accounts", fields=FIELDS, progress=False)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].startswith("records failed")
