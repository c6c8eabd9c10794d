"""The search attributes projects carry in Temporal (e.g. `ProjectStatus = 'suspended' AND
ExecutionStatus = 'Running'` in its UI: a project's closed runs keep theirs), how the service
connects to Temporal, and how its schedules are kept. The one place their names are written.

The colour is one of them only in runs whose input says so (`ProjectInput.colour_searched`: runs
started before it left them): it moves with the clock, for every project due at one close at
once, and the office's own lists filter on it (docs/decisions.md)."""

from __future__ import annotations

from temporalio.client import Client, Schedule, ScheduleAlreadyRunningError, ScheduleUpdate
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

COLOUR = SearchAttributeKey.for_keyword("ProjectColour")
STATUS = SearchAttributeKey.for_keyword("ProjectStatus")
STAGE = SearchAttributeKey.for_keyword("ProjectStage")
CATEGORY = SearchAttributeKey.for_keyword("ProjectCategory")
# Every attribute the service sets; a Temporal server must have them registered as Keyword.
SEARCH_ATTRIBUTES: tuple[SearchAttributeKey[str], ...] = (COLOUR, STATUS, STAGE, CATEGORY)


def search_attributes(colour: str | None, status: str, stage: str, category: str) -> TypedSearchAttributes:
    """The attributes of one project; its colour only when `colour` is given."""
    values = (colour, status, stage, category)
    return TypedSearchAttributes(
        [
            SearchAttributePair(key, value)
            for key, value in zip(SEARCH_ATTRIBUTES, values, strict=True)
            if value is not None
        ]
    )


async def connect(address: str, namespace: str, runtime: Runtime | None = None) -> Client:
    """A Temporal client that speaks pydantic, as every process of the service does; on `runtime`, if
    given (the one whose exporter shows the worker's SDK metrics), else the SDK's default."""
    return await Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter, runtime=runtime)


async def ensure_schedule(client: Client, schedule_id: str, schedule: Schedule) -> None:
    """Create the schedule, or bring the existing one up to date: every worker calls this as it starts."""
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        await client.get_schedule_handle(schedule_id).update(lambda _: ScheduleUpdate(schedule=schedule))
