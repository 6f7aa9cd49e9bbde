"""A read's answer bodies arrive in memory mappings of their own (_http.read_body), read from the
real HTTP stream in pieces: the same bytes as a plain read, whether the server gave a
Content-Length or the body had to grow as it came."""

from __future__ import annotations

import mmap

import orjson
import pytest
import requests

from sergas_nb._http import FIRST_CAPACITY, read_body
from sergas_nb.client import ZohoClient, connect
from tests.fixtures.emulator import refresh_access_token

QUERY = "select Account_Name, Description, Owner, Annual_Revenue from Accounts where id is not null limit 2000"


@pytest.fixture
def answer(fresh_emulator) -> tuple[requests.Session, str, dict[str, str]]:
    headers = {"Authorization": f"Zoho-oauthtoken {refresh_access_token(fresh_emulator)}"}
    with requests.Session() as s:
        yield s, fresh_emulator.url + "/crm/v8/coql", headers


@pytest.mark.parametrize("known_length", [True, False])
def test_a_body_read_in_pieces_is_the_whole_answer(answer, known_length: bool) -> None:
    session, url, headers = answer
    whole = session.post(url, json={"select_query": QUERY}, headers=headers).content
    assert len(whole) > FIRST_CAPACITY  # the mapping grows when no length is given
    resp = session.post(url, json={"select_query": QUERY}, headers=headers, stream=True)
    length = int(resp.headers["Content-Length"]) if known_length and "Content-Length" in resp.headers else None
    body = read_body(resp.raw, length)
    resp.close()
    assert isinstance(body, mmap.mmap)
    assert len(body) == len(whole) and body[:] == whole


def test_pipeline_bodies_parse_like_the_json_answer(fresh_emulator) -> None:
    crm: ZohoClient = connect(emulator=fresh_emulator, env_file=None)
    try:
        p = crm._pipeline
        raw = p.http_bytes("POST", "/crm/v8/coql", json_body={"select_query": QUERY})
        parsed = p.http("POST", "/crm/v8/coql", json_body={"select_query": QUERY})
        assert raw is not None
        with memoryview(raw) as view:
            assert orjson.loads(view) == parsed
    finally:
        crm.close()
