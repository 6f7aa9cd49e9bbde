"""The records of one large JSON answer (``{"data":[...],"info":{...}}``), parsed a piece at a time.

orjson parses a whole document into its own tree before it builds the Python objects: for a
2.5 MB COQL answer of 1,800 records that tree peaks near 30 MB, three times the records it
gives (measured with tracemalloc: 38 MB peak, 8.8 MB kept). Parsed in pieces of about
``PIECE`` bytes, the tree of one piece is all that lives beside the records.

The answer is cut only between two records (``},{``) and each piece is parsed as a JSON array
of its own. A cut that falls anywhere else (inside a string, or between two objects of an array
inside a record) leaves an unclosed string or bracket in the piece before it, so that piece does
not parse: then the next candidate cut is tried, and after ``RETRIES`` the rest of the answer
is parsed at once. Answers in any other layout (spaced JSON, other keys first) are parsed whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from sergas_nb._http import Body
from sergas_nb.errors import ZohoAPIError

PIECE = 256 * 1024
RETRIES = 4  # cuts tried per piece before the whole answer is parsed at once
_HEAD = b'{"data":['
_TAIL = b'],"info":'


def rows_and_info(body: Body, piece: int = PIECE) -> tuple[list[Any], dict[str, Any]]:
    """The answer's ``data`` records and its ``info`` object (``{}`` when it has none).
    ``body``: bytes, or the memory mapping a read's answer arrives in (_http.read_body)."""
    pieces, info = rows_in_pieces(body, piece)
    rows: list[Any] = []
    for part in pieces:
        rows.extend(part)
    return rows, info


def rows_in_pieces(body: Body, piece: int = PIECE) -> tuple[Iterator[list[Any]], dict[str, Any]]:
    """The answer's records as lists of about ``piece`` bytes of JSON each, parsed as they are
    taken (so a caller that lets each list go holds one piece's dicts at a time), and its
    ``info``. A small answer, or one in another layout, is one list."""
    if len(body) > 2 * piece and body[: len(_HEAD)] == _HEAD:
        end = body.rfind(_TAIL)
        if end >= 0:
            try:
                rest = orjson.loads(b"{" + body[end + 2 :])  # '"info":{...}}' as an object of its own
            except orjson.JSONDecodeError:
                rest = None
            if isinstance(rest, dict):
                return _in_pieces(body, piece, end), rest.get("info") or {}
    try:
        with memoryview(body) as view:
            data = orjson.loads(view) or {}
    except orjson.JSONDecodeError as exc:
        raise _malformed(exc) from None
    if not isinstance(data, dict):
        raise ZohoAPIError("the answer is not a JSON object", code="MALFORMED_RESPONSE", status=200)
    return iter([data.get("data") or []]), data.get("info") or {}


def _malformed(exc: orjson.JSONDecodeError) -> ZohoAPIError:
    # Zoho's own words are gone: say where the JSON broke, never the text (it holds records).
    return ZohoAPIError(f"the answer's JSON does not parse at byte {exc.pos}", code="MALFORMED_RESPONSE", status=200)


def _in_pieces(body: Body, piece: int, end: int) -> Iterator[list[Any]]:
    start = len(_HEAD)
    sep = _separator(body, start)
    while start < end:
        cut = body.find(sep, start + piece, end) if start + piece < end else -1
        part: list[Any] | None = None
        for _ in range(RETRIES):
            stop = end if cut < 0 else cut + 1
            try:
                part = orjson.loads(b"[" + body[start:stop] + b"]")
                break
            except orjson.JSONDecodeError:
                if cut < 0:  # the last piece: the answer itself is broken
                    raise ZohoAPIError(
                        "the answer's JSON does not parse", code="MALFORMED_RESPONSE", status=200
                    ) from None
                cut = body.find(sep, cut + 1, end)  # that cut was inside a record: try the next
        if part is None:  # no cut near here falls between records: the rest at once
            stop = end
            try:
                part = orjson.loads(b"[" + body[start:stop] + b"]")
            except orjson.JSONDecodeError as exc:
                raise _malformed(exc) from None
        yield part
        del part
        start = stop + 1  # past the comma between the two records


def _separator(body: Body, start: int) -> bytes:
    """What lies between two records: ``}`` ``,`` and the opening of the first record up to its
    first key (``},{"Owner":``), as every record of one answer begins with the same key; cuts
    then rarely fall inside a record's own objects (a Tag list's ``},{"name":``)."""
    colon = body.find(b'":', start, start + 128)
    opener = body[start : colon + 2] if colon > 0 else b""
    if opener.startswith(b'{"') and b"\\" not in opener and b'"' not in opener[2:-2]:
        return b"}," + opener
    return b"},{"


__all__ = ["rows_and_info", "rows_in_pieces", "PIECE"]
