"""conjunction events: window_edge of events found by a screening

A screening reports an approach cut off by its window (within the threshold at the window
end and still closing, or at the start and already receding) at that edge; the event's TCA
and miss are then the values at the edge, not the true minimum. ``window_edge`` says which
edge ('start' or 'end'); NULL for every other event, including all stored before.

Revision ID: e21d0e000001
Revises: c21b00000001
Create Date: 2026-12-07 01:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e21d0e000001"
down_revision: str | None = "c21b00000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite rebuilds the table to add the check constraint.
    with op.batch_alter_table("conjunction_events") as batch:
        batch.add_column(sa.Column("window_edge", sa.String(length=5), nullable=True))
        # NULL passes a CHECK, so only the two edges need naming.
        batch.create_check_constraint(
            op.f("ck_conjunction_events_window_edge_valid"), "window_edge IN ('start', 'end')"
        )


def downgrade() -> None:
    with op.batch_alter_table("conjunction_events") as batch:
        batch.drop_constraint(op.f("ck_conjunction_events_window_edge_valid"), type_="check")
        batch.drop_column("window_edge")
