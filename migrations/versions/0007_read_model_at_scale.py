"""read model at scale: list indexes in code order, trigram search, problem queues in opening order

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 11:40:00

A list filters on one column and pages in code order: an index on (column, code) answers a page
without sorting. /stats sums reviewed steps from a partial index of them. The problem queues page in (opened_at, id) order, open ones first asked. On
PostgreSQL, `q` (anywhere in the name or the code) is answered from trigram indexes (pg_trgm).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The project columns a list filters on: each had an index of its own, now (column, code).
FILTERED = ("category", "status", "colour", "stage", "owner_org", "agent")
# The steps /stats sums: decided after a review (a granted commitment is not reviewed).
REVIEWED = sa.text("status IN ('approved', 'rejected') AND NOT commitment")


def upgrade() -> None:
    for column in FILTERED:
        op.drop_index(f"ix_projects_{column}", table_name="projects")
        op.create_index(f"ix_projects_{column}_code", "projects", [column, "code"], unique=False)
    op.create_index(
        "ix_steps_reviewed",
        "steps",
        ["department", "stage"],
        unique=False,
        postgresql_include=["used_days", "limit_days", "rating"],
        postgresql_where=REVIEWED,
        sqlite_where=REVIEWED,
    )
    op.create_index("ix_problems_opened", "problems", ["opened_at", "id"], unique=False)
    op.create_index("ix_problems_status_opened", "problems", ["status", "opened_at", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_projects_name_trgm ON projects USING gin (lower(name) gin_trgm_ops)")
        op.execute("CREATE INDEX ix_projects_code_trgm ON projects USING gin (lower(code) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_projects_code_trgm")
        op.execute("DROP INDEX IF EXISTS ix_projects_name_trgm")
    op.drop_index("ix_problems_status_opened", table_name="problems")
    op.drop_index("ix_problems_opened", table_name="problems")
    op.drop_index("ix_steps_reviewed", table_name="steps")
    for column in FILTERED:
        op.drop_index(f"ix_projects_{column}_code", table_name="projects")
        op.create_index(f"ix_projects_{column}", "projects", [column], unique=False)
