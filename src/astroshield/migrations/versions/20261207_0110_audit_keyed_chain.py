"""audit keyed chain: gapless sequence, hash version and key id per entry

Existing entries were chained with unkeyed SHA-256. They are not re-hashed: a migration
cannot know the chain key, and recomputing hashes over possibly edited rows would launder
the edit. They keep ``hash_version`` 1 and verify as they were written; the first keyed
entry's HMAC covers the last legacy hash, which seals them.

Downgrading drops the columns: keyed entries written since then no longer verify under
the unkeyed scheme.

Revision ID: b13e00000004
Revises: b13e00000003
Create Date: 2026-12-07 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b13e00000004"
down_revision: str | None = "b13e00000003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("sequence", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("hash_version", sa.SmallInteger(), nullable=False, server_default="1")
        )
        batch.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
    # Chain order is id order; numbered from 1 (PostgreSQL, and SQLite >= 3.33).
    op.execute(
        "UPDATE audit_log SET sequence = numbered.n FROM "
        "(SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM audit_log) AS numbered "
        "WHERE audit_log.id = numbered.id"
    )
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("sequence", existing_type=sa.BigInteger(), nullable=False)
        # Every new entry states its version; a default would let an insert that bypasses
        # the audit service pass as a legacy entry.
        batch.alter_column("hash_version", existing_type=sa.SmallInteger(), server_default=None)
        batch.create_unique_constraint("uq_audit_log_sequence", ["sequence"])


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_constraint("uq_audit_log_sequence", type_="unique")
        batch.drop_column("key_id")
        batch.drop_column("hash_version")
        batch.drop_column("sequence")
