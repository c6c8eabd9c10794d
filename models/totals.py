"""Running totals of the read model, kept by the projection so that `/stats` reads a few dozen rows
however large the city grows.

Each total is a (name, key) and a value: projects by stage, colour and status; the steps decided
after a review, by department and stage (how many, on time, working days used, their limits,
ratings, good ratings); open problems by level; resolved problems and the hours they took. When a
project is written (activities/publish.py), what its old rows contributed is taken away and what
its new rows contribute is added, in the same transaction. `from_rows` computes the same totals
from scratch; `recount` writes them (after a bulk load that went around the projection).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from sqlalchemy import Table, case, delete, func
from sqlalchemy import select as sa_select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.status import DECIDED
from models.batch import Batch
from models.db import dialect_insert, dialect_of
from models.tables import ProblemRow, ProjectRow, StepRow, TotalRow

Totals = dict[tuple[str, str], float]

PROJECT_DIMENSIONS = ("stage", "colour", "status")
# What is summed of the steps decided after a review, under "reviewed.<name>", keyed "<department>~<stage>".
REVIEWED_SUMS = ("decided", "on_time", "used", "limit", "rated", "good")
# The steps a department decided after a review (granted commitments are not reviewed).
REVIEWED = col(StepRow.status).in_(DECIDED) & col(StepRow.commitment).is_(False)


def reviewed_key(department: str, stage: str) -> str:
    return f"{department}~{stage}"


def contributions(
    project: Mapping[str, Any] | None, steps: Iterable[Mapping[str, Any]], problems: Iterable[Mapping[str, Any]]
) -> Totals:
    """What one project's rows (as activities/publish.py builds them, or as stored) add to the totals."""
    found: Totals = defaultdict(float)
    if project is not None:
        for dimension in PROJECT_DIMENSIONS:
            found[f"projects.{dimension}", str(project[dimension])] += 1
    for step in steps:
        if step["status"] not in DECIDED or step["commitment"]:
            continue
        key = reviewed_key(step["department"], step["stage"])
        sums = {
            "decided": 1,
            "on_time": step["used_days"] <= step["limit_days"],
            "used": step["used_days"],
            "limit": step["limit_days"],
            "rated": step["rating"] is not None,
            "good": step["rating"] is not None and step["rating"] >= 4,
        }
        for name, value in sums.items():
            found[f"reviewed.{name}", key] += value
    for problem in problems:
        if problem["status"] == "open":
            found["problems.open", str(problem["level"])] += 1
        elif problem["status"] == "resolved" and problem["resolved_at"] is not None:
            found["problems.resolved", ""] += 1
            found["problems.resolved_hours", ""] += (
                problem["resolved_at"] - problem["opened_at"]
            ).total_seconds() / 3600
    return found


def difference(new: Totals, old: Totals) -> Totals:
    """new - old, without the totals that did not move."""
    moved = {k: new.get(k, 0.0) - old.get(k, 0.0) for k in new.keys() | old.keys()}
    return {k: v for k, v in moved.items() if v}


def add(batch: Batch, change: Totals) -> None:
    """Add to the totals (queued in `batch`); in key order, so that two transactions never wait on
    each other in a cycle."""
    rows = [{"name": n, "key": k, "value": v} for (n, k), v in sorted(change.items())]
    batch.add(_add_statement(dialect_of(batch.session)), rows)


@cache
def _add_statement(dialect: str) -> Any:
    # Built once per dialect: building it cost more than running it.
    table: Table = TotalRow.__table__  # type: ignore[attr-defined]
    stmt = dialect_insert(dialect, table)
    return stmt.on_conflict_do_update(
        index_elements=["name", "key"], set_={"value": table.c.value + stmt.excluded.value}
    )


async def stored_contributions(session: AsyncSession, code: str) -> Totals:
    """What the project's rows as stored now contribute (nothing for a project not stored)."""
    project = (
        await session.execute(
            sa_select(*(col(getattr(ProjectRow, d)) for d in PROJECT_DIMENSIONS))
            .where(col(ProjectRow.code) == code)
            .with_for_update()
        )
    ).first()
    if project is None:
        return {}
    steps = await session.execute(sa_select(StepRow.__table__).where(col(StepRow.code) == code, REVIEWED))  # type: ignore[attr-defined]
    problems = await session.execute(sa_select(ProblemRow.__table__).where(col(ProblemRow.code) == code))  # type: ignore[attr-defined]
    return contributions(
        dict(project._mapping), [dict(r._mapping) for r in steps], [dict(r._mapping) for r in problems]
    )


async def read(session: AsyncSession) -> Totals:
    """The totals as kept."""
    rows = await session.execute(sa_select(col(TotalRow.name), col(TotalRow.key), col(TotalRow.value)))
    return {(name, key): float(value) for name, key, value in rows.all()}


async def from_rows(session: AsyncSession) -> Totals:
    """The totals computed from every row: what `read` must equal."""
    found: Totals = {}
    for dimension in PROJECT_DIMENSIONS:
        column = col(getattr(ProjectRow, dimension))
        for value, n in (await session.execute(sa_select(column, func.count()).group_by(column))).all():
            found[f"projects.{dimension}", str(value)] = float(n)
    sums = (
        func.count(),
        func.sum(case((col(StepRow.used_days) <= col(StepRow.limit_days), 1), else_=0)),
        func.sum(StepRow.used_days),
        func.sum(StepRow.limit_days),
        func.count(col(StepRow.rating)),
        func.sum(case((col(StepRow.rating) >= 4, 1), else_=0)),
    )
    by = (col(StepRow.department), col(StepRow.stage))
    for department, stage, *values in (
        await session.execute(sa_select(*by, *sums).where(REVIEWED).group_by(*by))
    ).all():
        for name, value in zip(REVIEWED_SUMS, values, strict=True):
            found[f"reviewed.{name}", reviewed_key(department, stage)] = float(value)
    level = col(ProblemRow.level)
    open_ = sa_select(level, func.count()).where(col(ProblemRow.status) == "open").group_by(level)
    for value, n in (await session.execute(open_)).all():
        found["problems.open", str(value)] = float(n)
    if session.get_bind().dialect.name == "postgresql":
        hours = func.extract("epoch", col(ProblemRow.resolved_at) - col(ProblemRow.opened_at)) / 3600
    else:
        hours = (func.julianday(col(ProblemRow.resolved_at)) - func.julianday(col(ProblemRow.opened_at))) * 24
    resolved = col(ProblemRow.status) == "resolved", col(ProblemRow.resolved_at).is_not(None)
    n, total = (await session.execute(sa_select(func.count(), func.sum(hours)).where(*resolved))).one()
    if n:
        found["problems.resolved", ""], found["problems.resolved_hours", ""] = float(n), float(total)
    return found


async def recount(session: AsyncSession) -> None:
    """Write the totals afresh from every row (the caller commits)."""
    await session.execute(delete(TotalRow))
    batch = Batch(session)
    add(batch, await from_rows(session))
    await batch.send()
