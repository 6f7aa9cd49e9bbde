"""Narrow field lists through every read strategy: ids alone, one field, and lookups alone give the
same rows as a direct read of the list API (issue 16: ``fields=["id"]`` past 2,000 records built
``select  from Accounts`` and failed with SYNTAX_ERROR)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from sergas_nb.client import ZohoClient, connect
from tests.fixtures.emulator import SESSION_ACCOUNTS

STRATEGIES = ("auto", "pages", "coql_partitions", "bulk_read")
FIELD_LISTS = {
    "id only": ["id"],
    "one field": ["Account_Name"],
    "lookups only": ["Owner", "Parent_Account"],
}


@pytest.fixture
def crm(fresh_emulator) -> ZohoClient:
    client = connect(emulator=fresh_emulator, env_file=None, backoff=0.01)
    yield client
    client.close()


def _direct(api: Any, fields: list[str]) -> pd.DataFrame:
    """Every record by the plain list API (pages, then page tokens), lookups flattened to X.name/X.id[/X.email]."""
    rows: list[dict[str, Any]] = []
    page, token = 1, None
    while True:
        params: dict[str, Any] = {"fields": ",".join(fields), "per_page": 200}
        params.update({"page_token": token} if token else {"page": page})
        body = api.get("/Accounts", params=params).json()
        for r in body["data"]:
            flat: dict[str, Any] = {"id": r["id"]}
            for f in fields:
                if f == "id":
                    continue
                value = r.get(f)
                if value is None:  # an empty lookup: its X.name/X.id come from the rows that hold one
                    continue
                if isinstance(value, dict):
                    flat.update({f"{f}.{k}": v for k, v in value.items()})
                else:
                    flat[f] = value
            rows.append(flat)
        info = body["info"]
        if not info["more_records"]:
            break
        page += 1
        if page * 200 > 2000:
            token = info["next_page_token"]
    return pd.DataFrame(rows)


def _comparable(df: pd.DataFrame) -> pd.DataFrame:
    """Values as text (or None), rows by id: what the user sees, whatever the dtypes."""
    out = df.astype(object).where(df.notna(), None)
    out = out.map(lambda v: None if v is None else str(v))
    return out.sort_values("id").reset_index(drop=True)


@pytest.mark.parametrize("label", list(FIELD_LISTS))
def test_every_strategy_reads_a_narrow_field_list_like_a_direct_read(crm, api, label):
    fields = FIELD_LISTS[label]
    direct = _direct(api, fields)
    assert len(direct) == SESSION_ACCOUNTS  # past 2,000: auto reads the rest by COQL partitions
    for strategy in STRATEGIES:
        df = crm.records("Accounts", fields=fields, strategy=strategy, progress=False)
        assert df["id"].is_unique, strategy
        assert set(df.columns) <= set(direct.columns), (strategy, list(df.columns))
        assert len(df.columns) == len(direct.columns), (strategy, list(df.columns), list(direct.columns))
        pd.testing.assert_frame_equal(_comparable(df), _comparable(direct[list(df.columns)]), obj=f"{strategy} {label}")
    m = crm.metrics()
    assert list(m.loc[m["kind"] == "read_strategy", "status"]) == [
        "coql_partitions",
        "pages",
        "coql_partitions",
        "bulk_read",
    ]


def test_id_only_read_with_a_condition_matches_the_full_read(crm):
    where = "Industry = 'Technology'"
    full = crm.records("Accounts", fields=["Industry"], where=where, progress=False)
    for strategy in ("auto", "pages", "coql_partitions"):
        ids = crm.records("Accounts", fields=["id"], where=where, strategy=strategy, progress=False)
        assert list(ids.columns) == ["id"], strategy
        assert ids["id"].tolist() == full["id"].tolist(), strategy
    assert len(full) > 0
