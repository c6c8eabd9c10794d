"""Project creation: codes, credit codes, agents, and a retry that must not create twice."""

from __future__ import annotations

import pytest
from sqlmodel import col, delete, select

from domain.codes import validate_project_code
from models.db import make_engine, session_factory
from models.seed import ORG_A, ORG_B
from models.tables import IdempotencyRow, ProjectRow
from settings import Settings
from tests.conftest import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")
BODY = {"name": "Logistics park", "category": "general", "owner_credit_code": ORG_A, "investment_wan": 800.0}


async def test_owner_creates_for_its_own_organisation_only(api: Api) -> None:
    r = await api.post("/projects", "owner-a", json={**BODY, "owner_credit_code": ORG_B})
    assert r.status_code == 403 and r.json()["code"] == "not_own_organisation"
    bad_check = ORG_A[:-1] + ("0" if ORG_A[-1] != "0" else "1")
    r = await api.post("/projects", "owner-a", json={**BODY, "owner_credit_code": bad_check})
    assert r.status_code == 422 and r.json()["code"] == "invalid_credit_code"
    r = await api.post("/projects", "owner-a", json={**BODY, "category": "spaceport"})
    assert r.status_code == 422 and r.json()["code"] == "unknown_category"
    r = await api.post("/projects", "owner-a", json={**BODY, "category": "photovoltaic", "phases": ["one"]})
    assert r.status_code == 422 and r.json()["code"] == "phases_not_applicable"


async def test_agent_creates_for_an_owner_and_is_its_deputy(api: Api) -> None:
    r = await api.post("/projects", "agent-2", json={**BODY, "owner_credit_code": ORG_B})
    assert r.status_code == 201, r.text
    project = r.json()
    assert project["agent"] == "agent-2" and project["owner"] == ORG_B
    assert validate_project_code(project["code"]) == project["code"]
    assert r.headers["location"] == f"/projects/{project['code']}"
    assert (await api.get(f"/projects/{project['code']}", "owner-b")).status_code == 200


async def test_retry_after_a_lost_answer_reuses_the_issued_code(api: Api, settings: Settings) -> None:
    headers = {"Idempotency-Key": "create-retry-1"}
    first = await api.post("/projects", "owner-a", json=BODY, headers=headers)
    assert first.status_code == 201, first.text
    # The API forgets a key whose request failed with a 5xx; simulate that, then retry.
    engine = make_engine(settings.database_url)
    async with session_factory(engine)() as db:
        await db.exec(delete(IdempotencyRow).where(col(IdempotencyRow.key) == "create-retry-1"))
        await db.commit()
    retry = await api.post("/projects", "owner-a", json=BODY, headers=headers)
    assert retry.status_code == 201 and retry.json()["code"] == first.json()["code"]
    async with session_factory(engine)() as db:
        named = (await db.exec(select(ProjectRow).where(col(ProjectRow.code) == first.json()["code"]))).all()
    await engine.dispose()
    assert len(named) == 1
