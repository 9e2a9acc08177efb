"""telemetry samples partitioned by UTC day (PostgreSQL)

Revision ID: part00000001
Revises: bcrd00000001
Create Date: 2026-12-07 12:00:00

On PostgreSQL ``telemetry_samples`` becomes a table partitioned by RANGE on ``time``, one
partition per UTC day, plus a DEFAULT partition that takes whatever no day partition
covers (an ingest never fails for want of a partition). The partitions live in their own
schema, ``telemetry_partitions``, so the application schema lists exactly the models'
tables. The existing rows are copied: a partition is created for every day that has
samples, and for today and the week ahead. The primary key (parameter_id, time) and the
BRIN index on time are declared on the parent, so every partition has them. The trigger
that deletes a parameter's samples names ``telemetry_samples`` and keeps working.

SQLite keeps its plain table: nothing happens there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "part00000001"
down_revision: str | None = "bcrd00000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SCHEMA = "telemetry_partitions"
# Partitions of every day with samples, and of today and the 7 days ahead (the
# application creates further days itself: telemetry.partitions).
_CREATE_DAY = """
DO $$
DECLARE day date;
BEGIN
    FOR day IN
        SELECT DISTINCT (time AT TIME ZONE 'UTC')::date FROM telemetry_samples_unpartitioned
        UNION
        SELECT (now() AT TIME ZONE 'UTC')::date + ahead
        FROM generate_series(0, 7) AS ahead
    LOOP
        EXECUTE format(
            'CREATE TABLE telemetry_partitions.%I PARTITION OF telemetry_samples '
            'FOR VALUES FROM (%L) TO (%L)',
            'samples_' || to_char(day, 'YYYYMMDD'),
            day::timestamp AT TIME ZONE 'UTC',
            (day + 1)::timestamp AT TIME ZONE 'UTC'
        );
    END LOOP;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE telemetry_samples RENAME TO telemetry_samples_unpartitioned")
    op.execute(
        "ALTER TABLE telemetry_samples_unpartitioned "
        "RENAME CONSTRAINT pk_telemetry_samples TO pk_telemetry_samples_unpartitioned"
    )
    op.execute("DROP INDEX ix_telemetry_samples_time")
    op.execute(
        "CREATE TABLE telemetry_samples ("
        "parameter_id integer NOT NULL, "
        '"time" timestamp with time zone NOT NULL, '
        "value double precision NOT NULL, "
        "CONSTRAINT pk_telemetry_samples PRIMARY KEY (parameter_id, time)"
        ") PARTITION BY RANGE (time)"
    )
    op.execute("CREATE INDEX ix_telemetry_samples_time ON telemetry_samples USING brin (time)")
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {_SCHEMA}")
    op.execute(f"CREATE TABLE {_SCHEMA}.samples_default PARTITION OF telemetry_samples DEFAULT")
    op.execute(_CREATE_DAY)
    op.execute(
        "INSERT INTO telemetry_samples (parameter_id, time, value) "
        "SELECT parameter_id, time, value FROM telemetry_samples_unpartitioned"
    )
    op.execute("DROP TABLE telemetry_samples_unpartitioned")
    op.execute("ANALYZE telemetry_samples")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE telemetry_samples_unpartitioned ("
        "parameter_id integer NOT NULL, "
        '"time" timestamp with time zone NOT NULL, '
        "value double precision NOT NULL)"
    )
    op.execute(
        "INSERT INTO telemetry_samples_unpartitioned (parameter_id, time, value) "
        "SELECT parameter_id, time, value FROM telemetry_samples"
    )
    op.execute("DROP TABLE telemetry_samples")  # and every partition
    op.execute(f"DROP SCHEMA IF EXISTS {_SCHEMA} CASCADE")
    op.execute("ALTER TABLE telemetry_samples_unpartitioned RENAME TO telemetry_samples")
    op.execute(
        "ALTER TABLE telemetry_samples "
        "ADD CONSTRAINT pk_telemetry_samples PRIMARY KEY (parameter_id, time)"
    )
    op.execute("CREATE INDEX ix_telemetry_samples_time ON telemetry_samples USING brin (time)")
