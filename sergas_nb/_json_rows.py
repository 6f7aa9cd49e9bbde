"""The records of one large JSON answer (``{"data":[...],"info":{...}}``), parsed a piece at a time.

orjson parses a whole document into its own tree before it builds the Python objects: for a
2.5 MB COQL answer of 1,800 records that tree peaks near 30 MB, three times the records it
gives (measured with tracemalloc: 38 MB peak, 8.8 MB kept). Parsed in pieces of about
``PIECE`` bytes, the tree of one piece is all that lives beside the records.

The answer is cut only between two records (``},{``) and each piece is parsed as a JSON array
of its own. A cut that falls anywhere else (inside a string, or between two objects of an array
inside a record) leaves an unclosed string or bracket in the piece before it, so that piece does
not parse: then the next candidate cut is tried, and after ``RETRIES`` the whole answer is
parsed at once, as before. Answers in any other layout
(spaced JSON, other keys first) are parsed whole too.
"""

from __future__ import annotations

from typing import Any

import orjson

from sergas_nb._http import Body

PIECE = 256 * 1024
RETRIES = 4  # cuts tried per piece before the whole answer is parsed at once
_HEAD = b'{"data":['
_TAIL = b'],"info":'


def rows_and_info(body: Body, piece: int = PIECE) -> tuple[list[Any], dict[str, Any]]:
    """The answer's ``data`` records and its ``info`` object (``{}`` when it has none).
    ``body``: bytes, or the memory mapping a read's answer arrives in (_http.read_body)."""
    if len(body) > 2 * piece and body[: len(_HEAD)] == _HEAD:
        got = _in_pieces(body, piece)
        if got is not None:
            return got
    with memoryview(body) as view:
        data = orjson.loads(view) or {}
    return data.get("data") or [], data.get("info") or {}


def _in_pieces(body: Body, piece: int) -> tuple[list[Any], dict[str, Any]] | None:
    end = body.rfind(_TAIL)
    if end < 0:
        return None
    try:
        rest = orjson.loads(b"{" + body[end + 2 :])  # '"info":{...}}' as an object of its own
    except orjson.JSONDecodeError:
        return None
    if not isinstance(rest, dict):
        return None
    rows: list[Any] = []
    start = len(_HEAD)
    sep = _separator(body, start)
    while start < end:
        cut = body.find(sep, start + piece, end) if start + piece < end else -1
        for _ in range(RETRIES):
            stop = end if cut < 0 else cut + 1
            try:
                part = orjson.loads(b"[" + body[start:stop] + b"]")
                break
            except orjson.JSONDecodeError:
                if cut < 0:
                    return None
                cut = body.find(sep, cut + 1, end)  # that cut was inside a record: try the next
        else:
            return None
        rows.extend(part)
        start = stop + 1  # past the comma between the two records
    return rows, rest.get("info") or {}


def _separator(body: Body, start: int) -> bytes:
    """What lies between two records: ``}`` ``,`` and the opening of the first record up to its
    first key (``},{"Owner":``), as every record of one answer begins with the same key; cuts
    then rarely fall inside a record's own objects (a Tag list's ``},{"name":``)."""
    colon = body.find(b'":', start, start + 128)
    opener = body[start : colon + 2] if colon > 0 else b""
    if opener.startswith(b'{"') and b"\\" not in opener and b'"' not in opener[2:-2]:
        return b"}," + opener
    return b"},{"


__all__ = ["rows_and_info", "PIECE"]
