"""`q` reads lower-cased names from the index it walks, and codes as they are

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 20:10:00

A name fragment that many projects hold (a place and a kind of works) is answered by walking the
code index in code order and keeping the rows whose name holds it (0008). Lower-casing each name
on the way cost two thirds of that walk: the index now stores `lower(name)` as its second key, so
the walk reads it instead of computing it (1.5 ms instead of 5 for 8,000 rows at 100,000 projects).
A code holds only digits, hyphens and an upper-case X, so `q` matches codes as they are stored,
upper-cased (api/queries.py), and their trigram index is on the code itself. PostgreSQL only.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUMMARY = "name, category, status, colour, stage, owner_org, agent, key_project, created_at"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_projects_code_summary")
        op.execute(f"CREATE INDEX ix_projects_code_summary ON projects (code, lower(name)) INCLUDE ({SUMMARY})")
        op.execute("DROP INDEX IF EXISTS ix_projects_code_trgm")
        op.execute("CREATE INDEX ix_projects_code_trgm ON projects USING gin (code gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_projects_code_trgm")
        op.execute("CREATE INDEX ix_projects_code_trgm ON projects USING gin (lower(code) gin_trgm_ops)")
        op.execute("DROP INDEX IF EXISTS ix_projects_code_summary")
        op.execute(f"CREATE INDEX ix_projects_code_summary ON projects (code) INCLUDE ({SUMMARY})")
