"""The calendar rollout: when the office loads or changes a year, every project whose clocks reach
into it is told, durably, so its deadlines are counted again at once (docs/time.md)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.rollout import AffectedProjects, Rollout
    from domain.project import CalendarChanged

# Past this many history events the rollout continues as new from where it stopped.
HISTORY_LIMIT = 4000


class CalendarRollout(BaseModel):
    """Tell the projects reaching into `year`, from code `after` on; `told` so far."""

    year: int
    changed_by: str
    after: str = ""
    told: int = 0


@workflow.defn(name="CalendarRollout")
class CalendarRolloutWorkflow:
    """Signals `calendar_changed` to each affected project, a page at a time."""

    @workflow.run
    async def run(self, inp: CalendarRollout) -> int:
        told, after = inp.told, inp.after
        while True:
            page = await workflow.execute_activity_method(
                Rollout.affected_projects,
                AffectedProjects(year=inp.year, after=after),
                start_to_close_timeout=timedelta(seconds=60),
            )
            if not page.codes:
                return told
            signal = CalendarChanged(year=inp.year, changed_by=inp.changed_by)
            await asyncio.gather(*(self._tell(code, signal) for code in page.codes))
            told, after = told + len(page.codes), page.codes[-1]
            if workflow.info().get_current_history_length() > HISTORY_LIMIT:
                workflow.continue_as_new(inp.model_copy(update={"after": after, "told": told}))

    @staticmethod
    async def _tell(code: str, signal: CalendarChanged) -> None:
        try:
            await workflow.get_external_workflow_handle(code).signal("calendar_changed", signal)
        except Exception:
            workflow.logger.info("calendar change not delivered: project %s has closed", code)
