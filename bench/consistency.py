"""Whether the read model holds exactly what a project's workflow holds: the check the durability
tests and the chaos benchmark make after every fault."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from models.tables import EventRow, ProjectRow, StepRow
from workflows.project import ProjectWorkflow


async def read_model_differences(db: AsyncSession, client: Client, code: str) -> list[str]:
    """What the read model holds otherwise than the workflow's own state (empty when they agree).

    Compared: the project row's version and state, each step's status, and the events, each
    sequence number exactly once.
    """
    state = await client.get_workflow_handle(code).query(ProjectWorkflow.state)
    row = await db.get(ProjectRow, code)
    if row is None:
        return [f"{code}: no project row (workflow at version {state.version})"]
    found = []
    if row.version != state.version:
        found.append(f"{code}: version {row.version} in the read model, {state.version} in the workflow")
    held = state.model_dump(mode="json", exclude={"pending_events"})
    if row.state != held:
        keys = sorted(k for k in row.state.keys() | held.keys() if row.state.get(k) != held.get(k))
        found.append(f"{code}: the project's state differs from the workflow's in {', '.join(keys)}")
    step_rows = (await db.exec(select(StepRow).where(col(StepRow.code) == code))).all()
    if {s.key: s.status for s in step_rows} != {s.key: s.status for s in state.steps}:
        found.append(f"{code}: step statuses differ from the workflow's")
    seqs = sorted((await db.exec(select(EventRow.seq).where(col(EventRow.code) == code))).all())
    if seqs != list(range(1, state.event_seq + 1)):
        found.append(f"{code}: events {seqs[:3]}...{seqs[-3:]} ({len(seqs)}), workflow has 1..{state.event_seq}")
    return found
