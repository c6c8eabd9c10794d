"""documents (uploaded application materials) and stored_objects (their bytes, once per sha256)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", text(36), nullable=False),
        sa.Column("code", text(24), nullable=False),
        sa.Column("step", text(60), nullable=True),
        sa.Column("filename", text(255), nullable=False),
        sa.Column("content_type", text(100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", text(64), nullable=False),
        sa.Column("uploaded_by", text(64), nullable=False),
        sa.Column("uploaded_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attached_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("request_key", text(270), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_key"),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_documents_code"), ["code"], unique=False)
        batch_op.create_index(batch_op.f("ix_documents_sha256"), ["sha256"], unique=False)
        batch_op.create_index("ix_documents_unattached", ["attached_at", "uploaded_at"], unique=False)
    op.create_table(
        "stored_objects",
        sa.Column("sha256", text(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("stored_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )


def downgrade() -> None:
    op.drop_table("stored_objects")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index("ix_documents_unattached")
        batch_op.drop_index(batch_op.f("ix_documents_sha256"))
        batch_op.drop_index(batch_op.f("ix_documents_code"))
    op.drop_table("documents")
