"""The access policy's two forms agree: SQL on the read model (models/visibility.py) and Python on a
project's state (domain/access.py), for every pair of generated users and projects."""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from activities.publish import write_project
from domain.access import LEVEL_OF, ROLES, Actor, holds_level, may_see
from domain.catalog import DEPARTMENTS, STAGE_ORDER, default_catalog
from domain.codes import make_project_code
from domain.project import CreateProject, Problem, Project
from domain.status import StepStatus
from launch.databases import create_database, drop_database, migrate
from models.db import make_engine, session_factory
from models.tables import ProblemRow, ProjectRow
from models.visibility import held_by, visible_to

pytestmark = pytest.mark.asyncio(loop_scope="session")
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
ORGS = ["91310115MA1K4ABC05", "91310115MA1K4XYW07", "91310000MA1FL0X12K"]
AGENTS = ["agent-1", "agent-2", "agent-3"]
PROJECTS = 60


def users() -> list[Actor]:
    """Every kind of caller: each binding of each role, and bindings that match nothing."""
    found = [Actor(username=f"owner-{i}", role="owner", organisation=org) for i, org in enumerate(ORGS)]
    found += [Actor(username="owner-unbound", role="owner"), Actor(username="owner-x", role="owner", organisation="X")]
    found += [Actor(username=name, role="agent") for name in [*AGENTS, "agent-idle"]]
    found += [Actor(username=f"reviewer-{d}", role="reviewer", department=d) for d in DEPARTMENTS]
    found += [Actor(username="reviewer-unbound", role="reviewer")]
    found += [Actor(username=f"chief-{s}", role="section_chief", stage=s) for s in STAGE_ORDER]
    found += [Actor(username="office-1", role="office"), Actor(username="leader-1", role="leader")]
    assert {a.role for a in found} == set(ROLES)
    return found


def generated_projects(seed: int) -> list[Project]:
    """Projects of every category with random owners, deputies, step statuses and problems."""
    rng = random.Random(seed)
    categories = default_catalog().categories
    statuses: tuple[StepStatus, ...] = get_args(StepStatus)
    projects = []
    for n in range(1, PROJECTS + 1):
        category = rng.choice(categories)
        owner = rng.choice(ORGS)
        creator = Actor(username="someone", role="owner", organisation=owner)
        create = CreateProject(
            code=make_project_code(2026, "310115", "01", category.project_type, n),
            name=f"generated {n}",
            category=category,
            owner_org=owner,
            agent=rng.choice(AGENTS),
            region_code="310115",
            investment_wan=100,
            actor=creator,
        )
        project = Project.create(create, T0)
        for step in project.steps:  # a random point of a random chain: any department may be reached
            step.status = rng.choice(statuses) if rng.random() < 0.5 else "pending"
            # A step reaches its department when it opens; a withdrawal may cancel one that never did.
            step.opened_at = T0 if step.status not in ("pending", "cancelled") or rng.random() < 0.5 else None
        for i in range(rng.randrange(4)):
            step = rng.choice(project.steps)
            project.problems.append(
                Problem(
                    id=f"{project.code}-P{i + 1}",
                    step=step.key,
                    stage=step.stage,
                    summary="generated",
                    origin="manual",
                    raised_by="someone",
                    level=rng.randint(1, 4),
                    status=rng.choice(["open", "resolved"]),
                    opened_at=T0,
                    clock=project.new_clock(1, start=T0),
                )
            )
        project.version = 1
        projects.append(project)
    return projects


@pytest.fixture(scope="module")
async def stored() -> AsyncIterator[tuple[async_sessionmaker[AsyncSession], list[Project]]]:
    url = create_database(os.environ.get("APPROVALS_TEST_DATABASE_URL"))
    engine = make_engine(url)
    try:
        migrate(url)
        sessions = session_factory(engine)
        projects = generated_projects(seed=20261128)
        async with sessions() as db:
            for project in projects:
                assert await write_project(db, project, T0 + timedelta(minutes=1))
            await db.commit()
        yield sessions, projects
    finally:
        await engine.dispose()
        drop_database(url)


async def test_sql_and_python_agree_on_who_sees_which_project(
    stored: tuple[async_sessionmaker[AsyncSession], list[Project]],
) -> None:
    sessions, projects = stored
    disagreements = []
    async with sessions() as db:
        for actor in users():
            in_sql = set((await db.exec(select(ProjectRow.code).where(visible_to(actor)))).all())
            in_python = {p.code for p in projects if may_see(actor, p)}
            disagreements += [(actor.username, code, code in in_sql) for code in in_sql ^ in_python]
    assert disagreements == []
    # The generated data reaches every branch: some see all, some nothing, reviewers some but not all.
    reviewer = Actor(username="r", role="reviewer", department="nrp")
    assert 0 < sum(may_see(reviewer, p) for p in projects) < len(projects)


async def test_sql_and_python_agree_on_whose_inbox_holds_which_problem(
    stored: tuple[async_sessionmaker[AsyncSession], list[Project]],
) -> None:
    sessions, projects = stored
    held_somewhere = 0
    async with sessions() as db:
        for actor in users():
            stmt = (
                select(ProblemRow.id)
                .join(ProjectRow, col(ProjectRow.code) == col(ProblemRow.code))
                .where(held_by(actor), visible_to(actor))
            )
            in_sql = set((await db.exec(stmt)).all())
            in_python = {
                problem.id
                for project in projects
                for problem in project.problems
                if may_see(actor, project)
                and LEVEL_OF.get(actor.role) == problem.level
                and holds_level(actor, project, problem.level, problem.stage)
            }
            assert in_sql == in_python, actor
            held_somewhere += len(in_python)
    assert held_somewhere > 0
