"""Zoho operations the emulator does not implement, each answered as Zoho answers an unsupported call.

Without these entries their paths would fall into the generic ``/{module}[/{id}]`` routes and come
back as ``INVALID_MODULE``, which tells a client the module name is wrong. Here they answer
``API_NOT_SUPPORTED`` (common.json's UnsupportedVersionError) instead. Why each is left out:

- user administration (create, update, delete users): changes who can sign in, not CRM data; an
  analyst's notebook never needs it, and the token scopes the toolkit asks for are ``users.READ``.
- the org photo (read, upload, delete): an image, nothing a data notebook reads.
- module and field setup (create/update custom modules and fields): changes the org's schema, which
  the emulator keeps fixed so every notebook sees the same metadata.
- per-record photos, mass update, territories, rich-text fetch, clone: record actions the toolkit
  does not call (it writes with insert/update/upsert and reads lists, search, COQL and counts).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sergas_nb.emulator.routes.common import crm, unsupported

# (path, methods): one entry per path, methods as Zoho's OpenAPI files document them.
UNSUPPORTED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("/crm/v8/users", ("POST", "PUT")),
    ("/crm/v8/users/{user}", ("PUT", "DELETE")),
    ("/crm/v8/users/{user}/actions/associated_groups", ("GET",)),
    ("/crm/v8/org/photo", ("GET", "POST", "DELETE")),
    ("/crm/v8/settings/modules", ("POST", "PUT")),
    ("/crm/v8/settings/modules/{name}", ("PUT",)),
    ("/crm/v8/settings/fields", ("POST", "PATCH")),
    ("/crm/v8/settings/fields/{field}", ("PATCH", "DELETE")),
    ("/crm/v8/{module}/{id}/photo", ("GET", "POST", "DELETE")),
    ("/crm/v8/{module}/actions/mass_update", ("GET", "POST")),
    ("/crm/v8/{module}/actions/assign_territories", ("POST",)),
    ("/crm/v8/{module}/actions/remove_territories", ("POST",)),
    ("/crm/v8/{module}/{id}/actions/assign_territories", ("POST",)),
    ("/crm/v8/{module}/{id}/actions/remove_territories", ("POST",)),
    ("/crm/v8/{module}/actions/fetch_full_data", ("GET",)),
    ("/crm/v8/{module}/{id}/actions/fetch_full_data", ("GET",)),
    ("/crm/v8/{module}/{id}/actions/clone", ("POST",)),
    ("/crm/v8/{module}/actions/count", ("POST",)),
)


@crm
async def not_supported(request: Request) -> Response:
    raise unsupported(request)


def routes() -> list[Route]:
    """Mounted before the generic record routes, so these paths never reach them."""
    return [Route(path, not_supported, methods=list(methods)) for path, methods in UNSUPPORTED]
