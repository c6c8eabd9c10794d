"""read model at scale: list indexes in code order, trigram search, problem queues in opening order

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 11:40:00

A list filters on one column and pages in code order: an index on (column, code) answers a page
without sorting. The problem queues page in (opened_at, id) order, open ones unless asked. A
department's inbox pages over a partial index of the steps it holds, in the order of a new column,
steps.inbox_due. /stats reads running totals (table `totals`, models/totals.py), filled here from
the rows. On PostgreSQL, `q` (anywhere in the name or the code) is answered from trigram indexes
(pg_trgm).
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The project columns a list filters on: each had an index of its own, now (column, code).
FILTERED = ("category", "status", "colour", "stage", "owner_org", "agent")
# The steps a department holds, in its inbox.
DEPARTMENT_HOLDS = sa.text("status IN ('in_review', 'granted')")
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)
# The totals as models/totals.py keeps them, from the rows (the hours of a resolved problem: below).
REVIEWED_KEY = "department || '~' || stage"
TOTALS = [
    *(f"SELECT 'projects.{d}', {d}, count(*) FROM projects GROUP BY {d}" for d in ("stage", "colour", "status")),
    *(
        f"SELECT 'reviewed.{name}', {REVIEWED_KEY}, {value} FROM steps"
        " WHERE status IN ('approved', 'rejected') AND NOT commitment GROUP BY department, stage"
        for name, value in (
            ("decided", "count(*)"),
            ("on_time", "sum(CASE WHEN used_days <= limit_days THEN 1 ELSE 0 END)"),
            ("used", "sum(used_days)"),
            ("limit", "sum(limit_days)"),
            ("rated", "count(rating)"),
            ("good", "sum(CASE WHEN rating >= 4 THEN 1 ELSE 0 END)"),
        )
    ),
    "SELECT 'problems.open', CAST(level AS VARCHAR), count(*) FROM problems WHERE status = 'open' GROUP BY level",
]
RESOLVED = "FROM problems WHERE status = 'resolved' AND resolved_at IS NOT NULL"
HOURS = {
    "postgresql": "extract(epoch FROM resolved_at - opened_at) / 3600",
    "sqlite": "(julianday(resolved_at) - julianday(opened_at)) * 24",
}


def upgrade() -> None:
    for column in FILTERED:
        op.drop_index(f"ix_projects_{column}", table_name="projects")
        op.create_index(f"ix_projects_{column}_code", "projects", [column, "code"], unique=False)
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inbox_due", models.types.UTCDateTime(timezone=True), nullable=True))
    steps = sa.table(
        "steps",
        sa.column("status", sa.String()),
        sa.column("deadline", models.types.UTCDateTime()),
        sa.column("verify_deadline", models.types.UTCDateTime()),
        sa.column("inbox_due", models.types.UTCDateTime()),
    )
    holder = sa.case((steps.c.status == "granted", steps.c.verify_deadline), else_=steps.c.deadline)
    op.execute(steps.update().values(inbox_due=sa.func.coalesce(holder, sa.literal(NO_DEADLINE, models.types.UTCDateTime()))))
    op.create_index(
        "ix_steps_department_due",
        "steps",
        ["department", "inbox_due", "code", "key"],
        unique=False,
        postgresql_where=DEPARTMENT_HOLDS,
        sqlite_where=DEPARTMENT_HOLDS,
    )
    op.create_table(
        "totals",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", "key"),
    )
    hours = HOURS[op.get_bind().dialect.name]
    resolved = [f"SELECT 'problems.resolved', '', count(*) {RESOLVED}", f"SELECT 'problems.resolved_hours', '', coalesce(sum({hours}), 0) {RESOLVED}"]
    for select in [*TOTALS, *resolved]:
        op.execute(f"INSERT INTO totals (name, key, value) {select}")
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
    op.drop_table("totals")
    op.drop_index("ix_steps_department_due", table_name="steps")
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_column("inbox_due")
    for column in FILTERED:
        op.drop_index(f"ix_projects_{column}_code", table_name="projects")
        op.create_index(f"ix_projects_{column}", "projects", [column], unique=False)
