"""Whole-module reads of Tasks, Events, Calls and Notes give one frame whatever the strategy
(issue 18): COQL partitions read the polymorphic What_Id with its module through the
``$se_module`` column, so they agree with the list API's pages and with Bulk Read. Zoho's COQL
does not serve Notes: asked for, COQL partitions of Notes are refused before anything is sent."""

from __future__ import annotations

import pandas as pd
import pytest

from sergas_nb.client import ZohoClient, connect

MODULES = {"Tasks": "What_Id", "Events": "What_Id", "Calls": "What_Id", "Notes": "Parent_Id"}
STRATEGIES = ("auto", "coql_partitions", "bulk_read")
NOT_IN_COQL = {"Notes"}


@pytest.fixture
def crm(fresh_emulator) -> ZohoClient:
    client = connect(emulator=fresh_emulator, env_file=None, backoff=0.01)
    yield client
    client.close()


def _by_id(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("id").reset_index(drop=True)


@pytest.mark.parametrize("module", list(MODULES))
def test_every_strategy_reads_the_module_like_pages(crm, module):
    link = MODULES[module]
    pages = _by_id(crm.records(module, strategy="pages", progress=False))
    assert len(pages) > 0
    # The parent's module is known on every linked row (the thing COQL used to lose).
    linked = pages[pages[f"{link}.id"].notna()]
    assert len(linked) > 0 and linked[f"{link}.module"].notna().all()
    for strategy in STRATEGIES:
        if module in NOT_IN_COQL and strategy == "coql_partitions":
            continue
        df = _by_id(crm.records(module, strategy=strategy, progress=False))
        pd.testing.assert_frame_equal(df, pages, obj=f"{module} by {strategy}")
    m = crm.metrics()
    used = set(m.loc[m["kind"] == "read_strategy", "status"])
    assert ("coql_partitions" in used) is (module not in NOT_IN_COQL)


def test_coql_partitions_of_notes_are_refused_before_sending(crm, fresh_emulator):
    from sergas_nb.errors import ZohoValidationError

    crm.fields("Notes")
    with pytest.raises(ZohoValidationError, match="COQL does not serve the Notes module"):
        crm.records("Notes", strategy="coql_partitions", progress=False)
    assert fresh_emulator.control.requests_to("/crm/v8/coql") == 0


def test_coql_partitions_of_the_link_alone_keep_its_module(crm):
    pages = _by_id(crm.records("Tasks", fields=["What_Id"], strategy="pages", progress=False))
    coql = _by_id(crm.records("Tasks", fields=["What_Id"], strategy="coql_partitions", progress=False))
    pd.testing.assert_frame_equal(coql, pages)
    assert set(coql["What_Id.module"].dropna()) <= {"Accounts", "Deals", "Contacts", "Leads"}
