from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from astroshield.db import Base, UTCDateTime, utcnow, uuid7
from astroshield.users.models import USER_ROLES


class Invitation(Base):
    """An invitation to join an organisation with a role, sent to one e-mail address.

    The address is PII and stored as users' are: an AES-GCM envelope ciphertext bound to
    the row and column, and a keyed blind index. Both are erased once the invitation is
    accepted or revoked. The token exists only in the invitee's mailbox; the row keeps its
    SHA-256 (the token is 256 random bits, so a fast hash is enough).
    """

    __tablename__ = "invitations"
    __table_args__ = (CheckConstraint(f"role IN {USER_ROLES!r}", name="role_valid"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    email_index: Mapped[str | None] = mapped_column(String(64), index=True)
    email_ciphertext: Mapped[str | None] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The account the acceptance created.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
