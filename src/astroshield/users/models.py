from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from astroshield.db import Base, UTCDateTime, utcnow, uuid7

USER_ROLES = ("viewer", "operator", "analyst", "admin")


class User(Base):
    """An operator account.

    Contact fields (PII) are stored only as AES-GCM envelope ciphertexts bound to the row
    id and column; ``email_index`` is a keyed HMAC of the normalised e-mail so login can
    find the row without the plaintext being in the database.
    """

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN {USER_ROLES!r}", name="role_valid"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    role: Mapped[str] = mapped_column(String(16), default="viewer")
    is_active: Mapped[bool] = mapped_column(default=True)
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    email_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    email_ciphertext: Mapped[str | None] = mapped_column(Text)
    name_ciphertext: Mapped[str | None] = mapped_column(Text)
    phone_ciphertext: Mapped[str | None] = mapped_column(Text)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pii_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Access tokens carry the generation they were issued under; raising it ends them all.
    token_generation: Mapped[int] = mapped_column(default=0, server_default="0")
