"""Target selection for the notebooks: the emulator (named, or started here) or the real org."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from sergas_nb.client import ZohoClient, connect
from sergas_nb.errors import ZohoConfigError

if TYPE_CHECKING:
    from sergas_nb.emulator import LocalZoho

TARGETS = ("emulator", "real")


def connect_target(
    target: str = "emulator", *, accounts: int = 2500, seed: int = 42, **overrides: Any
) -> tuple[ZohoClient, LocalZoho | None]:
    """The notebooks' way in: ``(client, emulator started here or None)``.

    ``"emulator"``: the emulator the settings name (``ZOHO_SDK_LOCAL_URL``, as ``make demo`` sets it),
    or, when none is named, one started in this process with ``accounts`` and ``seed`` (call its
    ``stop()`` when done). ``"real"``: the org configured in the environment or ``.env``. Either way
    the settings must agree with the target: a real-org run never lands on the emulator, nor the
    reverse.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    if target == "emulator" and not (overrides.get("local_url") or os.environ.get("ZOHO_SDK_LOCAL_URL")):
        from sergas_nb.emulator import LocalZoho

        emulator = LocalZoho(accounts=accounts, seed=seed).start()
        try:
            return connect(emulator=emulator, env_file=None, **overrides), emulator
        except BaseException:
            emulator.stop()
            raise
    if target == "emulator":
        overrides.setdefault("region", "local")
    client = connect(**overrides)
    if (client.settings.region == "local") != (target == "emulator"):
        client.close()
        raise ZohoConfigError({"ZOHO_SDK_REGION": f"target={target!r}, but the settings point at {client.api_url}"})
    return client, None
