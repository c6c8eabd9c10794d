"""The city generator and the read-side load benchmarks stay runnable: a tiny city, two clients.

Speed is the benchmark's business, not judged here; what is checked is that the city is what the
projection writes (every state reads back as a Project under its own code, with its steps, events
and problems) and that every scenario answered without an error.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy.engine import make_url

from api.queries import statistics_of
from bench import api_ab, readmodel_load
from bench.city import connect, write_city
from domain.project import Project
from launch.databases import create_database, drop_database
from launch.processes import ROOT
from models import totals
from models.db import make_engine, session_factory

PROJECTS = 200

pytestmark = pytest.mark.skipif(
    make_url(os.environ.get("APPROVALS_TEST_DATABASE_URL") or "sqlite://").get_backend_name() != "postgresql",
    reason="the city is written to PostgreSQL (APPROVALS_TEST_DATABASE_URL)",
)


async def test_a_tiny_city_is_generated_and_measured() -> None:
    url = create_database(os.environ["APPROVALS_TEST_DATABASE_URL"])
    try:
        written = write_city(url, PROJECTS, log=lambda _: None)
        assert written["projects"] == PROJECTS
        with connect(url) as conn:
            rows = conn.execute("SELECT code, state FROM projects").fetchall()
            steps = dict(conn.execute("SELECT code, count(*) FROM steps GROUP BY code").fetchall())
            levels = conn.execute("SELECT DISTINCT level FROM problems").fetchall()
        assert len(rows) == PROJECTS
        for code, state in rows:
            project = Project.model_validate(state)
            assert project.code == code and steps[code] == len(project.steps)
        assert {level for (level,) in levels} == {1, 2, 3, 4}
        engine = make_engine(url)
        try:
            async with session_factory(engine)() as db:  # the city's running totals are its rows'
                assert statistics_of(await totals.read(db)) == statistics_of(await totals.from_rows(db))
        finally:
            await engine.dispose()

        figures = await readmodel_load.measure(url, clients_n=2, requests=4, max_pages=3)

        assert figures["errors"] == []
        assert len(figures["scenarios"]) == 11
        assert all(s["n"] > 0 for s in figures["scenarios"].values())
        assert figures["api_rss_mib"] > 0

        # The side-by-side comparison runs too (this tree against itself).
        compared = await api_ab.compare(url, {"base": ROOT, "new": ROOT}, ["GET /tasks"], turns=2, requests=4)
        assert compared["errors"] == []
        assert {side: len(turns) for side, turns in compared["cpu_ms"]["GET /tasks"].items()} == {"base": 2, "new": 2}
    finally:
        drop_database(url)
