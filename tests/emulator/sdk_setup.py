"""The official SDK initialised against an emulator, as the SDK tests share it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zohocrmsdk.src.com.zoho.crm.api import Initializer, SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter


def initialize_sdk(emulator: Any, folder: Path, *, content_url: str | None = None) -> None:
    """``Initializer.initialize`` with the emulator's client and refresh token, a file token store
    and resources in ``folder`` (files go to ``content_url``, the API host by default)."""
    Initializer.initialize(
        environment=DataCenter.Environment(emulator.url, emulator.token_url, content_url or emulator.url),
        token=OAuthToken(
            client_id=emulator.client_id,
            client_secret=emulator.client_secret,
            refresh_token=emulator.refresh_token,
            redirect_url=emulator.redirect_url,
        ),
        store=FileStore(str(folder / "tokens.csv")),
        sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
        resource_path=str(folder),
    )
