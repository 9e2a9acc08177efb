"""telemetry parameters, samples, limits and alarms

Revision ID: a1c47a0c2003
Revises: a1c47a0c2002
Create Date: 2026-11-29 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "a1c47a0c2003"
down_revision: str | None = "a1c47a0c2002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
