"""Users and org: GET /crm/v8/users[?type=...], /crm/v8/users/{id}, /crm/v8/org."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sergas_nb.emulator.errors import EmulatorError
from sergas_nb.emulator.routes.common import crm, int_param, json_response, no_content

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


@crm
async def list_users(request: Request, emu: Any, grant: Any) -> Response:
    kind = request.query_params.get("type") or "AllUsers"
    if kind not in USER_TYPES:
        raise EmulatorError(
            "INVALID_DATA", "invalid data", {"param_name": "type", "supported_values": list(USER_TYPES)}
        )
    per_page = int_param(request, "per_page", 200, 1, 200)
    page = int_param(request, "page", 1, 1)
    emu.limits.charge(1)
    store = emu.store
    users = store.users
    if kind == "CurrentUser":
        users = [store.current_user(grant.user_email)]
    elif kind in ("AdminUsers", "ActiveConfirmedAdmins"):
        users = [u for u in users if u["profile"]["name"] == "Administrator"]
    elif kind in ("DeactiveUsers", "NotConfirmedUsers", "DeletedUsers"):
        users = []
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
async def get_user(request: Request, emu: Any, grant: Any) -> Response:
    emu.limits.charge(1)
    user = emu.store.users_by_id.get(request.path_params["user"])
    if user is None:
        return no_content()
    # users.json's Response_Wrapper requires the paging info even for a single user.
    return json_response({"users": [user], "info": {"per_page": 200, "count": 1, "page": 1, "more_records": False}})


@crm
async def get_org(request: Request, emu: Any, grant: Any) -> Response:
    emu.limits.charge(1)
    await emu.faults.delay()
    return json_response({"org": [emu.store.org]})


def routes() -> list[Route]:
    return [
        Route("/crm/v8/users", list_users, methods=["GET"]),
        Route("/crm/v8/users/{user}", get_user, methods=["GET"]),
        Route("/crm/v8/org", get_org, methods=["GET"]),
    ]
