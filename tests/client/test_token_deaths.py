"""Access tokens that die mid-run, several times, while requests are in flight in parallel: the run
goes on, nothing fails, no record is failed or unknown, and each death costs one refresh (not one
per thread that saw it). The emulator's ``token_death`` fault kills every live access token as the
Nth matching request arrives; the client is the real SDK over real HTTP, tokens in memory or in a
real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from sergas_nb.client import ZohoClient, connect
from sergas_nb.edits.journal import Journal
from sergas_nb.edits.plans import EditPlan
from sergas_nb.emulator import LocalZoho
from sergas_nb.emulator.state import metadata

pytestmark = pytest.mark.slow


@pytest.fixture
def big(fresh_emulator: LocalZoho) -> Iterator[LocalZoho]:
    """The session emulator with 20,000 accounts; back to its seed afterwards."""
    fresh_emulator.control.reseed(accounts=20_000)
    yield fresh_emulator
    fresh_emulator.control.reset()


@pytest.fixture
def crm(fresh_emulator: LocalZoho) -> Iterator[ZohoClient]:
    client = connect(emulator=fresh_emulator, env_file=None, backoff=0.01)
    yield client
    client.close()


def _refreshes(z: LocalZoho) -> int:
    return int(z.oauth.stats()["refresh_token"])


def _deaths(z: LocalZoho) -> int:
    return int(z.control.stats()["token_deaths"])


def _forced(crm: ZohoClient) -> int:
    m = crm.metrics()
    return int(((m["kind"] == "token_refresh") & (m["status"] == "forced")).sum())


def test_a_parallel_read_of_20000_records_survives_three_token_deaths(big: LocalZoho) -> None:
    with connect(emulator=big, env_file=None, backoff=0.01) as crm:
        crm.fields("Accounts")
        before = _refreshes(big)
        # pages, the count, the id range and the COQL partitions all go out 10 or 20 at a time
        big.control.add_fault("token_death", path="^/crm/v8/(Accounts|coql)", every=8, count=3)
        df = crm.records("Accounts", fields=["Account_Name", "Owner"], progress=False)
        assert len(df) == 20_000 and df["id"].is_unique
        deaths = _deaths(big)  # a fault firing while the token is already dead kills nothing
        assert deaths >= 2
        assert _refreshes(big) - before == deaths  # one per death, however many threads saw it
        assert _forced(crm) == deaths


def test_a_parallel_update_of_4999_records_survives_three_token_deaths(big: LocalZoho, crm: ZohoClient) -> None:
    ids = list(crm.records("Accounts", fields=["Account_Name"], limit=4_999, progress=False)["id"])
    before = _refreshes(big)
    big.control.add_fault("token_death", path="^/crm/v8/Accounts$", method="PUT", every=12, count=3)
    result = crm.update(
        "Accounts",
        pd.DataFrame({"id": ids, "Description": "survived token deaths"}),
        method="batches",
        max_in_flight=10,
        progress=False,
    )
    assert (result.succeeded, result.failed, result.unknown) == (4_999, 0, 0)
    deaths = _deaths(big)
    assert deaths >= 2
    assert _refreshes(big) - before == deaths
    now = crm.records("Accounts", fields=["Description"], progress=False)
    assert set(now.loc[now["Description"] == "survived token deaths", "id"]) == set(ids)
    assert 50 < big.control.requests_to("/crm/v8/Accounts", "PUT") <= 50 + 3 * 10  # at most 10 again a death


def test_a_journalled_plan_apply_survives_token_deaths_with_tokens_in_postgres(
    fresh_emulator: LocalZoho, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.chdir(tmp_path)
    z = fresh_emulator
    with connect(emulator=z, env_file=None, database_url=database_url, backoff=0.01) as crm:
        frame = crm.records("Accounts", fields=["Description"], limit=1_000, progress=False)
        plan = EditPlan.from_frame(
            frame, "Description", "planned through token deaths", fields=metadata.fields_for("Accounts")
        )
        before = _refreshes(z)
        z.control.add_fault("token_death", path="^/crm/v8/(Accounts|coql)$", every=4, count=3)
        result = plan.apply(crm, journal=database_url, progress=False)
        assert (result.succeeded, result.failed) == (plan.to_change, 0)
        deaths = _deaths(z)
        assert deaths >= 2
        assert _refreshes(z) - before == deaths
        entries = Journal(database_url).entries(plan.plan_id)
        assert len(entries) == plan.to_change and set(entries["status"]) == {"success"}
        now = crm.records("Accounts", fields=["Description"], progress=False)
        assert set(now.loc[now["Description"] == "planned through token deaths", "id"]) == set(plan.diff()["id"])


def test_a_bulk_write_survives_a_token_death_at_every_step(fresh_emulator: LocalZoho, crm: ZohoClient) -> None:
    z = fresh_emulator
    ids = list(crm.records("Accounts", fields=["Account_Name"], limit=600, progress=False)["id"])
    before = _refreshes(z)
    for method, path in [
        ("POST", r"^/crm/v8/upload$"),  # the file
        ("POST", r"^/crm/bulk/v8/write$"),  # the job
        ("GET", r"^/crm/bulk/v8/write/\d+$"),  # its status
        ("GET", r"/bulk-write/\d+/\d+\.zip$"),  # its result file, on the download host
    ]:
        z.control.add_fault("token_death", path=path, method=method)
    result = crm.update(
        "Accounts", pd.DataFrame({"id": ids, "Description": "bulk written through token deaths"}), method="bulk_write"
    )
    assert (result.succeeded, result.failed, result.unknown) == (600, 0, 0)
    assert _deaths(z) == 4
    assert _refreshes(z) - before == 4
    m = crm.metrics()
    assert (m.loc[m["kind"] == "write_method", "status"] == "bulk_write").all()  # no fallback to batches


def test_a_token_rejected_right_after_every_refresh_is_final(fresh_emulator: LocalZoho, crm: ZohoClient) -> None:
    """Zoho refusing fresh tokens is not a death to survive: the call ends, after three refreshes."""
    from sergas_nb.errors import ZohoAuthError

    z = fresh_emulator
    crm.fields("Accounts")
    before = _refreshes(z)
    z.control.add_fault("token_death", path="^/crm/v8/Accounts$", method="GET", count=50)
    with pytest.raises(ZohoAuthError, match="still rejected after a token refresh"):
        crm.records("Accounts", limit=5)
    assert _refreshes(z) - before == 3
