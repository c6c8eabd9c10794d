"""The pool's check of a read-model connection it hands out (models/db.py): one the server ended is
replaced before a statement can fail on it, and a live one costs no round trip."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.db import make_engine
from tests.conftest import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("a server that ends sessions: PostgreSQL")
    engine = make_engine(database_url, pool_size=3)
    yield engine
    await engine.dispose()


def libpq_url(engine: AsyncEngine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def backends(engine: AsyncEngine, n: int) -> list[int]:
    """The server processes of `n` connections taken from the pool at once, then given back."""
    held: list[AsyncConnection] = [await engine.connect() for _ in range(n)]
    try:
        return [(await c.execute(text("SELECT pg_backend_pid()"))).scalar_one() for c in held]
    finally:
        for c in held:
            await c.close()


async def last_statement(engine: AsyncEngine, pid: int) -> str:
    async with await psycopg.AsyncConnection.connect(libpq_url(engine), autocommit=True) as admin:
        row = await (await admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (pid,))).fetchone()
        assert row is not None, f"backend {pid} is gone"
        return str(row[0])


async def test_connections_the_server_ended_are_replaced_before_use(engine: AsyncEngine) -> None:
    ended = await backends(engine, 3)
    async with await psycopg.AsyncConnection.connect(libpq_url(engine), autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (ended,))

        async def all_gone() -> None:
            found = await (
                await admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (ended,))
            ).fetchone()
            assert found == (0,), found

        await eventually(all_gone, within=10)
    # Every statement succeeds at the first try, each on a connection opened anew.
    now = await asyncio.gather(*(backends(engine, 1) for _ in range(3)))
    assert not {pid for (pid,) in now} & set(ended), (now, ended)


async def test_a_live_connection_is_handed_out_without_a_statement(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    returned = await last_statement(engine, pid)  # the reset of a connection given back
    async with engine.connect() as conn:
        # Taken from the pool again: the server has seen nothing since (a ping would show).
        assert await last_statement(engine, pid) == returned
        assert (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one() == pid
