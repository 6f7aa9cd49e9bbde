"""Users and org: GET /crm/v8/users[?type=...], /crm/v8/users/{id}, /crm/v8/users/actions/count and
/crm/v8/org. User administration and the org photo are in routes/unsupported.py.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sergas_nb.emulator.errors import EmulatorError
from sergas_nb.emulator.routes.common import (
    crm,
    emulator,
    int_param,
    json_response,
    no_content,
    user_email,
)

USER_TYPES = (
    "AllUsers",
    "ActiveUsers",
    "DeactiveUsers",
    "ConfirmedUsers",
    "NotConfirmedUsers",
    "DeletedUsers",
    "ActiveConfirmedUsers",
    "AdminUsers",
    "ActiveConfirmedAdmins",
    "CurrentUser",
)


def _user_type(request: Request) -> str:
    kind = request.query_params.get("type") or "AllUsers"
    if kind not in USER_TYPES:
        raise EmulatorError(
            "INVALID_DATA", "invalid data", {"param_name": "type", "supported_values": list(USER_TYPES)}
        )
    return kind


@crm
async def list_users(request: Request) -> Response:
    emu = emulator(request)
    kind = _user_type(request)
    per_page = int_param(request, "per_page", 200, 1, 200)
    page = int_param(request, "page", 1, 1)
    emu.limits.charge(1)
    users = emu.store.users(kind, user_email(request))
    chunk = users[(page - 1) * per_page : page * per_page]
    await emu.faults.delay()
    if not chunk:
        return no_content()
    return json_response(
        {
            "users": chunk,
            "info": {
                "per_page": per_page,
                "count": len(chunk),
                "page": page,
                "more_records": page * per_page < len(users),
            },
        }
    )


@crm
async def count_users(request: Request) -> Response:
    emu = emulator(request)
    kind = _user_type(request)
    emu.limits.charge(1)
    n = len(emu.store.users(kind, user_email(request)))
    await emu.faults.delay()
    # users.json types this count as a string (unlike Record Count); the SDK's Integer reads either.
    return json_response({"count": str(n)})


@crm
async def get_user(request: Request) -> Response:
    emu = emulator(request)
    emu.limits.charge(1)
    user = emu.store.user(request.path_params["user"])
    if user is None:
        return no_content()
    # users.json's Response_Wrapper requires the paging info even for a single user.
    return json_response({"users": [user], "info": {"per_page": 200, "count": 1, "page": 1, "more_records": False}})


@crm
async def get_org(request: Request) -> Response:
    emu = emulator(request)
    emu.limits.charge(1)
    await emu.faults.delay()
    return json_response({"org": [emu.store.org()]})


def routes() -> list[Route]:
    """Fixed segments (actions/count) before /{user}."""
    return [
        Route("/crm/v8/users/actions/count", count_users, methods=["GET"]),
        Route("/crm/v8/users", list_users, methods=["GET"]),
        Route("/crm/v8/users/{user}", get_user, methods=["GET"]),
        Route("/crm/v8/org", get_org, methods=["GET"]),
    ]
