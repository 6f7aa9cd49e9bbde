"""Answers parsed a piece at a time give exactly the records of one whole parse, whatever the
records hold (text that looks like a cut, arrays of objects inside a record)."""

from __future__ import annotations

import orjson
import pytest

from sergas_nb._json_rows import rows_and_info
from sergas_nb.errors import ZohoAPIError


def _answer(rows: list[dict], info: dict | None = None) -> bytes:
    return orjson.dumps({"data": rows, "info": info or {"more_records": True, "count": len(rows)}})


def _rows(n: int) -> list[dict]:
    tricky = ['a},{"id":"9"}', '"],"info":{"more_records":false}}', "},{", '\\"},{\\"', "ünï}{,"]
    return [
        {
            "id": str(1000 + i),
            "Account_Name": f"Account {i}",
            "Description": tricky[i % len(tricky)] * (i % 4),
            "Tag": [{"name": "t1", "id": "1"}, {"name": "t2", "id": "2"}] if i % 3 else [],
            "Owner": {"id": "77", "name": "Mary"},
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("piece", [64, 200, 1000, 1 << 20])
def test_pieces_give_the_records_and_info_of_a_whole_parse(piece: int) -> None:
    rows = _rows(500)
    body = _answer(rows)
    got, info = rows_and_info(body, piece=piece)
    assert got == rows
    assert info == {"more_records": True, "count": 500}


def test_a_cut_inside_a_string_falls_back_to_one_parse() -> None:
    # Every record's text is one long string full of record separators: no cut inside it parses.
    rows = [{"id": str(i), "Description": '},{"id":"1"},{' * 40} for i in range(50)]
    got, _ = rows_and_info(_answer(rows), piece=64)
    assert got == rows


def test_other_layouts_and_empty_answers() -> None:
    spaced = orjson.dumps({"info": {"more_records": False}, "data": _rows(30)}, option=orjson.OPT_INDENT_2)
    assert rows_and_info(spaced, piece=64) == (_rows(30), {"more_records": False})
    assert rows_and_info(b'{"data":[],"info":{"more_records":false}}', piece=1) == ([], {"more_records": False})
    assert rows_and_info(b"{}", piece=1) == ([], {})


def test_a_broken_answer_is_still_an_error() -> None:
    body = _answer(_rows(200))[:-40]
    with pytest.raises(ZohoAPIError) as err:  # one of ours (the one exception tree), not orjson's
        rows_and_info(body, piece=64)
    assert err.value.code == "MALFORMED_RESPONSE"


def test_a_large_answer_is_parsed_in_pieces_not_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import sergas_nb._json_rows as json_rows

    seen: list[int] = []
    real = orjson.loads

    def spy(doc: bytes) -> object:
        seen.append(len(doc))
        return real(doc)

    monkeypatch.setattr(json_rows.orjson, "loads", spy)
    rows = _rows(400)
    body = _answer(rows)
    assert rows_and_info(body, piece=4096)[0] == rows
    assert len(seen) > 5
    assert max(seen) < len(body) / 4  # no parse of the whole answer
