"""Every ORM model, imported in one place so Alembic sees the whole metadata."""

from astroshield.alerts.models import Alert, AlertEvent, AlertRule, DeadLetter
from astroshield.audit.models import AuditEntry
from astroshield.auth.models import RefreshToken, RevokedAccessToken
from astroshield.db import Base
from astroshield.organisations.models import Organisation
from astroshield.runtime_config.models import RuntimeSetting
from astroshield.spacecraft.models import Spacecraft, SpacecraftStatusReport
from astroshield.users.models import User

metadata = Base.metadata

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertRule",
    "AuditEntry",
    "DeadLetter",
    "Organisation",
    "RefreshToken",
    "RevokedAccessToken",
    "RuntimeSetting",
    "Spacecraft",
    "SpacecraftStatusReport",
    "User",
    "metadata",
]
