"""Zoho's host roles, served by the emulator on separate loopback ports.

Zoho splits one data centre over several hosts, and a client that sends a call to the wrong one
fails on its first real day, so the emulator splits them too:

- ``api``: the CRM API (``www.zohoapis.com``), the accounts server's OAuth routes and the
  emulator's own ``/__emulator__`` controls;
- ``content``: the file upload host, where Bulk Write's zipped CSV goes. Zoho's pages name it
  ``content.zohoapis.com`` (https://www.zoho.com/crm/developer/docs/api/v7/bulk-write/upload-file.html,
  and the SDKs' data-centre classes); the newest revision of the page names ``upload.zoho.com`` with
  ``upload-accl.zoho.{com,eu,in}`` as faster ones
  (https://www.zoho.com/crm/developer/docs/api/v8/bulk-write/upload-file.html). Either way it is
  not the API host;
- ``download``: the host Bulk Write results come from (``download-accl.zoho.com``; the
  ``download_url`` of https://www.zoho.com/crm/developer/docs/api/v8/bulk-write/download-result.html
  is ``https://download-accl.zoho.com/v2/crm/6735/bulk-write/347706122009/347706122009.zip``).

uvicorn listens on one socket per role; ``ByPort`` sends each connection to its role's app by the
local port it arrived on (``scope["server"]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

API = "api"
CONTENT = "content"
DOWNLOAD = "download"
ROLES = (API, CONTENT, DOWNLOAD)


def bulk_write_result_path(org: str, job_id: str) -> str:
    """Where the download host serves a Bulk Write job's result, shaped like Zoho's sample URL."""
    return f"/v2/crm/{org}/bulk-write/{job_id}/{job_id}.zip"


class ByPort:
    """An ASGI app sending each request to the app of the port (host role) it arrived on."""

    def __init__(self, apps: Mapping[int, Any]) -> None:
        self.apps = dict(apps)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        server = scope.get("server") or (None, -1)
        app = self.apps.get(int(server[1] or -1)) if scope["type"] in ("http", "websocket") else None
        if app is None:
            if scope["type"] == "lifespan":  # lifespan is off in server.py; answered for completeness
                return
            # A port we do not serve (uvicorn only listens on ours): refuse rather than guess a role.
            await send({"type": "http.response.start", "status": 421, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await app(scope, receive, send)
