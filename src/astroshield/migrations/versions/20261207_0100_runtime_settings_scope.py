"""runtime settings scope: per-organisation settings apart from platform-wide ones

Revision ID: b13e00000003
Revises: a1c47a0c2006
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b13e00000003"
down_revision: str | None = "a1c47a0c2006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Settings that became per organisation. An override of one that was stored platform-wide
# is carried over to every organisation, so nobody's behaviour changes on upgrade.
_ORGANISATION_KEYS = ("page_size_default",)


def upgrade() -> None:
    op.create_table(
        "organisation_settings",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_settings_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", "key", name=op.f("pk_organisation_settings")),
    )
    keys: sa.BindParameter[list[str]] = sa.bindparam(
        "keys", list(_ORGANISATION_KEYS), expanding=True
    )
    op.execute(
        sa.text(
            "INSERT INTO organisation_settings (organisation_id, key, value, updated_by, "
            "updated_at) SELECT o.id, r.key, r.value, r.updated_by, r.updated_at "
            "FROM organisations o CROSS JOIN runtime_settings r WHERE r.key IN :keys"
        ).bindparams(keys)
    )
    op.execute(sa.text("DELETE FROM runtime_settings WHERE key IN :keys").bindparams(keys))


def downgrade() -> None:
    # Per-organisation values have no platform-wide equivalent: they are dropped, and every
    # organisation falls back to the environment's value.
    op.drop_table("organisation_settings")
