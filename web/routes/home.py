"""The caller's home: each role starts where its work is."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from api.deps import ServicesDep, SessionDep
from web.pages import page_router, see_other
from web.session import session_user

router = page_router()
HOMES = {
    "owner": "/p",
    "agent": "/p",
    "reviewer": "/inbox",
    "section_chief": "/dashboard",
    "office": "/dashboard",
    "leader": "/dashboard",
}


@router.get("/")
async def home(request: Request, svc: ServicesDep, db: SessionDep) -> Response:
    """Before signing in, the login form; after, the home of the caller's role."""
    user = await session_user(request, db, svc)
    return see_other(HOMES.get(user.role, "/p") if user else "/login")
