"""Writes whose results nobody reads, sent together.

A publish writes a handful of statements (events, notifications, steps, problems, totals) and
reads none of their results. Sent through the session, each costs SQLAlchemy's execution of a
statement and a round trip to the database in turn. On PostgreSQL a `Batch` sends them all in one
psycopg pipeline, as SQL compiled once per statement and set of columns, with the values bound by
the columns' own types (the same conversions SQLAlchemy applies); elsewhere (SQLite) it executes
them one after another through the session. Either way they run in the session's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel.ext.asyncio.session import AsyncSession

Row = dict[str, Any]


class Batch:
    """Statements queued with their rows, sent in order by `send`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._queued: list[tuple[Insert, list[Row]]] = []

    def add(self, statement: Insert, rows: list[Row]) -> None:
        """Queue the statement once per row (nothing when there are no rows)."""
        if rows:
            self._queued.append((statement, rows))

    async def send(self) -> None:
        """Execute what was queued, in order; a failure raises as the session's would."""
        queued, self._queued = self._queued, []
        if not queued:
            return
        connection = await self.session.connection()
        dialect = connection.dialect
        if dialect.name != "postgresql":
            for statement, rows in queued:
                await self.session.execute(statement, rows)
            return
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None  # a connection checked out of the pool has its driver's
        async with driver.pipeline(), driver.cursor() as cursor:
            for statement, rows in queued:
                sql, bind = _compiled(statement, dialect, tuple(rows[0]))
                await cursor.executemany(sql, [bind(row) for row in rows])


@cache
def _compiled(statement: Insert, dialect: Dialect, keys: tuple[str, ...]) -> tuple[str, Callable[[Row], Row]]:
    """The statement's SQL for rows with these keys, and how to turn a row into its parameters."""
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    assert isinstance(compiled, SQLCompiler)
    if compiled.insert_prefetch or compiled.positiontup or compiled.escaped_bind_names:
        raise ValueError("a batched statement takes its parameters by name, all of them from the rows")
    converters = {
        name: param.type.dialect_impl(dialect).bind_processor(dialect) for name, param in compiled.binds.items()
    }

    def bind(row: Row) -> Row:
        return {name: row[name] if convert is None else convert(row[name]) for name, convert in converters.items()}

    return compiled.string, bind
