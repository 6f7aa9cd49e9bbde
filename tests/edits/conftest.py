"""What the plan tests share: a client on the test's fresh emulator, and a plan that sets Rating
to "Active" on 400 accounts (several batches of ``BATCH``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sergas_nb.client import ZohoClient, connect
from sergas_nb.edits.plans import EditPlan

BATCH = 50  # records a call in these tests: a few hundred records make several batches


@pytest.fixture
def crm(fresh_emulator) -> Iterator[ZohoClient]:
    with connect(emulator=fresh_emulator, env_file=None, backoff=0.01) as client:
        yield client


@pytest.fixture
def rating_plan(crm: ZohoClient) -> Callable[[int], EditPlan]:
    """``rating_plan(n)``: the plan, which changes more than ``n`` batches' worth of records."""

    def make(min_batches: int) -> EditPlan:
        selected = crm.records("Accounts", fields=["Rating"], limit=400)
        plan = EditPlan.from_frame(selected, "Rating", "Active", fields=crm.fields("Accounts"))
        assert plan.to_change > min_batches * BATCH
        return plan

    return make
