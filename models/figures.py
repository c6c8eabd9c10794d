"""The service's figures an operator watches, read from the read model with a few aggregate queries.

The worker exposes them as gauges (worker_metrics.py); `/stats` shares the ladder's count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.catalog import DEPARTMENTS
from domain.status import LIVE
from models.notification_store import CHANNELS
from models.tables import DeliveryRow, ProblemRow, ProjectRow, StepRow

COLOURS = ("green", "yellow", "red")
LEVELS = (1, 2, 3, 4)


@dataclass(frozen=True)
class Figures:
    """One reading; every colour, level and channel is present, at 0 when nothing is there."""

    live_projects: dict[str, int]  # by colour
    open_problems: dict[int, int]  # by ladder level
    overdue_steps: dict[str, int]  # steps shown red, by department
    notifications_waiting: dict[str, int]  # deliveries not yet taken, by channel
    oldest_waiting: datetime | None  # when the longest-waiting delivery was written


async def read_figures(db: AsyncSession) -> Figures:
    """The figures as the read model has them now."""
    colours = await db.exec(
        select(col(ProjectRow.colour), func.count())
        .where(col(ProjectRow.status).in_(sorted(LIVE)))
        .group_by(col(ProjectRow.colour))
    )
    overdue = await db.exec(
        select(col(StepRow.department), func.count()).where(col(StepRow.colour) == "red").group_by(StepRow.department)
    )
    pending = col(DeliveryRow.status) == "pending"
    waiting = await db.exec(select(col(DeliveryRow.channel), func.count()).where(pending).group_by(DeliveryRow.channel))
    oldest = (await db.exec(select(func.min(DeliveryRow.created_at)).where(pending))).one()
    return Figures(
        live_projects=dict.fromkeys(COLOURS, 0) | {str(c): int(n) for c, n in colours.all()},
        open_problems=dict.fromkeys(LEVELS, 0) | {int(k): n for k, n in (await open_problems_by_level(db)).items()},
        overdue_steps=dict.fromkeys(DEPARTMENTS, 0) | {str(d): int(n) for d, n in overdue.all()},
        notifications_waiting=dict.fromkeys(CHANNELS, 0) | {str(c): int(n) for c, n in waiting.all()},
        oldest_waiting=oldest,
    )


async def open_problems_by_level(db: AsyncSession) -> dict[str, int]:
    """Open problems at each level of the ladder (levels without any left out)."""
    rows = (
        await db.exec(
            select(col(ProblemRow.level), func.count())
            .where(col(ProblemRow.status) == "open")
            .group_by(col(ProblemRow.level))
        )
    ).all()
    return {str(level): int(n) for level, n in sorted(rows)}
