"""The unmodified SDK with its defaults (api_domain switch on, fields auto-refresh on) and a custom TokenStore."""

from __future__ import annotations

import copy

import requests
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.crm.api import HeaderMap, Initializer, ParameterMap, SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.fields import FieldsOperations, GetFieldsParam
from zohocrmsdk.src.com.zoho.crm.api.modules import ModulesOperations
from zohocrmsdk.src.com.zoho.crm.api.record import GetRecordsParam, RecordOperations


class MemoryStore(TokenStore):
    """The smallest TokenStore the SDK accepts: a list of copies in memory."""

    def __init__(self) -> None:
        self.tokens: list[OAuthToken] = []
        self.saves = 0

    def find_token(self, token):
        for t in self.tokens:
            if t.get_refresh_token() == token.get_refresh_token() and t.get_client_id() == token.get_client_id():
                return copy.copy(t)
        return None

    def find_token_by_id(self, id):
        return next((copy.copy(t) for t in self.tokens if t.get_id() == id), None)

    def save_token(self, token):
        self.saves += 1
        self.tokens = [t for t in self.tokens if t.get_id() != token.get_id()] + [copy.copy(token)]

    def delete_token(self, id):
        self.tokens = [t for t in self.tokens if t.get_id() != id]

    def get_tokens(self):
        return [copy.copy(t) for t in self.tokens]

    def delete_tokens(self):
        self.tokens = []


def test_sdk_defaults_with_a_custom_store_stay_on_the_emulator(fresh_emulator, tmp_path):
    z = fresh_emulator
    store = MemoryStore()
    env = DataCenter.Environment(z.url, z.token_url, z.url)
    token = OAuthToken(
        client_id=z.client_id, client_secret=z.client_secret, refresh_token=z.refresh_token, redirect_url=z.redirect_url
    )
    # SDKConfig() defaults: update_api_domain=True (the SDK moves to the token's api_domain) and
    # auto_refresh_fields=True (it reads settings/modules and every module's fields).
    Initializer.initialize(
        environment=env, token=token, store=store, sdk_config=SDKConfig(), resource_path=str(tmp_path)
    )

    modules = ModulesOperations().get_modules(ParameterMap(), HeaderMap()).get_object().get_modules()
    names = {m.get_api_name() for m in modules}
    assert {"Leads", "Accounts", "Contacts", "Deals"} <= names

    pm = ParameterMap()
    pm.add(GetFieldsParam.module, "Accounts")
    fields = {f.get_api_name(): f for f in FieldsOperations().get_fields(pm).get_object().get_fields()}
    assert fields["Health_Score"].get_data_type() == "integer"
    assert fields["Account_Status"].get_data_type() == "picklist"
    assert fields["Parent_Account"].get_lookup().get_module().get_api_name() == "Accounts"

    pm = ParameterMap()
    pm.add(GetRecordsParam.fields, "Account_Name,Annual_Revenue")
    data = RecordOperations("Accounts").get_records(pm, HeaderMap()).get_object().get_data()
    assert len(data) == 200

    # The token the SDK saved names the emulator as its API domain, and every call landed there.
    assert store.saves >= 1 and store.tokens[0].get_api_domain() == z.url
    assert Initializer.get_initializer().environment.url == z.url
    stats = z.control.stats()
    assert stats["oauth"]["refresh_token"] == 1
    assert stats["by_path"].get("/crm/v8/settings/modules", 0) >= 1
    assert requests.get(f"{z.url}/crm/v8/org", timeout=5).status_code == 401  # and auth is really checked
