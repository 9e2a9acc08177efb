"""spacecraft hard-body radius

A spacecraft may carry the radius (m) of the sphere that encloses it, used as its part of the
combined hard-body radius of its conjunctions (astro.conjunction.hard_body). NULL, the value
of every spacecraft stored before, means not known: the CDM's or the default radius is used.

Revision ID: c21b00000001
Revises: b13e00000005
Create Date: 2026-12-07 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c21b00000001"
down_revision: str | None = "b13e00000005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite rebuilds the table to add the check constraint.
    with op.batch_alter_table("spacecraft") as batch:
        batch.add_column(sa.Column("hard_body_radius_m", sa.Float(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_spacecraft_hard_body_radius_valid"),
            "hard_body_radius_m IS NULL OR "
            "(hard_body_radius_m > 0 AND hard_body_radius_m <= 500.0)",
        )


def downgrade() -> None:
    with op.batch_alter_table("spacecraft") as batch:
        batch.drop_constraint(op.f("ck_spacecraft_hard_body_radius_valid"), type_="check")
        batch.drop_column("hard_body_radius_m")
