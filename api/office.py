"""The office's records as one service for the JSON API and the pages alike: the working-day
calendar of a year (read, and replaced with a rollout to running projects) and the catalog's
categories (validated and saved). Route modules and pages call these; none repeats their rules."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from api.commands import Commands
from api.errors import ApiError
from api.schemas import CalendarOut, CalendarYear, CategoryBody
from domain.catalog import Catalog, CategorySpec
from domain.holidays import arrangement_from_lists, rule_based_year
from models.calendar_store import CalendarSource, save_year
from models.catalog_store import save_category
from models.kept import Kept
from models.tables import CalendarYearRow


async def calendar_year(db: AsyncSession, year: int) -> CalendarOut:
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


async def replace_calendar_year(
    db: AsyncSession, source: CalendarSource, send: Commands, year: int, body: CalendarYear, username: str
) -> CalendarOut:
    """Store the year's arrangement in place of what was there, then tell every running project
    whose clocks reach into the year (422 `invalid_calendar` for an arrangement the rules refuse)."""
    try:
        arrangement = arrangement_from_lists(year, body.holidays, body.workdays, source="office")
    except ValueError as err:
        raise ApiError(422, "invalid_calendar", str(err)) from None
    row = await save_year(db, arrangement, username)
    source.invalidate()
    await send.roll_out_calendar(year, username, row.updated_at)
    return await calendar_year(db, year)


def category_out(spec: CategorySpec) -> dict[str, Any]:
    """A category as `GET /catalog` shows it: with the stages its steps run."""
    return {**spec.model_dump(mode="json"), "stages": [s.value for s in spec.stages]}


async def save_category_body(
    db: AsyncSession, category: str, body: CategoryBody, username: str, source: Kept[Catalog]
) -> dict[str, Any]:
    """Add or change a category (422 `invalid_category`, `category_key_mismatch`); projects already
    running keep the version they started with, new ones get it (`source` forgets the old one)."""
    try:
        # `stages` is derived (GET /catalog shows it): accept it back, ignore it.
        spec = CategorySpec.model_validate(body.model_dump(exclude={"stages"}, exclude_none=True))
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ApiError(422, "invalid_category", f"{where}: {first['msg']}" if where else first["msg"]) from None
    if spec.key != category:
        raise ApiError(422, "category_key_mismatch", f"the body describes {spec.key!r}, not {category!r}")
    await save_category(db, spec, username)
    source.invalidate()
    return category_out(spec)
