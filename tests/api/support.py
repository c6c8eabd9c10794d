"""Helpers for the API security tests: tokens that must not work, dedicated users, problem checks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.security import issue_token
from models.db import make_engine, session_factory
from models.passwords import hash_password
from models.tables import UserRow
from settings import Settings
from tests.chain import create
from tests.conftest import Api

PROBLEM_JSON = "application/problem+json"
# The callers of the authorization matrices (the API's and the pages'): the demo user of each role,
# and two more reviewers of the matrix's project: `other_reviewer` reviews for a department the
# project has reached (nrp: its land pre-review is open) but which does not own `project_approval`
# (drc) nor the rectification on it; `unreached_reviewer` for one it has not reached (fire), so
# every route on the project, its problems or its rectification answers it 404.
MATRIX_USERS = {
    "owner": "owner-a",
    "agent": "agent-1",
    "reviewer": "reviewer-drc",
    "other_reviewer": "reviewer-nrp",
    "unreached_reviewer": "reviewer-fire",
    "chief": "chief-initiation",
    "office": "office-1",
    "leader": "leader-1",
}
# Another service's secret: a token it signs must never open this one.
OTHER_SECRET = "not-the-approvals-secret-" + "x" * 24


def expired_token(settings: Settings, username: str = "office-1") -> str:
    """A token signed with the real secret that expired five minutes ago."""
    return issue_token(username, settings.secret_key, minutes=60, now=datetime.now(UTC) - timedelta(minutes=65))


def forged_token(username: str = "office-1") -> str:
    """A well-formed, unexpired token signed with another secret."""
    return issue_token(username, OTHER_SECRET, minutes=60)


def unsigned_token(username: str = "office-1") -> str:
    """A token with `alg: none` (no signature at all)."""
    claims = {"sub": username, "exp": datetime.now(UTC) + timedelta(hours=1)}
    return jwt.encode(claims, "", algorithm="none")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status (and machine code)."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers["content-type"]
    body: dict[str, Any] = r.json()
    assert body["status"] == status, body
    assert isinstance(body["code"], str) and body["code"], body
    assert isinstance(body["title"], str) and body["title"], body
    assert isinstance(body["detail"], str), body
    assert body["type"].endswith("/" + body["code"]), body
    if code is not None:
        assert body["code"] == code, body
    if status == 401:
        assert r.headers.get("www-authenticate", "").lower().startswith("bearer"), r.headers
    return body


def every_route(app: FastAPI) -> list[APIRoute]:
    """The app's endpoints (the API's, the pages', the docs') in the order the app serves them."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before included routers were kept lazily: app.routes are the routes
        return [r for r in app.routes if isinstance(r, APIRoute)]
    return [c.original_route for c in iter_route_contexts(app.routes) if isinstance(c.original_route, APIRoute)]


def api_routes(app: FastAPI) -> list[APIRoute]:
    """The JSON API's endpoints in the order the app serves them (the pages and the docs excluded)."""
    return [r for r in every_route(app) if r.include_in_schema]


def app_operations(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path template) of the JSON API."""
    return {(m, r.path) for r in api_routes(app) for m in r.methods or () if m != "HEAD"}


async def make_user(
    settings: Settings, role: str = "owner", password: str | None = None, **fields: Any
) -> tuple[str, str]:
    """A user of its own in the test database (so demo users are never locked); (username, password)."""
    username = f"{role}-{uuid.uuid4().hex[:10]}"
    password = password or f"pw-{uuid.uuid4().hex}"
    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            db.add(UserRow(username=username, password_hash=hash_password(password), role=role, **fields))
            await db.commit()
    finally:
        await engine.dispose()
    return username, password


async def user_row(settings: Settings, username: str) -> UserRow:
    """The user as stored now."""
    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            row = await db.get(UserRow, username)
            assert row is not None, username
            return row
    finally:
        await engine.dispose()


async def project_for(api: Api, agent: str, attempts: int = 40, **extra: Any) -> dict[str, Any]:
    """A project created by owner-a whose assigned deputy is `agent`.

    The service gives a new project to the least-loaded deputy; every project that goes to the
    other one raises that one's load, so a few attempts always reach `agent`.
    """
    for _ in range(attempts):
        project = await create(api, "general", "owner-a", **extra)
        if project["agent"] == agent:
            return project
    raise AssertionError(f"no project went to {agent} in {attempts} attempts")


async def event_count(api: Api, code: str) -> int:
    r = await api.get(f"/projects/{code}/events", "office-1")
    assert r.status_code == 200, r.text
    return len(r.json())
