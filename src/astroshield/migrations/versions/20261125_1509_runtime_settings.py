"""runtime settings

Revision ID: f04ab821d7cf
Revises: db49ea8f0c3a
Create Date: 2026-11-25 15:09:40.913454
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f04ab821d7cf"
down_revision: str | None = "db49ea8f0c3a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "runtime_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_runtime_settings")),
    )


def downgrade() -> None:
    op.drop_table("runtime_settings")
