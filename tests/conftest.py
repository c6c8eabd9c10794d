"""Session fixtures: a real Temporal dev server, a real read-model database, the real HTTP app."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.worker import Worker

from api.main import create_app
from launch.databases import create_database, drop_database, migrate
from launch.processes import TemporalDevServer
from models.seed import seed
from settings import Settings
from worker import build_worker
from workflows.search import connect

T = TypeVar("T")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# One working day lasts this long in the chain tests: long enough that nothing goes overdue
# by accident, short enough to be real. Clock tests start their own stack with a shorter day.
WORKDAY_SECONDS = 3600.0


@pytest.fixture(scope="session")
def temporal_server() -> Iterator[TemporalDevServer]:
    server = TemporalDevServer.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = create_database(os.environ.get("APPROVALS_TEST_DATABASE_URL"))
    migrate(url)
    yield url
    drop_database(url)


def make_settings(database_url: str, temporal_address: str, **overrides: Any) -> Settings:
    """Test settings on a task queue of their own."""
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "temporal_address": temporal_address,
        "task_queue": f"approvals-test-{uuid.uuid4().hex[:8]}",
        "workday_seconds": WORKDAY_SECONDS,
        "seed_demo": True,
        "demo_password": "demo",
        # Uploaded documents go to a folder of the test run's own, not the working tree's .data/.
        "storage_dir": tempfile.mkdtemp(prefix="documents-"),
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture(scope="session")
async def settings(database_url: str, temporal_server: TemporalDevServer) -> Settings:
    settings = make_settings(database_url, temporal_server.address)
    await seed(settings)
    return settings


@pytest.fixture(scope="session")
async def temporal_client(settings: Settings) -> Client:
    return await connect(settings.temporal_address, settings.temporal_namespace)


@pytest.fixture(scope="session")
async def worker(temporal_client: Client, settings: Settings) -> AsyncIterator[Worker]:
    w = build_worker(temporal_client, settings)
    async with w:
        yield w


class Api:
    """The real app over ASGI, with a login cache per demo user."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}

    async def token(self, username: str) -> str:
        if username not in self.tokens:
            r = await self.client.post("/auth/token", data={"username": username, "password": "demo"})
            assert r.status_code == 200, r.text
            self.tokens[username] = r.json()["access_token"]
        return self.tokens[username]

    async def call(self, method: str, path: str, as_user: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if as_user is not None:
            headers["Authorization"] = f"Bearer {await self.token(as_user)}"
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def get(self, path: str, as_user: str, **kwargs: Any) -> httpx.Response:
        return await self.call("GET", path, as_user, **kwargs)

    async def post(self, path: str, as_user: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.call("POST", path, as_user, json=json if json is not None else {}, **kwargs)

    async def every(self, path: str, as_user: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paged list (`/tasks`, `/problems`, `/projects`), following its cursors."""
        items: list[dict[str, Any]] = []
        cursor = None
        for _ in range(1000):
            query = {**params, "limit": 200, **({"cursor": cursor} if cursor else {})}
            r = await self.get(path, as_user, params=query)
            assert r.status_code == 200, r.text
            items += r.json()["items"]
            cursor = r.json()["next_cursor"]
            if cursor is None:
                return items
        raise AssertionError(f"{path} did not end within 1000 pages")


async def open_api(app: FastAPI) -> AsyncIterator[Api]:
    """Run the app's lifespan and yield a client talking to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://approvals.test") as client:
            yield Api(client)


@pytest.fixture(scope="session")
async def api(settings: Settings, worker: Worker) -> AsyncIterator[Api]:
    async for opened in open_api(create_app(settings)):
        yield opened


async def eventually(check: Callable[[], Awaitable[T]], within: float = 20.0, interval: float = 0.1) -> T:
    """Poll `check` until it returns without an AssertionError, or fail with its last error."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            return await check()
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(interval)
