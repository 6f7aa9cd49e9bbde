"""The onboarding notebook, unattended under papermill against the emulator and a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import nbformat
import psycopg
import pytest
from dotenv import dotenv_values

from sergas_nb.emulator import LocalZoho
from sergas_nb.lab.notebooks import NOTEBOOKS_DIR, NotebookError, kernel_env, run_notebook
from sergas_nb.lab.pgcluster import free_port

NOTEBOOK = NOTEBOOKS_DIR / "01_oauth_onboarding.ipynb"


@pytest.fixture(scope="module")
def onboarding_emulator():
    # The onboarding catcher needs the redirect URI on a port of its own.
    with LocalZoho(accounts=200, auto_approve=True, redirect_url=f"http://127.0.0.1:{free_port()}/callback") as z:
        yield z


@pytest.fixture
def zoho(onboarding_emulator):
    onboarding_emulator.control.reset()  # OAuth codes, tokens and counters as at start
    return onboarding_emulator


def _env(z: LocalZoho, database_url: str, env_file: Path, **extra: str) -> dict[str, str | None]:
    # No refresh token: getting one is what the notebook is for.
    return kernel_env(z, database_url, ZOHO_SDK_REFRESH_TOKEN=None, SERGAS_NB_ENV_FILE=str(env_file), **extra)


def _stored_tokens(database_url: str) -> list[tuple[str, str, str]]:
    """The stored rows, tokens decrypted (they are encrypted at rest; the kernel shares our key file)."""
    from sergas_nb._token_key import TokenCipher

    cipher = TokenCipher.from_environment()
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT user_name, refresh_token, access_token FROM zoho_tokens").fetchall()
    assert all(r[1].startswith("fernet:") and r[2].startswith("fernet:") for r in rows)
    return [(user, cipher.decrypt(refresh), cipher.decrypt(access)) for user, refresh, access in rows]


@pytest.mark.parametrize("mode", ["callback", "selfclient"])
def test_onboarding_gets_verifies_and_stores_a_refresh_token(zoho, database_url, tmp_path, mode):
    env_file = tmp_path / "onboarding.env"
    env_file.write_text("# kept\nOTHER_SETTING=1\n")
    out = tmp_path / f"01_{mode}.ipynb"

    summary = run_notebook(NOTEBOOK, out, {"mode": mode}, env=_env(zoho, database_url, env_file))

    assert summary["refresh_verified"] is True
    assert summary["user"] == zoho.user_email
    assert summary["stored_tokens"] == 1
    assert zoho.control.stats()["oauth"]["authorization_code"] == 1
    assert zoho.control.stats()["oauth"]["refresh_token"] == 1  # the verification refresh

    # The token is in PostgreSQL under the user, and it is not the emulator's pre-issued one.
    (user_name, refresh_token, access_token), = _stored_tokens(database_url)
    assert user_name.startswith(zoho.user_email + ":")
    assert refresh_token and refresh_token != zoho.refresh_token

    # .env written beside the other lines; the refresh token is the new one.
    values = dotenv_values(env_file)
    assert values["OTHER_SETTING"] == "1"
    assert values["ZOHO_SDK_REFRESH_TOKEN"] == refresh_token
    assert values["ZOHO_SDK_LOCAL_URL"] == zoho.url

    # No secret anywhere in the executed notebook.
    text = out.read_text()
    for secret in (zoho.client_secret, refresh_token, access_token):
        assert secret not in text


def test_a_wrong_client_secret_is_explained_without_showing_it(zoho, database_url, tmp_path):
    wrong = "wrong-secret-0123456789abcdef"
    out = tmp_path / "01_wrong.ipynb"
    with pytest.raises(NotebookError):
        run_notebook(NOTEBOOK, out, {"mode": "selfclient"},
                     env=_env(zoho, database_url, tmp_path / "x.env", ZOHO_SDK_CLIENT_SECRET=wrong))
    nb = nbformat.read(str(out), as_version=4)
    text = "\n".join(str(o) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "client secret does not belong to this client id" in text
    assert "ZOHO_SDK_CLIENT_SECRET" in text  # the fix names the variable
    assert wrong not in out.read_text()
    assert _stored_tokens(database_url) == []
