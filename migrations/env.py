"""Alembic environment: the read model's URL comes from the service settings (DATABASE_URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from models.db import sync_url
from settings import get_settings

config = context.config
url = config.get_main_option("sqlalchemy.url") or sync_url(get_settings().database_url)


def run_migrations() -> None:
    """Apply migrations over one connection; SQLite uses batch mode for ALTERs."""
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=SQLModel.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
