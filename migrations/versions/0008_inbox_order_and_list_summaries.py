"""inbox items in due order (open rectifications by department, open problems by level); the list's
columns in code order

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 14:40:00

An inbox page takes each kind of task in the order of its deadline (a task without one last) and
cuts it to the page before the kinds are merged (api/queries.py). A department's steps already come
from an index in that order (0007); these two give the same to the open rectifications of a
department and the open problems of a level, so a page is an index range there too. PostgreSQL
only, like the trigram indexes: the expression spells the instant a task without a deadline sorts
at, as the inbox writes it into its SQL.

A list shows a few columns of each project (api/queries.py, SUMMARY_COLUMNS). Kept with the code in
one index, a list that walks the projects in code order and filters them (`q` where it matches many)
reads that index alone, not the table's rows.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE = "coalesce(due_at, '9999-12-31 00:00:00+00'::timestamptz)"
SUMMARY = "name, category, status, colour, stage, owner_org, agent, key_project, created_at"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE INDEX ix_rectifications_department_due ON rectifications"
            f" (department, {DUE}, code, step, id) WHERE status = 'open'"
        )
        op.execute(
            f"CREATE INDEX ix_problems_level_due ON problems"
            f" (level, {DUE}, code, coalesce(step, ''), id) WHERE status = 'open'"
        )
        op.execute(f"CREATE INDEX ix_projects_code_summary ON projects (code) INCLUDE ({SUMMARY})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_projects_code_summary")
        op.execute("DROP INDEX IF EXISTS ix_problems_level_due")
        op.execute("DROP INDEX IF EXISTS ix_rectifications_department_due")
