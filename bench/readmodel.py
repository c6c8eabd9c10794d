"""Read-model and Temporal look-ups the escalation benchmark turns into figures, after the run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from bench.client import STEP
from bench.stack import Stack
from domain.clock import WARN_FRACTION
from models.db import sync_url
from models.tables import EventRow, StepRow
from workflows.search import connect


def _engine(database_url: str) -> Engine:
    return create_engine(sync_url(database_url))


def read_deadlines(database_url: str, step: str = STEP) -> dict[str, datetime]:
    """Deadline of every `step` (project_approval unless said otherwise) in the read model, by project code."""
    engine = _engine(database_url)
    try:
        with engine.connect() as conn:
            stmt = select(col(StepRow.code), col(StepRow.deadline)).where(col(StepRow.key) == step)
            return {code: deadline for code, deadline in conn.execute(stmt) if deadline is not None}
    finally:
        engine.dispose()


def count_events(database_url: str) -> dict[str, int]:
    """How many audit events of each action the run produced: the publishing load behind the figures."""
    engine = _engine(database_url)
    try:
        with engine.connect() as conn:
            stmt = select(col(EventRow.action), func.count()).group_by(col(EventRow.action))
            return {action: int(n) for action, n in conn.execute(stmt)}
    finally:
        engine.dispose()


def warn_lateness(database_url: str, deadlines: dict[str, datetime], limit_seconds: float) -> list[float]:
    """How late each project turned yellow: the 80 % timer, which fires before the overdue one.

    With the compressed clock the warning instant is the deadline less 20 % of the limit.
    """
    early = (1 - WARN_FRACTION) * limit_seconds
    late: list[float] = []
    engine = _engine(database_url)
    try:
        with engine.connect() as conn:
            stmt = select(col(EventRow.code), col(EventRow.at), col(EventRow.detail)).where(
                col(EventRow.action) == "colour_changed"
            )
            for code, at, detail in conn.execute(stmt):
                if code in deadlines and (detail or {}).get("to") == "yellow":
                    late.append(at.timestamp() - (deadlines[code].timestamp() - early))
    finally:
        engine.dispose()
    return late


async def workflow_sizes(codes: list[str], temporal_address: str, sample: int = 20) -> dict[str, float]:
    """History length of a sample of project workflows: how much a wake-up that misses the cache replays.

    (Read-model versions no longer count publishes: they grow with the history, see docs/architecture.md.)
    """
    client = await connect(temporal_address, "default")
    lengths = [(await client.get_workflow_handle(c).describe()).history_length for c in codes[:sample]]
    return {
        "history_length_mean": round(sum(lengths) / max(len(lengths), 1), 1),
        "history_length_max": max(lengths, default=0),
    }


def worker_warnings(stack: Stack) -> dict[str, int]:
    """Signs of overloaded workers in their logs: long workflow tasks, and tasks the server had timed out."""
    text = "\n".join(child.log_text() for child in stack.workers)
    return {
        "workflow_tasks_over_5s": text.count("TMPRL1104"),
        "workflow_tasks_timed_out": text.count("Workflow task not found"),
    }
