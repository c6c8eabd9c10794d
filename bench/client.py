"""HTTP calls the benchmarks make against the running API, as the demo users would make them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from bench.chain import steps
from models.seed import ORG_A

STEP = "project_approval"
USERS = ("owner-a", "agent-1", "reviewer-drc")


def new_http(base_url: str, connections: int = 20) -> httpx.AsyncClient:
    """A client for the API on loopback; proxies from the environment are ignored."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits, trust_env=False)


async def login(base_url: str, users: Sequence[str] = USERS) -> dict[str, str]:
    """A bearer token for each demo user."""
    tokens: dict[str, str] = {}
    async with new_http(base_url) as http:
        for user in users:
            r = await http.post("/auth/token", data={"username": user, "password": "demo"})
            r.raise_for_status()
            tokens[user] = r.json()["access_token"]
    return tokens


def creation_body(name: str, category: str = "general") -> dict[str, Any]:
    """POST /projects's body: a project of owner-a's organisation."""
    return {"name": name, "category": category, "owner_credit_code": ORG_A, "investment_wan": 1200.0}


class ApiClient:
    """One caller's connection pool plus the shared tokens; each method is one HTTP request."""

    def __init__(self, base_url: str, tokens: dict[str, str], connections: int = 20) -> None:
        self.http = new_http(base_url, connections)
        self.tokens = tokens

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    def _auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    async def create(self, user: str, name: str, category: str = "general") -> httpx.Response:
        """POST /projects: a project of owner-a's organisation, `general` unless said otherwise."""
        return await self.http.post("/projects", json=creation_body(name, category), headers=self._auth(user))

    async def submit(self, user: str, code: str, step: str = STEP, key: str | None = None) -> httpx.Response:
        """POST /projects/{code}/steps/{step}/submit, with an Idempotency-Key when given."""
        body = {"note": "materials attached"}
        headers = self._auth(user) | ({"Idempotency-Key": key} if key else {})
        return await self.http.post(f"/projects/{code}/steps/{step}/submit", json=body, headers=headers)

    async def project(self, user: str, code: str) -> httpx.Response:
        """GET /projects/{code}."""
        return await self.http.get(f"/projects/{code}", headers=self._auth(user))


def expect(r: httpx.Response, status: int, what: str) -> dict[str, Any]:
    """The JSON body, or a RuntimeError naming the request and the answer."""
    if r.status_code != status:
        raise RuntimeError(f"{what}: expected {status}, got {r.status_code}: {r.text[:500]}")
    body: dict[str, Any] = r.json()
    return body


def step_of(project: dict[str, Any], key: str = STEP) -> dict[str, Any]:
    """One step of a project view."""
    return steps(project)[key]


async def in_parallel(count: int, concurrency: int, job: Callable[[int], Awaitable[None]]) -> None:
    """Run job(0..count-1) with at most `concurrency` at a time; the first failure propagates."""
    queue = iter(range(count))

    async def lane() -> None:
        for i in queue:
            await job(i)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, count)):
                group.create_task(lane())
    except ExceptionGroup as err:
        raise err.exceptions[0] from None


async def create_projects(
    api: ApiClient,
    count: int,
    concurrency: int,
    creators: Sequence[str] = ("owner-a", "agent-1"),
    category: str = "general",
) -> list[str]:
    """Create `count` projects of `category`, creators taking turns; their codes in creation order."""
    codes: list[str | None] = [None] * count

    async def one(i: int) -> None:
        r = await api.create(creators[i % len(creators)], f"bench project {i}", category)
        codes[i] = expect(r, 201, "POST /projects")["code"]

    await in_parallel(count, concurrency, one)
    return [c for c in codes if c is not None]


async def submit_projects(api: ApiClient, codes: Sequence[str], concurrency: int, user: str = "owner-a") -> None:
    """Submit project_approval on each project."""

    async def one(i: int) -> None:
        expect(await api.submit(user, codes[i]), 200, f"submit {codes[i]}")

    await in_parallel(len(codes), concurrency, one)
