"""Mirror fixtures: the session emulator reseeded small (syncs and full reads stay quick), a client."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from sergas_nb import connect
from sergas_nb.client import ZohoClient
from sergas_nb.emulator import LocalZoho

ACCOUNTS = 120
MODULES = ["Accounts", "Deals"]


@pytest.fixture
def small_org(fresh_emulator: LocalZoho) -> Iterator[LocalZoho]:
    fresh_emulator.control.reseed(seed=7, accounts=ACCOUNTS)
    yield fresh_emulator
    fresh_emulator.control.reset()  # custom fields and the session's seed come back


@pytest.fixture
def crm(small_org: LocalZoho) -> Iterator[ZohoClient]:
    client = connect(emulator=small_org, env_file=None, backoff=0.01)
    yield client
    client.close()


def by_id(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("id").reset_index(drop=True)


def assert_mirrors(m, crm: ZohoClient, modules=MODULES) -> None:
    """The mirror equals a fresh full read of each module (rows sorted by id)."""
    for module in modules:
        assert_frame_equal(by_id(m.frame(module)), by_id(crm.records(module)), obj=module)
