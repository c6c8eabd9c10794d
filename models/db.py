"""Engines for the read model: one async engine per process, from the settings' sync URL."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.pq import ConnStatus
from pydantic_core import from_json, to_json
from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession


def async_url(url: str) -> str:
    """The async-driver form of a sync URL (psycopg serves both; SQLite goes through aiosqlite)."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if parsed.drivername in ("postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}: use sqlite:// or postgresql+psycopg://")


def sync_url(url: str) -> str:
    """The sync form used by Alembic."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def json_text(value: Any) -> str:
    """JSON columns' text, written by pydantic-core: each publish stores the whole project state
    as JSON, and the standard library's encoder was a tenth of that write's CPU."""
    return to_json(value).decode()


def json_value(text: str | bytes) -> Any:
    """A JSON column's value, parsed by pydantic-core: the project page reads the whole state and
    two hundred events' details, and the standard library's parser was a seventh of its CPU."""
    return from_json(text)


JSON_CODECS: dict[str, Any] = {"json_serializer": json_text, "json_deserializer": json_value}


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An async engine; SQLite gets WAL and a busy timeout so API and worker share the file."""
    target = async_url(url)
    if target.startswith("sqlite"):
        engine = create_async_engine(target, connect_args={"timeout": 30}, **JSON_CODECS)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(conn, _record):  # type: ignore[no-untyped-def]
            cursor = conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    engine = create_async_engine(target, pool_size=pool_size, max_overflow=pool_size, **JSON_CODECS)
    event.listen(engine.sync_engine.pool, "checkout", _check_open)
    return engine


def _check_open(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """The pool's check of a PostgreSQL connection it hands out, without a round trip (a ping costs
    one, a tenth to a sixth of a read's CPU in the API). A server that restarted, or ended the session,
    has closed the socket: reading what waits on it (its farewell message, then the end) finds that,
    and the pool then drops every connection older than now and opens a new one. A connection lost
    without a word, as a network may drop one, is found by its first statement instead, which fails
    once (a 503 in the API, a retry in the worker)."""
    pgconn = dbapi_connection.driver_connection.pgconn
    try:
        for _ in range(2):  # never blocks: it takes only what has already arrived
            pgconn.consume_input()
    except psycopg.OperationalError as err:
        raise InvalidatePoolError(str(err)) from err
    if pgconn.status != ConnStatus.OK:
        raise InvalidatePoolError("the connection is closed")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded rows usable after commit."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def reader_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for requests that only read: each statement on its own (autocommit), so a request
    sends no BEGIN and no ROLLBACK, two of the four round trips of a read, and the driver keeps the
    statements it prepared (a ROLLBACK drops them). Reading committed data statement by statement is
    what a transaction at the default level (read committed) does too."""
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), class_=AsyncSession, expire_on_commit=False
    )


def insert(session: AsyncSession, table: Table) -> Any:
    """The dialect's INSERT for `table`, which knows ON CONFLICT on PostgreSQL and SQLite alike."""
    return dialect_insert(dialect_of(session), table)


def dialect_of(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "postgresql"


def dialect_insert(dialect: str, table: Table) -> Any:
    """The INSERT of `dialect` (a name) for `table`, for statements built once per dialect."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
