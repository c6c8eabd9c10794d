"""Idempotency-Key on POST: a repeat returns the first answer and changes nothing.

The action used is opening a problem: without the key each call would open another problem
with a new id, so a repeat that acted again could not hide.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from sqlmodel import col, select

from api import idempotency
from api.main import create_app
from models.db import make_engine, session_factory
from models.tables import IdempotencyRow
from settings import Settings
from tests.api.support import assert_problem, event_count, project_for
from tests.chain import view
from tests.conftest import Api, open_api

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
async def code(api: Api) -> str:
    project = await project_for(api, "agent-1")
    return str(project["code"])


def keyed(key: str | None = None) -> dict[str, str]:
    return {"Idempotency-Key": key or f"k-{uuid.uuid4()}"}


async def open_problems(api: Api, code: str) -> list[str]:
    return [p["id"] for p in (await view(api, code))["open_problems"]]


async def stored_keys(settings: Settings, key: str) -> list[IdempotencyRow]:
    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            return list((await db.exec(select(IdempotencyRow).where(col(IdempotencyRow.key) == key))).all())
    finally:
        await engine.dispose()


async def test_a_repeat_returns_the_first_answer_and_changes_nothing(api: Api, code: str) -> None:
    headers = keyed()
    body = {"summary": "repeat me", "step": "project_approval"}
    first = await api.post(f"/projects/{code}/problems", "owner-a", json=body, headers=headers)
    assert first.status_code == 201, first.text
    events, problems = await event_count(api, code), await open_problems(api, code)
    for _ in range(3):
        again = await api.post(f"/projects/{code}/problems", "owner-a", json=body, headers=headers)
        assert again.status_code == 201, again.text
        assert again.json() == first.json()
        assert again.headers.get("idempotent-replayed") == "true"
    assert await event_count(api, code) == events
    assert await open_problems(api, code) == problems
    # Without the key the same body does act again: the check above could tell.
    other = await api.post(f"/projects/{code}/problems", "owner-a", json=body)
    assert other.status_code == 201 and other.json()["created_id"] != first.json()["created_id"]


async def test_a_repeated_refusal_is_the_same_refusal(api: Api, code: str) -> None:
    headers = keyed()
    path = f"/projects/{code}/steps/project_approval/decision"
    first = await api.post(path, "owner-a", json={"outcome": "approve"}, headers=headers)
    assert_problem(first, 403)
    again = await api.post(path, "owner-a", json={"outcome": "approve"}, headers=headers)
    assert again.status_code == 403 and again.json() == first.json()
    assert again.headers["content-type"].startswith("application/problem+json")


async def test_a_repeated_creation_gives_the_same_project_and_location(api: Api) -> None:
    name = f"idempotent creation {uuid.uuid4().hex[:8]}"
    body = {"name": name, "category": "low_risk", "owner_credit_code": _org_a(), "investment_wan": 10}
    headers = keyed()
    first = await api.post("/projects", "owner-a", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await api.post("/projects", "owner-a", json=body, headers=headers)
    assert again.status_code == 201 and again.json()["code"] == first.json()["code"]
    assert again.headers["location"] == first.headers["location"] == f"/projects/{first.json()['code']}"
    listed = (await api.get("/projects", "owner-a", params={"q": name})).json()["items"]
    assert [p["code"] for p in listed] == [first.json()["code"]]


async def test_the_same_key_with_another_body_is_refused(api: Api, code: str) -> None:
    headers = keyed()
    first = await api.post(f"/projects/{code}/problems", "owner-a", json={"summary": "one"}, headers=headers)
    assert first.status_code == 201, first.text
    events, problems = await event_count(api, code), await open_problems(api, code)
    other_body = await api.post(f"/projects/{code}/problems", "owner-a", json={"summary": "two"}, headers=headers)
    assert_problem(other_body, 422, "idempotency_key_reused")
    other_path = await api.post(f"/projects/{code}/withdraw", "owner-a", json={"summary": "one"}, headers=headers)
    assert_problem(other_path, 422, "idempotency_key_reused")
    assert await event_count(api, code) == events
    assert await open_problems(api, code) == problems
    assert (await view(api, code))["status"] == "active"


async def test_a_retry_racing_the_original_gets_the_same_answer_and_acts_once(api: Api, code: str) -> None:
    before = await open_problems(api, code)
    events = await event_count(api, code)
    headers = keyed()
    body = {"summary": "raced", "step": "project_approval"}
    answers = await asyncio.gather(
        *(api.post(f"/projects/{code}/problems", "owner-a", json=body, headers=headers) for _ in range(2))
    )
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    assert answers[0].json() == answers[1].json()
    after = await open_problems(api, code)
    assert after[: len(before)] == before and after[len(before) :] == [answers[0].json()["created_id"]]
    timeline = (await api.get(f"/projects/{code}/events", "office-1")).json()[events:]
    assert [e["action"] for e in timeline].count("problem_raised") == 1


async def test_a_retry_after_an_api_restart_returns_the_first_answer(settings: Settings, code: str) -> None:
    headers = keyed()
    body = {"summary": "before the restart"}
    first_app = cast(AsyncGenerator[Api, None], open_api(create_app(settings)))
    api1 = await anext(first_app)
    try:
        first = await api1.post(f"/projects/{code}/problems", "owner-a", json=body, headers=headers)
        assert first.status_code == 201, first.text
    finally:
        await first_app.aclose()
    second_app = cast(AsyncGenerator[Api, None], open_api(create_app(settings)))
    api2 = await anext(second_app)
    try:
        events, problems = await event_count(api2, code), await open_problems(api2, code)
        again = await api2.post(f"/projects/{code}/problems", "owner-a", json=body, headers=headers)
        assert again.status_code == 201 and again.json() == first.json()
        assert again.headers.get("idempotent-replayed") == "true"
        assert await event_count(api2, code) == events
        assert await open_problems(api2, code) == problems
    finally:
        await second_app.aclose()


async def _claim(settings: Settings, username: str, key: str, age: timedelta, fingerprint: str = "unfinished") -> None:
    """A claim as an API leaves it when it dies before answering."""
    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            db.add(
                IdempotencyRow(username=username, key=key, fingerprint=fingerprint, created_at=datetime.now(UTC) - age)
            )
            await db.commit()
    finally:
        await engine.dispose()


async def test_a_claim_abandoned_by_a_dead_api_is_taken_over(api: Api, settings: Settings, code: str) -> None:
    key = f"k-{uuid.uuid4()}"
    await _claim(
        settings,
        "owner-a",
        key,
        timedelta(seconds=settings.update_wait_seconds + idempotency.CLAIM_MARGIN_SECONDS + 60),
    )
    body = {"summary": "after a crash"}
    r = await asyncio.wait_for(
        api.post(f"/projects/{code}/problems", "owner-a", json=body, headers=keyed(key)), timeout=15
    )
    assert r.status_code == 201, r.text
    again = await api.post(f"/projects/{code}/problems", "owner-a", json=body, headers=keyed(key))
    assert again.json() == r.json() and again.headers.get("idempotent-replayed") == "true"


async def test_a_request_still_in_progress_is_not_run_twice(
    api: Api, settings: Settings, code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repeat of a request another API instance is still running waits for it, then gives up with 409."""
    key = f"k-{uuid.uuid4()}"
    path, body = f"/projects/{code}/problems", b'{"summary":"twin"}'
    await _claim(settings, "owner-a", key, timedelta(0), idempotency.request_fingerprint("POST", path, body))
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.5)
    problems = await open_problems(api, code)
    headers = {**keyed(key), "Content-Type": "application/json"}
    r = await api.call("POST", path, "owner-a", content=body, headers=headers)
    assert_problem(r, 409, "request_in_progress")
    assert await open_problems(api, code) == problems


@pytest.mark.parametrize("key", ["x" * 201, "clé-unicode", "with space", "tab\there"])
async def test_a_malformed_key_is_refused(api: Api, code: str, key: str) -> None:
    problems = await open_problems(api, code)
    headers = {"Idempotency-Key": key.encode("utf-8")}
    r = await api.post(f"/projects/{code}/problems", "owner-a", json={"summary": "bad key"}, headers=headers)
    assert_problem(r, 422, "invalid_idempotency_key")
    assert await open_problems(api, code) == problems


async def test_a_login_is_never_recorded(api: Api, settings: Settings) -> None:
    """Logging in is safe to repeat; recording it would store an access token in the database."""
    key = f"k-{uuid.uuid4()}"
    headers = {**keyed(key), "Authorization": f"Bearer {await api.token('office-1')}"}
    r = await api.client.post("/auth/token", data={"username": "office-1", "password": "demo"}, headers=headers)
    assert r.status_code == 200, r.text
    assert await stored_keys(settings, key) == []


def _org_a() -> Any:
    from models.seed import ORG_A

    return ORG_A
