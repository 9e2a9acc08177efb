"""telemetry parameters, samples, limits and alarms

Revision ID: a1c47a0c2003
Revises: a1c47a0c2002
Create Date: 2026-11-29 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c47a0c2003"
down_revision: str | None = "a1c47a0c2002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "telemetry_parameters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("spacecraft_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("valid_min", sa.Double(), nullable=True),
        sa.Column("valid_max", sa.Double(), nullable=True),
        sa.Column("enum_labels", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "type IN ('float', 'int', 'bool', 'enum', 'string')",
            name=op.f("ck_telemetry_parameters_type_valid"),
        ),
        sa.CheckConstraint(
            "length(name) >= 1", name=op.f("ck_telemetry_parameters_name_not_empty")
        ),
        sa.ForeignKeyConstraint(
            ["spacecraft_id"],
            ["spacecraft.id"],
            name=op.f("fk_telemetry_parameters_spacecraft_id_spacecraft"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telemetry_parameters")),
        sa.UniqueConstraint(
            "spacecraft_id", "name", name="uq_telemetry_parameters_spacecraft_name"
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "telemetry_definitions",
        sa.Column("spacecraft_id", sa.Uuid(), nullable=False),
        sa.Column("xtce", sa.Text(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["spacecraft_id"],
            ["spacecraft.id"],
            name=op.f("fk_telemetry_definitions_spacecraft_id_spacecraft"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("spacecraft_id", name=op.f("pk_telemetry_definitions")),
    )
    op.create_table(
        "telemetry_samples",
        sa.Column("parameter_id", sa.Integer(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("parameter_id", "time", name=op.f("pk_telemetry_samples")),
    )
    op.create_index(
        "ix_telemetry_samples_time",
        "telemetry_samples",
        ["time"],
        unique=False,
        postgresql_using="brin",
    )
    op.create_table(
        "telemetry_batches",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("spacecraft_id", sa.Uuid(), nullable=False),
        sa.Column("source_id", sa.String(length=128), nullable=True),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(source_id IS NOT NULL AND sequence IS NOT NULL) OR idempotency_key IS NOT NULL",
            name=op.f("ck_telemetry_batches_has_key"),
        ),
        sa.ForeignKeyConstraint(
            ["spacecraft_id"],
            ["spacecraft.id"],
            name=op.f("fk_telemetry_batches_spacecraft_id_spacecraft"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telemetry_batches")),
        sa.UniqueConstraint(
            "spacecraft_id", "idempotency_key", name="uq_telemetry_batches_idempotency_key"
        ),
        sa.UniqueConstraint(
            "spacecraft_id",
            "source_id",
            "sequence",
            name="uq_telemetry_batches_source_sequence",
        ),
    )
    op.create_table(
        "telemetry_aggregates_1m",
        sa.Column("parameter_id", sa.Integer(), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("min", sa.Double(), nullable=False),
        sa.Column("max", sa.Double(), nullable=False),
        sa.Column("avg", sa.Double(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "parameter_id", "bucket_start", name=op.f("pk_telemetry_aggregates_1m")
        ),
    )

    _create_cascade_trigger()


# Samples and aggregates have no foreign key to their parameter (its per-row check would
# double the cost of every COPY); this trigger gives them ON DELETE CASCADE instead.
_CASCADE = (
    "DELETE FROM telemetry_samples WHERE parameter_id = OLD.id; "
    "DELETE FROM telemetry_aggregates_1m WHERE parameter_id = OLD.id;"
)


def _create_cascade_trigger() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION telemetry_parameters_cascade() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN {_CASCADE} RETURN OLD; END $$"
        )
        op.execute(
            "CREATE TRIGGER trg_telemetry_parameters_cascade AFTER DELETE ON "
            "telemetry_parameters FOR EACH ROW EXECUTE FUNCTION telemetry_parameters_cascade()"
        )
    else:
        op.execute(
            "CREATE TRIGGER trg_telemetry_parameters_cascade AFTER DELETE ON "
            f"telemetry_parameters FOR EACH ROW BEGIN {_CASCADE} END"
        )


def downgrade() -> None:
    op.drop_table("telemetry_aggregates_1m")
    op.drop_table("telemetry_batches")
    op.drop_index("ix_telemetry_samples_time", table_name="telemetry_samples")
    op.drop_table("telemetry_samples")
    op.drop_table("telemetry_definitions")
    op.drop_table("telemetry_parameters")  # and its trigger
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS telemetry_parameters_cascade()")
