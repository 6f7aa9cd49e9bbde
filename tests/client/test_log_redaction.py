"""After connect(), no log output shows a secret: any logger, any handler (added later too), tracebacks."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from sergas_nb import connect
from sergas_nb._secrets import MASK


@pytest.fixture
def secret(fresh_emulator) -> Iterator[str]:
    """The client secret of a client that connect() built (and so registered for redaction)."""
    client = connect(emulator=fresh_emulator, env_file=None, backoff=0.01)
    try:
        value = client.settings.client_secret.get_secret_value()
        assert len(value) >= 6
        yield value
    finally:
        client.close()


def _capture(logger: logging.Logger) -> tuple[logging.Handler, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return handler, out


@pytest.mark.parametrize("name", ["sergas_nb.edits.some_child", "sergas_nb", "an_application.module"])
def test_a_handler_added_after_connect_shows_no_secret_in_messages_or_tracebacks(secret, name):
    logger = logging.getLogger(name)
    handler, out = _capture(logger)  # added after connect(): no filter of ours sits on it
    try:
        logger.warning("calling with client_secret %s", secret)
        logger.info(f"an f-string with {secret} inside")
        try:
            raise RuntimeError(f"the server said no to {secret}")
        except RuntimeError:
            logger.exception("the call failed")
        logger.debug("where we were", stack_info=True, extra={"note": "x"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    text = out.getvalue()
    assert secret not in text
    assert f"calling with client_secret {MASK}" in text and f"an f-string with {MASK} inside" in text
    assert "Traceback (most recent call last)" in text  # the traceback is still shown, redacted
    assert f"RuntimeError: the server said no to {MASK}" in text
    assert "where we were\nStack (most recent call last)" in text


def test_a_record_without_a_secret_is_left_as_it_was(secret, caplog):
    logger = logging.getLogger("an_application.plain")
    with caplog.at_level(logging.INFO, logger="an_application.plain"):
        try:
            raise ValueError("nothing secret here")
        except ValueError:
            logger.exception("step %d of %d", 2, 5)
    (record,) = [r for r in caplog.records if r.name == "an_application.plain"]
    assert record.msg == "step %d of %d" and record.args == (2, 5)  # structured logging keeps its args
    assert record.exc_info is not None and record.exc_info[0] is ValueError
    assert "ValueError: nothing secret here" in caplog.text


def test_a_malformed_log_call_reports_the_error_without_the_secret(secret, capsys):
    logger = logging.getLogger("an_application.broken")
    logger.propagate = False  # pytest's own capture handler raises on a logging error instead of reporting it
    handler, out = _capture(logger)
    try:
        logger.error("two placeholders %s %s, one value", secret)  # logging prints "--- Logging error ---"
    finally:
        logger.propagate = True
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    err = capsys.readouterr().err
    assert "Logging error" in err and secret not in err and secret not in out.getvalue()
