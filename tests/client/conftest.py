"""The client most write tests use: a fresh emulator, short backoff, two retries."""

from __future__ import annotations

import pytest

from sergas_nb.client import ZohoClient, connect


@pytest.fixture
def crm(fresh_emulator) -> ZohoClient:
    client = connect(emulator=fresh_emulator, env_file=None, backoff=0.01, retries=2)
    yield client
    client.close()
