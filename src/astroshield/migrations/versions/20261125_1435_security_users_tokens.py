"""security users tokens

Revision ID: 67d074a36660
Revises: e50ba126f1e3
Create Date: 2026-11-25 14:35:11.869765
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "67d074a36660"
down_revision: str | None = "e50ba126f1e3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "revoked_access_tokens",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_access_tokens")),
    )
    op.create_index(
        op.f("ix_revoked_access_tokens_expires_at"),
        "revoked_access_tokens",
        ["expires_at"],
        unique=False,
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_refresh_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_refresh_tokens")),
    )
    op.create_index(
        op.f("ix_refresh_tokens_expires_at"), "refresh_tokens", ["expires_at"], unique=False
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"], unique=False)
    op.create_index(op.f("ix_refresh_tokens_user_id"), "refresh_tokens", ["user_id"], unique=False)
    with op.batch_alter_table("audit_log") as batch:
        batch.create_unique_constraint("uq_audit_log_previous_hash", ["previous_hash"])
    # Batch mode: SQLite rebuilds the table to drop a column or constraint.
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("is_platform_admin", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("email_index", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("email_ciphertext", sa.Text(), nullable=True))
        batch.add_column(sa.Column("name_ciphertext", sa.Text(), nullable=True))
        batch.add_column(sa.Column("phone_ciphertext", sa.Text(), nullable=True))
        batch.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("pii_erased_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint("uq_users_username", type_="unique")
        batch.create_unique_constraint("uq_users_email_index", ["email_index"])
        batch.drop_column("username")


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_constraint("uq_audit_log_previous_hash", type_="unique")
    with op.batch_alter_table("users") as batch:
        # Accounts created since have no username: the e-mail's blind index is no name.
        batch.add_column(
            sa.Column("username", sa.String(length=64), nullable=False, server_default="")
        )
        batch.drop_constraint("uq_users_email_index", type_="unique")
        for column in (
            "pii_erased_at",
            "deactivated_at",
            "last_login_at",
            "password_hash",
            "phone_ciphertext",
            "name_ciphertext",
            "email_ciphertext",
            "email_index",
            "is_platform_admin",
        ):
            batch.drop_column(column)
    op.execute("UPDATE users SET username = CAST(id AS VARCHAR(64))")
    with op.batch_alter_table("users") as batch:
        batch.alter_column("username", server_default=None)
        batch.create_unique_constraint("uq_users_username", ["username"])
    op.drop_index(op.f("ix_refresh_tokens_user_id"), table_name="refresh_tokens")
    op.drop_index("ix_refresh_tokens_family_id", table_name="refresh_tokens")
    op.drop_index(op.f("ix_refresh_tokens_expires_at"), table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_index(op.f("ix_revoked_access_tokens_expires_at"), table_name="revoked_access_tokens")
    op.drop_table("revoked_access_tokens")
