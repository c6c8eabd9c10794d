"""The Alembic migrations build exactly the tables the models describe, and unwind cleanly."""

from __future__ import annotations

import os

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (registers the tables)
from launch.databases import create_database, drop_database
from models.db import sync_url
from tests.conftest import ROOT


def test_migrations_match_the_models_and_downgrade() -> None:
    url = create_database(os.environ.get("APPROVALS_TEST_DATABASE_URL"))
    try:
        config = Config(os.path.join(ROOT, "alembic.ini"))
        config.set_main_option("sqlalchemy.url", sync_url(url))
        command.upgrade(config, "head")
        engine = create_engine(sync_url(url))
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert diff == []
        command.downgrade(config, "base")
        with engine.connect() as conn:
            assert set(engine.dialect.get_table_names(conn)) <= {"alembic_version"}
        command.upgrade(config, "head")
        engine.dispose()
    finally:
        drop_database(url)
