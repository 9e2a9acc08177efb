"""indexes the query-plan check asked for: numeric catalog order, open conjunctions by TCA

Revision ID: plan00000001
Revises: part00000001
Create Date: 2026-12-07 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "plan00000001"
down_revision: str | None = "part00000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # SQLite cannot reflect expression indexes
        _numeric_order_indexes()
    op.create_index(
        "ix_conjunction_events_open_tca",
        "conjunction_events",
        ["tca"],
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )


def _numeric_order_indexes() -> None:
    op.create_index(
        "ix_catalog_objects_numeric_order",
        "catalog_objects",
        [sa.text("length(catalog_number)"), "catalog_number"],
    )
    op.create_index(
        "ix_catalog_overlay_objects_numeric_order",
        "catalog_overlay_objects",
        ["organisation_id", sa.text("length(catalog_number)"), "catalog_number"],
    )


def downgrade() -> None:
    op.drop_index("ix_conjunction_events_open_tca", table_name="conjunction_events")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(
            "ix_catalog_overlay_objects_numeric_order", table_name="catalog_overlay_objects"
        )
        op.drop_index("ix_catalog_objects_numeric_order", table_name="catalog_objects")
