"""No token or client secret in anything the suite logged (SDK, urllib3 and our own loggers, DEBUG)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.leaks import find_leaks


@pytest.mark.last
def test_the_suite_log_holds_no_secret(request, emulator):
    log_file = Path(request.config.rootpath) / request.config.getini("log_file")
    text = log_file.read_text(errors="replace")
    assert len(text) > 1000, "the suite log is unexpectedly empty: is log_file configured?"
    leaks = find_leaks(text, [emulator.client_secret, emulator.refresh_token])
    assert not leaks, leaks[:10]
