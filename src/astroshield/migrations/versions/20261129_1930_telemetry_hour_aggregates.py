"""telemetry hour aggregates

Revision ID: a1c47a0c2006
Revises: a1c47a0c2005
Create Date: 2026-11-29 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c47a0c2006"
down_revision: str | None = "a1c47a0c2005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The cascade that stands in for foreign keys on samples and aggregates (see the telemetry
# revision) must now also reach hour aggregates.
_CASCADE_BEFORE = (
    "DELETE FROM telemetry_samples WHERE parameter_id = OLD.id; "
    "DELETE FROM telemetry_aggregates_1m WHERE parameter_id = OLD.id;"
)
_CASCADE_AFTER = (
    "DELETE FROM telemetry_samples WHERE parameter_id = OLD.id; "
    "DELETE FROM telemetry_aggregates_1m WHERE parameter_id = OLD.id; "
    "DELETE FROM telemetry_aggregates_1h WHERE parameter_id = OLD.id;"
)


def _replace_cascade_trigger(body: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION telemetry_parameters_cascade() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN {body} RETURN OLD; END $$"
        )
    else:
        op.execute("DROP TRIGGER trg_telemetry_parameters_cascade")
        op.execute(
            "CREATE TRIGGER trg_telemetry_parameters_cascade AFTER DELETE ON "
            f"telemetry_parameters FOR EACH ROW BEGIN {body} END"
        )


def upgrade() -> None:
    op.create_table(
        "telemetry_aggregates_1h",
        sa.Column("parameter_id", sa.Integer(), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("min", sa.Double(), nullable=False),
        sa.Column("max", sa.Double(), nullable=False),
        sa.Column("avg", sa.Double(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "parameter_id", "bucket_start", name=op.f("pk_telemetry_aggregates_1h")
        ),
    )
    op.create_index(
        "ix_telemetry_aggregates_1m_bucket_start",
        "telemetry_aggregates_1m",
        ["bucket_start"],
        postgresql_using="brin",
    )
    _replace_cascade_trigger(_CASCADE_AFTER)


def downgrade() -> None:
    _replace_cascade_trigger(_CASCADE_BEFORE)
    op.drop_index("ix_telemetry_aggregates_1m_bucket_start", table_name="telemetry_aggregates_1m")
    op.drop_table("telemetry_aggregates_1h")
