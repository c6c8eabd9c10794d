"""The one activity every project change goes through: compute clock timings, write the read model."""

from __future__ import annotations

from datetime import datetime

import structlog
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.calendar_source import CalendarSource
from domain.clock import ClockQuery, ClockTiming, compute_timing
from domain.project import Project
from models.projection import write_project

log = structlog.get_logger("approvals.publish")


class PublishInput(BaseModel):
    """The project as the workflow holds it, the clocks to time, and the workflow's `now`."""

    project: Project
    clocks: list[ClockQuery]
    now: datetime


class PublishResult(BaseModel):
    """Timings for the workflow to store, and the last event now in the read model."""

    timings: list[ClockTiming]
    last_event_seq: int


class Publisher:
    """Holds the read model's sessions and the calendar; the worker wires them."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], calendar: CalendarSource) -> None:
        self._sessions = sessions
        self._calendar = calendar

    @activity.defn(name="publish_project")
    async def publish_project(self, inp: PublishInput) -> PublishResult:
        """Time the stale clocks, apply them exactly as the workflow will, and store the result."""
        project = inp.project
        async with self._sessions() as session:
            clock = await self._calendar.clock(session)
            timings = [compute_timing(clock, q) for q in inp.clocks]
            project.apply_timings(timings, inp.now)
            written = await write_project(session, project, inp.now)
            await session.commit()
        log.debug(
            "project_published",
            project_code=project.code,
            workflow_id=activity.info().workflow_id,
            version=project.version,
            written=written,
            events=len(project.pending_events),
        )
        return PublishResult(timings=timings, last_event_seq=project.event_seq)
