"""Throwaway read-model databases for tests and benchmarks, and the schema migrations `make run` applies."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from psycopg import sql
from psycopg.rows import TupleRow
from sqlalchemy.engine import URL, make_url

from models.db import sync_url

ROOT = Path(__file__).resolve().parents[1]


def migrate(url: str) -> None:
    """Apply the Alembic migrations, as `make run` does."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", sync_url(url))
    command.upgrade(config, "head")


def create_database(base_url: str | None) -> str:
    """A fresh, empty read-model database; its SQLAlchemy URL.

    With a PostgreSQL URL, a uniquely named database on that server; with None, a SQLite file.
    """
    if base_url is None:
        return f"sqlite:///{Path(tempfile.gettempdir()) / f'readmodel-{secrets.token_hex(6)}.db'}"
    name = f"approvals_test_{secrets.token_hex(6)}"
    url = make_url(base_url)
    with _maintenance_connection(url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Remove a database made by create_database, even while connections to it are still open."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    with _maintenance_connection(parsed) as conn:
        # A pool left open by a test would make a plain DROP fail: FORCE (PostgreSQL 13+) first
        # terminates the sessions connected to it, with no window for them to reconnect.
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(parsed.database or "")))


def _maintenance_connection(url: URL) -> psycopg.Connection[TupleRow]:
    # CREATE/DROP DATABASE cannot run in a transaction, nor from inside the database being dropped.
    return psycopg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        dbname="postgres",
        autocommit=True,
    )
