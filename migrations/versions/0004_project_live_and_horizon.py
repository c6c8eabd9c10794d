"""projects: live and horizon (which projects a calendar change reaches)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("live", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column("horizon", models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_projects_live"), ["live"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_live"))
        batch_op.drop_column("horizon")
        batch_op.drop_column("live")
