"""Catalog, working-day calendar, inbox, statistics and health."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.commands import CommandsDep
from api.deps import ServicesDep, SessionDep, UserDep, actor_of, allowed
from api.errors import ApiError, refusals
from api.queries import inbox, statistics
from api.schemas import CalendarOut, CalendarYear, TaskOut
from domain.catalog import DEPARTMENTS
from domain.holidays import arrangement_from_lists, rule_based_year
from models.calendar_store import save_year
from models.catalog_store import effective_catalog
from models.tables import CalendarYearRow, UserRow

router = APIRouter()
Year = Annotated[int, Path(ge=2000, le=2100, description="a calendar year")]
Manager = Annotated[UserRow, allowed("manage")]


@router.get("/catalog", tags=["catalog"])
async def get_catalog(user: UserDep, db: SessionDep) -> dict[str, Any]:
    """Categories with their stages, steps, departments, modes and limits."""
    catalog = await effective_catalog(db)
    return {
        "departments": DEPARTMENTS,
        "categories": [
            {**c.model_dump(mode="json"), "stages": [s.value for s in c.stages]} for c in catalog.categories
        ],
    }


@router.get("/calendar/{year}", response_model=CalendarOut, tags=["calendar"])
async def get_calendar(year: Year, user: UserDep, db: SessionDep) -> CalendarOut:
    """The year's holidays and make-up working days; a year not loaded is the provisional fallback."""
    row = await db.get(CalendarYearRow, year)
    if row is None:
        fallback = rule_based_year(year)
        return CalendarOut(
            year=year,
            holidays=sorted(fallback.holidays),
            workdays=sorted(fallback.workdays),
            source=fallback.source,
            provisional=True,
        )
    return CalendarOut(
        year=year,
        holidays=[date.fromisoformat(d) for d in row.holidays or []],
        workdays=[date.fromisoformat(d) for d in row.workdays or []],
        source=row.source,
        provisional=False,
    )


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
    try:
        arrangement = arrangement_from_lists(year, body.holidays, body.workdays, source="office")
    except ValueError as err:
        raise ApiError(422, "invalid_calendar", str(err)) from None
    row = await save_year(db, arrangement, user.username)
    svc.calendar.invalidate()
    await send.roll_out_calendar(year, user.username, row.updated_at)
    return await get_calendar(year, user, db)


@router.get("/tasks", response_model=list[TaskOut], tags=["tasks"])
async def get_tasks(user: UserDep, db: SessionDep) -> list[TaskOut]:
    """The caller's inbox, soonest deadline first."""
    return await inbox(db, actor_of(user))


@router.get("/stats", tags=["stats"], responses=refusals("forbidden_role"))
async def get_stats(user: Annotated[UserRow, allowed("read_statistics")], db: SessionDep) -> dict[str, Any]:
    """Counts, department performance, the ladder and satisfaction."""
    return await statistics(db)


@router.get("/health", tags=["health"])
async def health(svc: ServicesDep, db: SessionDep) -> JSONResponse:
    """Up, and whether Temporal and the database answer."""
    checks: dict[str, bool] = {}
    try:
        await db.exec(text("SELECT 1"))  # type: ignore[call-overload]
        checks["database"] = True
    except Exception:
        checks["database"] = False
    try:
        checks["temporal"] = await svc.temporal.service_client.check_health()
    except Exception:
        checks["temporal"] = False
    ok = all(checks.values())
    return JSONResponse({"status": "ok" if ok else "degraded", **checks}, status_code=200 if ok else 503)
