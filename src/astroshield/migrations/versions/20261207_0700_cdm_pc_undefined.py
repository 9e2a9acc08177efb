"""conjunction CDMs: a Pc may be undefined

A CDM whose covariance cannot be remediated (CARA eigenvalue clipping, issue 21) is still
stored so the event is tracked, but the Pc of the methods that need that covariance is
undefined: NULL, with the reason in the stored report (``pc_undefined_reason``).

Revision ID: n21d00000001
Revises: e21d0e000001
Create Date: 2026-12-07 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "n21d00000001"
down_revision: str | None = "e21d0e000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PC_COLUMNS = ("pc_2d_foster", "pc_2d_chan", "pc_max", "pc_3d", "pc_mc")


def upgrade() -> None:
    # Batch mode: SQLite rebuilds the table to drop NOT NULL.
    with op.batch_alter_table("conjunction_cdms") as batch:
        for column in _PC_COLUMNS:
            batch.alter_column(column, existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    # Rows with an undefined Pc cannot satisfy NOT NULL: they go, with their report.
    condition = " OR ".join(f"{column} IS NULL" for column in _PC_COLUMNS)
    op.execute(f"DELETE FROM conjunction_cdms WHERE {condition}")  # noqa: S608
    with op.batch_alter_table("conjunction_cdms") as batch:
        for column in _PC_COLUMNS:
            batch.alter_column(column, existing_type=sa.Float(), nullable=False)
