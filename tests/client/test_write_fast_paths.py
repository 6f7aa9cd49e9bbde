"""The 200-record write's fast paths give what the full paths give (no network): a clean frame's
payload checked a column at a time, and the outcome table built when first read."""

from __future__ import annotations

import pandas as pd
import pytest

from sergas_nb import frames
from sergas_nb._outcomes import WriteResult, outcome_frame
from sergas_nb._writes import fate
from sergas_nb.errors import ZohoValidationError
from tests.client.test_frames import META, _first

IDS = [str(10**17 + i) for i in range(150)]


def _row_path(frame: pd.DataFrame, operation: str) -> list[dict]:
    """The payload the row-by-row path builds for ``frame`` (the column pass switched off)."""
    saved = frames._columns_payload
    frames._columns_payload = lambda *a: None
    try:
        return frames.to_payload(frame, META, operation)
    finally:
        frames._columns_payload = saved


@pytest.mark.parametrize("operation", ["update", "upsert", "insert"])
def test_a_clean_frames_payload_is_the_row_paths_value_for_value(operation):
    text, number, picklist = _first("text"), _first("int"), _first("picklist")
    allowed = frames.picklist_values(frames.field_map(META)[picklist])
    columns = {
        text: [f"name {i}" for i in range(len(IDS))],
        number: list(range(len(IDS))),
        picklist: [allowed[i % len(allowed)] for i in range(len(IDS))],
    }
    frame = pd.DataFrame({"id": IDS, **columns} if operation != "insert" else columns)
    mandatory = [n for n, f in frames.field_map(META).items() if f.get("system_mandatory")]
    for name in mandatory:
        if name not in frame:
            frame[name] = [f"{name} {i}" for i in range(len(IDS))]
    names, values = frames._frame_columns(frame)
    assert frames._columns_payload(names, values, frames.field_map(META), operation) is not None  # the column pass
    got = frames.to_payload(frame, META, operation)
    want = _row_path(frame, operation)
    assert got == want
    assert [list(r) for r in got] == [list(r) for r in want]  # keys in column order
    assert all(type(g[k]) is type(w[k]) for g, w in zip(got, want, strict=True) for k in g)


def test_a_frame_with_one_bad_cell_is_still_refused_naming_row_field_and_value():
    number = _first("int")
    frame = pd.DataFrame({"id": IDS[:3], number: [1, "many", 3]})
    with pytest.raises(ZohoValidationError) as err:
        frames.to_payload(frame, META, "update")
    (problem,) = err.value.problems
    assert (problem.row, problem.field, problem.value) == (1, number, "many")


def test_a_frame_with_a_repeated_id_is_refused_by_the_row_path_wording():
    frame = pd.DataFrame({"id": [IDS[0], IDS[0]], _first("text"): ["a", "b"]})
    with pytest.raises(ZohoValidationError, match="duplicate id"):
        frames.to_payload(frame, META, "update")


def _fates() -> list[dict]:
    return [
        fate("success", "1", "SUCCESS", "record updated"),
        fate("error", "2", "INVALID_DATA", "invalid data", field="Phone"),
        fate("unknown", "3", "HTTP_502", "lost", resolution="unresolved"),
        fate("success", "4", "SUCCESS", "read back: applied", resolution="read back: applied"),
    ]


def test_a_results_counters_before_and_after_its_table_is_built_agree():
    labels = ["a", "b", "c", "d"]
    lazy = WriteResult.of_fates("update", "Accounts", labels, _fates())
    counts = (lazy.total, lazy.succeeded, lazy.failed, lazy.unknown, lazy.resolved, lazy.ok)
    assert counts == (4, 2, 1, 1, 1, False)
    pd.testing.assert_frame_equal(lazy.records, outcome_frame(labels, _fates()))
    assert (lazy.total, lazy.succeeded, lazy.failed, lazy.unknown, lazy.resolved, lazy.ok) == counts
    assert repr(lazy) == "WriteResult(update Accounts: total=4, succeeded=2, failed=1, unknown=1)"


def test_a_results_counters_follow_its_table_once_built():
    result = WriteResult.of_fates("update", "Accounts", [0, 1, 2, 3], _fates())
    result.records.loc[1, "status"] = "success"  # the table is what a user sees and edits
    assert (result.succeeded, result.failed, result.ok) == (3, 0, False)
    result.records = result.records.iloc[:2]
    assert (result.total, result.succeeded, result["failed"]) == (2, 2, 0)


def test_a_result_pickles_and_copies_like_the_value_it_is():
    import copy
    import pickle

    for built in (False, True):
        result = WriteResult.of_fates("update", "Accounts", ["a", "b", "c", "d"], _fates())
        if built:
            assert len(result.records) == 4
        for back in (pickle.loads(pickle.dumps(result)), copy.deepcopy(result)):
            assert (back.total, back.succeeded, back.failed, back.unknown) == (4, 2, 1, 1)
            pd.testing.assert_frame_equal(back.records, result.records)


@pytest.mark.parametrize("operation", ["update", "upsert"])
def test_clean_dict_rows_take_the_column_pass_and_give_the_row_paths_payload(operation, monkeypatch):
    text, number = _first("text"), _first("int")
    rows = [{"id": i, text: f"name {n}", number: n} for n, i in enumerate(IDS)]
    taken: list[bool] = []
    column_pass = frames._columns_payload
    monkeypatch.setattr(frames, "_columns_payload", lambda *a: taken.append(True) or column_pass(*a))
    got = frames.to_payload(rows, META, operation)
    assert taken == [True]
    monkeypatch.setattr(frames, "_columns_payload", lambda *a: None)
    want = frames.to_payload(rows, META, operation)
    assert got == want and [list(r) for r in got] == [list(r) for r in want]
    assert all(type(g[k]) is type(w[k]) for g, w in zip(got, want, strict=True) for k in g)


def test_dict_rows_keep_the_row_paths_refusals_a_frame_does_not_have():
    """A read-only field in a dict is refused (a frame as read may carry one), an insert with an id
    is refused (a frame's ids are dropped), and rows with different keys are each checked."""
    read_only = next(f["api_name"] for f in META if frames.is_read_only(f) and f["api_name"] != "id")
    text = _first("text")
    with pytest.raises(ZohoValidationError, match="read-only field"):
        frames.to_payload([{"id": IDS[0], read_only: "x"}], META, "update")
    with pytest.raises(ZohoValidationError, match="an insert cannot set the id"):
        mandatory = {n: "x" for n, f in frames.field_map(META).items() if f.get("system_mandatory")}
        frames.to_payload([{"id": IDS[0], text: "a", **mandatory}], META, "insert")
    mixed = frames.to_payload([{"id": IDS[0], text: "a"}, {text: "b", "id": IDS[1]}], META, "update")
    assert mixed == [{"id": IDS[0], text: "a"}, {text: "b", "id": IDS[1]}]
