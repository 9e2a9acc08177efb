"""Every ORM model, imported in one place so Alembic sees the whole metadata."""

from astroshield.audit.models import AuditEntry
from astroshield.auth.models import RefreshToken, RevokedAccessToken
from astroshield.db import Base
from astroshield.organisations.models import Organisation
from astroshield.spacecraft.models import Spacecraft, SpacecraftStatusReport
from astroshield.users.models import User

metadata = Base.metadata

__all__ = [
    "AuditEntry",
    "Organisation",
    "RefreshToken",
    "RevokedAccessToken",
    "Spacecraft",
    "SpacecraftStatusReport",
    "User",
    "metadata",
]
