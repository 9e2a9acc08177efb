"""spacecraft health from telemetry, reports and overrides

The health in force now has a source (``health_source``: telemetry, override, report,
none) and its inputs are kept apart: the latest plain report's health, the health derived
from open telemetry limit alarms (with the alarms behind it), and an operator override with
its reason and expiry. Existing spacecraft keep their health as a report's (source
``report`` when a report was ever made, else ``none``); their history rows, written by the
API, become ``report`` rows, and history rows gain a ``reason``.

No batch mode on SQLite: rebuilding ``spacecraft`` drops the old table, and with foreign
keys on (as every connection of ours has them) dropping it deletes each row that references
a spacecraft (ON DELETE CASCADE: status history, telemetry, conjunctions...). SQLite adds
and drops these columns in place instead, the checks written inline with their column.

Revision ID: stat00000001
Revises: b15f00000001
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "stat00000001"
down_revision: str | None = "b15f00000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HEALTH_SOURCE_VALID = "health_source IN ('telemetry', 'override', 'report', 'none')"
OVERRIDE_COMPLETE = "(override_health IS NULL) = (override_expires_at IS NULL)"


def _plain_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("reported_health", sa.String(length=16), nullable=True),
        sa.Column("telemetry_health", sa.String(length=16), nullable=True),
        sa.Column("health_reasons", sa.JSON(), nullable=True),
        sa.Column("override_reason", sa.String(length=500), nullable=True),
        sa.Column("override_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("override_set_by", sa.String(length=64), nullable=True),
        sa.Column("override_set_at", sa.DateTime(timezone=True), nullable=True),
    ]


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    for column in _plain_columns():  # override_expires_at before the check naming it
        op.add_column("spacecraft", column)
    if _sqlite():
        op.execute(
            "ALTER TABLE spacecraft ADD COLUMN health_source VARCHAR(16) DEFAULT 'none' NOT NULL "
            f"CONSTRAINT ck_spacecraft_health_source_valid CHECK ({HEALTH_SOURCE_VALID})"
        )
        op.execute(
            "ALTER TABLE spacecraft ADD COLUMN override_health VARCHAR(16) "
            f"CONSTRAINT ck_spacecraft_override_complete CHECK ({OVERRIDE_COMPLETE})"
        )
    else:
        op.add_column(
            "spacecraft",
            sa.Column("health_source", sa.String(length=16), nullable=False, server_default="none"),
        )
        op.add_column("spacecraft", sa.Column("override_health", sa.String(16), nullable=True))
        op.create_check_constraint(
            op.f("ck_spacecraft_health_source_valid"), "spacecraft", HEALTH_SOURCE_VALID
        )
        op.create_check_constraint(
            op.f("ck_spacecraft_override_complete"), "spacecraft", OVERRIDE_COMPLETE
        )
    op.execute(
        "UPDATE spacecraft SET reported_health = health, health_source = 'report' "
        "WHERE status_reported_at IS NOT NULL"
    )
    op.add_column(
        "spacecraft_status_reports", sa.Column("reason", sa.String(length=500), nullable=True)
    )
    op.execute("UPDATE spacecraft_status_reports SET source = 'report' WHERE source = 'api'")


def downgrade() -> None:
    # The rows only the new sources wrote are not reports: they leave with the feature.
    op.execute("DELETE FROM spacecraft_status_reports WHERE source NOT IN ('report', 'override')")
    op.execute("UPDATE spacecraft_status_reports SET source = 'api'")
    op.drop_column("spacecraft_status_reports", "reason")
    # The health in force becomes the report's again (unknown without one).
    op.execute("UPDATE spacecraft SET health = COALESCE(reported_health, 'unknown')")
    if not _sqlite():
        op.drop_constraint(op.f("ck_spacecraft_override_complete"), "spacecraft", type_="check")
        op.drop_constraint(op.f("ck_spacecraft_health_source_valid"), "spacecraft", type_="check")
    op.drop_column("spacecraft", "override_health")  # first: its check names expires_at
    op.drop_column("spacecraft", "health_source")
    for column in reversed(_plain_columns()):
        op.drop_column("spacecraft", column.name)
