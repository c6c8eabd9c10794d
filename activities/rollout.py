"""Which projects a calendar change reaches: the read model names them for the rollout workflow."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from models.tables import ProjectRow


class AffectedProjects(BaseModel):
    """One page of the projects whose clocks reach into `year`, after project code `after`."""

    year: int
    after: str = ""
    limit: int = 500


class ProjectCodes(BaseModel):
    codes: list[str]


class Rollout:
    """Holds the read model's sessions; the worker wires them."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], tz: str) -> None:
        self._sessions = sessions
        self._tz = ZoneInfo(tz)

    @activity.defn(name="affected_projects")
    async def affected_projects(self, inp: AffectedProjects) -> ProjectCodes:
        """Live projects with a clock still counting at or after the year's first day, in code order."""
        first_day = datetime(inp.year, 1, 1, tzinfo=self._tz)
        stmt = (
            select(col(ProjectRow.code))
            .where(col(ProjectRow.live), col(ProjectRow.horizon) >= first_day, col(ProjectRow.code) > inp.after)
            .order_by(col(ProjectRow.code))
            .limit(inp.limit)
        )
        async with self._sessions() as session:
            codes = list((await session.exec(stmt)).all())
        return ProjectCodes(codes=codes)
