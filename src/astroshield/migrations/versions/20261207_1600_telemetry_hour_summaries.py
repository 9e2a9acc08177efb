"""telemetry hour summaries: one row per parameter and UTC hour, for long-span bucket queries

Revision ID: summ00000001
Revises: plan00000001
Create Date: 2026-12-07 16:00:00

The table is filled from what the archive holds now (samples, minute and hour aggregates),
in the migration's transaction; from then on the ingest keeps it up to date. At archive
scale the backfill reads every sample once (about 1 M samples/s on the benchmark machine).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "summ00000001"
down_revision: str | None = "plan00000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The cascade that stands in for foreign keys (see the telemetry revisions) now also
# reaches the summaries.
_CASCADE_BEFORE = (
    "DELETE FROM telemetry_samples WHERE parameter_id = OLD.id; "
    "DELETE FROM telemetry_aggregates_1m WHERE parameter_id = OLD.id; "
    "DELETE FROM telemetry_aggregates_1h WHERE parameter_id = OLD.id;"
)
_CASCADE_AFTER = (
    "DELETE FROM telemetry_samples WHERE parameter_id = OLD.id; "
    "DELETE FROM telemetry_aggregates_1m WHERE parameter_id = OLD.id; "
    "DELETE FROM telemetry_aggregates_1h WHERE parameter_id = OLD.id; "
    "DELETE FROM telemetry_hour_summaries WHERE parameter_id = OLD.id;"
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


def _backfill() -> None:
    if op.get_bind().dialect.name == "postgresql":

        def hour(column: str) -> str:
            # In UTC whatever the session's TimeZone.
            return f"date_trunc('hour', {column}, 'UTC')"
    else:

        def hour(column: str) -> str:
            # The text layout SQLAlchemy stores SQLite datetimes in.
            return f"strftime('%Y-%m-%d %H:00:00.000000', {column})"

    # Only the fixed expressions above are formatted in: nothing comes from outside.
    op.execute(
        "INSERT INTO telemetry_hour_summaries "  # noqa: S608
        "(parameter_id, hour_start, count, min, max, total) "
        "SELECT parameter_id, hour, sum(n), min(lo), max(hi), sum(total) FROM ("
        f"SELECT parameter_id, {hour('time')} AS hour, count(*) AS n, min(value) AS lo, "
        "max(value) AS hi, sum(value) AS total FROM telemetry_samples GROUP BY 1, 2 "
        f"UNION ALL SELECT parameter_id, {hour('bucket_start')}, sum(count), min(min), "
        "max(max), sum(avg * count) FROM telemetry_aggregates_1m GROUP BY 1, 2 "
        "UNION ALL SELECT parameter_id, bucket_start, count, min, max, avg * count "
        "FROM telemetry_aggregates_1h"
        ") AS parts GROUP BY parameter_id, hour"
    )


def upgrade() -> None:
    op.create_table(
        "telemetry_hour_summaries",
        sa.Column("parameter_id", sa.Integer(), nullable=False),
        sa.Column("hour_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("min", sa.Double(), nullable=False),
        sa.Column("max", sa.Double(), nullable=False),
        sa.Column("total", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint(
            "parameter_id", "hour_start", name=op.f("pk_telemetry_hour_summaries")
        ),
    )
    _backfill()
    _replace_cascade_trigger(_CASCADE_AFTER)


def downgrade() -> None:
    _replace_cascade_trigger(_CASCADE_BEFORE)
    op.drop_table("telemetry_hour_summaries")
