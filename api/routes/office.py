"""Catalog, working-day calendar, inbox, statistics and health."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from api.commands import CommandsDep
from api.deps import ServicesDep, SessionDep, UserDep, actor_of, allowed
from api.errors import refusals
from api.health import dependency_checks
from api.office import calendar_year, category_out, replace_calendar_year
from api.queries import inbox_page, statistics
from api.schemas import CalendarOut, CalendarYear, Limit, TaskCursor, TaskPage
from domain.catalog import DEPARTMENTS
from models.catalog_store import effective_catalog
from models.tables import UserRow

router = APIRouter()
Year = Annotated[int, Path(ge=2000, le=2100, description="a calendar year")]
Manager = Annotated[UserRow, allowed("manage")]


@router.get("/catalog", tags=["catalog"])
async def get_catalog(user: UserDep, db: SessionDep) -> dict[str, Any]:
    """Categories with their stages, steps, departments, modes and limits."""
    catalog = await effective_catalog(db)
    return {
        "departments": DEPARTMENTS,
        "categories": [category_out(c) for c in catalog.categories],
    }


@router.get("/calendar/{year}", response_model=CalendarOut, tags=["calendar"])
async def get_calendar(year: Year, user: UserDep, db: SessionDep) -> CalendarOut:
    """The year's holidays and make-up working days; a year not loaded is the provisional fallback."""
    return await calendar_year(db, year)


@router.put(
    "/calendar/{year}",
    response_model=CalendarOut,
    tags=["calendar"],
    responses=refusals("forbidden_role", "invalid_calendar", "temporal_unavailable"),
)
async def put_calendar(
    year: Year, body: CalendarYear, user: Manager, svc: ServicesDep, db: SessionDep, send: CommandsDep
) -> CalendarOut:
    """The office loads a year's arrangement as published by the State Council; it replaces the year.

    Every project with a clock reaching into the year is then told, so its deadlines are counted
    again at once (a moved deadline shows in its timeline).
    """
    return await replace_calendar_year(db, svc.calendar, send, year, body, user.username)


@router.get("/tasks", response_model=TaskPage, tags=["tasks"])
async def get_tasks(user: UserDep, db: SessionDep, limit: Limit = 50, cursor: TaskCursor = None) -> TaskPage:
    """The caller's inbox: what waits on the caller now, soonest deadline first, a page at a time."""
    items, next_cursor = await inbox_page(db, actor_of(user), limit, cursor)
    return TaskPage(items=items, next_cursor=next_cursor)


@router.get("/stats", tags=["stats"], responses=refusals("forbidden_role"))
async def get_stats(user: Annotated[UserRow, allowed("read_statistics")], db: SessionDep) -> dict[str, Any]:
    """Counts, department performance, stage durations against their limits, the ladder and satisfaction."""
    return await statistics(db)


@router.get("/health", tags=["health"])
async def health(svc: ServicesDep, db: SessionDep) -> JSONResponse:
    """Up, and whether Temporal and the database answer."""
    checks = await dependency_checks(svc, db)
    ok = all(checks.values())
    return JSONResponse({"status": "ok" if ok else "degraded", **checks}, status_code=200 if ok else 503)
