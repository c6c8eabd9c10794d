"""Statements sent together.

A publish writes a handful of statements (events, notifications, steps, problems, totals) and
reads none of their results; before them it reads two things at once (whether the project row
still holds this worker's last write, and who is told of the new events). Sent through the
session, each statement costs SQLAlchemy's execution and a round trip to the database in turn. On
PostgreSQL a `Batch` sends what was queued in one psycopg pipeline, as SQL compiled once per
statement and set of columns, with the values bound by the columns' own types (the conversions
SQLAlchemy applies); elsewhere (SQLite) it executes them one after another through the session.
Either way they run in the session's transaction. Queue statements built once (their builders
keep them): each is compiled once per set of columns and the compiled form kept.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, Select, Update
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel.ext.asyncio.session import AsyncSession

Row = dict[str, Any]
Statement = Insert | Update | Select[Any]


class Answer:
    """The rows a queued statement returned, once the batch is sent (values as the driver reads them)."""

    rows: list[tuple[Any, ...]]


class Batch:
    """Statements queued with their rows, sent in order by `send`; `ask` queues one whose rows are read."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._queued: list[tuple[Statement, list[Row], Answer | None]] = []

    def add(self, statement: Statement, rows: list[Row]) -> None:
        """Queue the statement once per row (nothing when there are no rows)."""
        if rows:
            self._queued.append((statement, rows, None))

    def ask(self, statement: Statement, params: Row) -> Answer:
        """Queue the statement once, with `params`; its rows are in the answer after `send`."""
        answer = Answer()
        self._queued.append((statement, [params], answer))
        return answer

    async def send(self, commit: bool = False) -> None:
        """Execute what was queued, in order, and with `commit` commit the transaction in the same
        round trip; a failure raises and leaves the transaction to roll back."""
        queued, self._queued = self._queued, []
        if not queued:
            if commit:
                await self.session.commit()
            return
        connection = await self.session.connection()
        dialect = connection.dialect
        if dialect.name != "postgresql":
            for statement, rows, answer in queued:
                result = await self.session.execute(statement, rows if answer is None else rows[0])
                if answer is not None:
                    answer.rows = [tuple(row) for row in result]
            if commit:
                await self.session.commit()
            return
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None  # a connection checked out of the pool has its driver's
        asked = []
        async with driver.pipeline(), driver.cursor() as writes:
            for statement, rows, answer in queued:
                sql, bind = _compiled(statement, dialect, tuple(rows[0]))
                if answer is None:
                    await writes.executemany(sql, [bind(row) for row in rows])
                else:
                    cursor = driver.cursor()  # a cursor of its own keeps its result
                    await cursor.execute(sql, bind(rows[0]))
                    asked.append((cursor, answer))
            if commit:
                await driver.commit()  # queued as the pipeline's last command
        if commit:
            await self.session.commit()  # the session's side of it: the driver has nothing left to commit
        for cursor, answer in asked:  # the pipeline is synced: every result is in
            async with cursor:
                answer.rows = list(await cursor.fetchall())


@lru_cache(maxsize=1024)
def _compiled(statement: Statement, dialect: Dialect, keys: tuple[str, ...]) -> tuple[str, Callable[[Row], Row]]:
    """The statement's SQL for rows with these keys, and how to turn a row into its parameters."""
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    assert isinstance(compiled, SQLCompiler)
    if compiled.insert_prefetch or compiled.positiontup or compiled.escaped_bind_names:
        raise ValueError("a batched statement takes its parameters by name, all of them from its rows")
    converters = {
        name: param.type.dialect_impl(dialect).bind_processor(dialect) for name, param in compiled.binds.items()
    }

    def bind(row: Row) -> Row:
        return {name: row[name] if convert is None else convert(row[name]) for name, convert in converters.items()}

    return compiled.string, bind
