"""Where a bulk job's ``download_url`` may send the access token.

Zoho answers two shapes: Bulk Read gives a path relative to the API host
("/crm/bulk/v7/read/{id}/result", https://www.zoho.com/crm/developer/docs/api/v7/bulk-read/job-details.html),
Bulk Write an absolute URL on a download host
(https://download-accl.zoho.com/v2/crm/6735/bulk-write/347706122009/347706122009.zip,
https://www.zoho.com/crm/developer/docs/api/v8/bulk-write/download-result.html). The download is
sent with the access token, so the value decides where the token goes: a relative one must stay a
path on the API host (``@evil.example/x`` glued to the host would name another), an absolute one
must be on one of the data centre's download hosts (``Endpoints.download_hosts``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sergas_nb.config import Endpoints
from sergas_nb.errors import ZohoAPIError, ZohoConfigError

UNSAFE = "UNSAFE_DOWNLOAD_URL"


def _origin(url: str) -> tuple[str, str, int]:
    p = urlsplit(url)
    return p.scheme.lower(), (p.hostname or "").lower(), p.port or (443 if p.scheme.lower() == "https" else 80)


def download_target(endpoints: Endpoints, value: object, fallback_path: str) -> str:
    """The URL to GET for ``value`` (``fallback_path`` when Zoho gave none); ZohoAPIError when unsafe.

    Checked before anything is sent. An absolute URL against an emulator whose download host was
    not configured is a ZohoConfigError naming ``ZOHO_SDK_LOCAL_DOWNLOAD_URL``.
    """
    text = str(value) if value else fallback_path
    if any(c in text for c in "\\\r\n\t ") or not text.isprintable():
        raise ZohoAPIError(f"refused download_url {text[:200]!r}: it holds characters no URL has", code=UNSAFE)
    parts = urlsplit(text)
    if parts.scheme or parts.netloc:
        if not endpoints.download_hosts:
            raise ZohoConfigError(
                {"ZOHO_SDK_LOCAL_DOWNLOAD_URL": f"required to download {text[:200]!r} (the emulator's download host)"}
            )
        allowed = {_origin(h) for h in endpoints.download_hosts}
        if parts.username is not None or parts.password is not None or _origin(text) not in allowed:
            raise ZohoAPIError(
                f"refused download_url {text[:200]!r}: not on a download host of this data centre "
                f"({', '.join(endpoints.download_hosts)})",
                code=UNSAFE,
            )
        return text
    # Relative: a path ("/..."), never "//host" or "@host" that would join into another authority.
    if not text.startswith("/") or text.startswith("//"):
        raise ZohoAPIError(f"refused download_url {text[:200]!r}: a relative one must be a path", code=UNSAFE)
    url = endpoints.api_url.rstrip("/") + text
    if _origin(url) != _origin(endpoints.api_url):  # belt and braces: the joined URL stays on the API host
        raise ZohoAPIError(f"refused download_url {text[:200]!r}: it leaves the API host", code=UNSAFE)
    return url
