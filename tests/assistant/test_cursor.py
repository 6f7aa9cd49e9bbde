"""Cursors are signed by the process that gave them, and what a signed cursor carries is checked
against the tools' argument bounds again (a bug here must not turn into an unbounded query)."""

from __future__ import annotations

import pytest

from sergas_nb.assistant import ToolInputError
from sergas_nb.assistant import cursor as cursor_mod
from sergas_nb.assistant.tools import _CoqlCursor, _cursor, _RecordsCursor


def test_a_signed_cursor_round_trips():
    state = {"kind": "records", "module": "Accounts", "where": "Rating = 'Hot'", "after": "123"}
    assert _cursor(cursor_mod.encode(state), _RecordsCursor) == {"v": 2, **state}


@pytest.mark.parametrize(
    ("model", "state", "named"),
    [
        (_CoqlCursor, {"kind": "coql", "query": "select id from Accounts", "offset": 0, "limit": 100_000}, "limit"),
        (_CoqlCursor, {"kind": "coql", "query": "select id from Accounts", "offset": 10**9, "limit": 5}, "offset"),
        (_RecordsCursor, {"kind": "records", "module": "Accounts", "where": "x" * 4001}, "where"),
        (_RecordsCursor, {"kind": "records", "module": "Accounts; drop", "after": "1"}, "module"),
        (_RecordsCursor, {"kind": "records", "module": "Accounts", "after": "1 or 1=1"}, "after"),
        (_RecordsCursor, {"kind": "records", "module": "Accounts", "offset": "5"}, "offset"),
        (_RecordsCursor, {"kind": "records", "module": "Accounts", "extra": 1}, "extra"),
    ],
)
def test_a_signed_cursor_out_of_bounds_is_refused(model, state, named):
    with pytest.raises(ToolInputError, match=f"out of bounds.*{named}"):
        _cursor(cursor_mod.encode(state), model)


def test_a_cursor_of_another_key_or_kind_is_refused(monkeypatch):
    good = cursor_mod.encode({"kind": "records", "module": "Accounts"})
    with pytest.raises(ToolInputError, match="not a coql cursor"):
        _cursor(good, _CoqlCursor)
    monkeypatch.setattr(cursor_mod, "_KEY", b"another server's key" * 2)  # as after a restart
    with pytest.raises(ToolInputError, match="not a cursor this server gave"):
        _cursor(good, _RecordsCursor)
