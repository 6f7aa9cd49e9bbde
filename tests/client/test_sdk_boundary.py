"""The one SDK boundary (_sdk.py): the transport swap and its undo, and typed transport failures."""

from __future__ import annotations

import importlib
import os
import socket

import pytest
import requests

from sergas_nb import _sdk
from sergas_nb._http import RequestsShim, transport_error
from sergas_nb.errors import ZohoNotSentError, ZohoOutcomeUnknownError

SDK_HTTP = "zohocrmsdk.src.com.zoho.crm.api.util.api_http_connector"


def test_the_sdks_own_transport_comes_back_for_a_block_and_ours_after():
    shim = _sdk.install_sdk_transport()
    module = importlib.import_module(SDK_HTTP)
    assert module.requests is shim and isinstance(shim, RequestsShim)
    with _sdk.sdk_own_transport():
        assert module.requests is requests
    assert module.requests is shim


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_refused_connection_is_typed_not_sent():
    with pytest.raises(requests.RequestException) as exc:
        requests.get(f"http://127.0.0.1:{_free_port()}/", timeout=2)
    err = transport_error(exc.value, "GET /")
    assert isinstance(err, ZohoNotSentError) and not err.may_have_applied


def test_unresolvable_host_is_typed_not_sent():
    with pytest.raises(requests.RequestException) as exc:
        requests.get("http://no-such-host.invalid/", timeout=2)
    assert isinstance(transport_error(exc.value, "GET /"), ZohoNotSentError)


def test_read_timeout_after_sending_is_typed_outcome_unknown():
    with socket.socket() as server:  # accepts the connection, never answers
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        with pytest.raises(requests.RequestException) as exc:
            requests.put(f"http://127.0.0.1:{port}/", data=b"x", timeout=(2, 0.3))
    err = transport_error(exc.value, "PUT /")
    assert isinstance(err, ZohoOutcomeUnknownError) and err.may_have_applied
    assert "may have been applied" in str(err)


def test_each_process_has_its_own_sdk_metadata_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(_sdk, "_process_dirs", {})
    first = _sdk.resource_dir_for("http://a", "client")
    assert _sdk.resource_dir_for("http://a", "client") == first  # one per process
    assert f"pid{os.getpid()}-" in first
    assert _sdk.resource_dir_for("http://b", "client") != first
