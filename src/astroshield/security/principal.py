"""Who is making the request, as established by authentication."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from astroshield.security.scopes import Scope


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: uuid.UUID
    organisation_id: uuid.UUID
    role: str
    scopes: frozenset[str]
    token_id: str
    token_expires_at: datetime
    auth_method: Literal["bearer", "cookie"]
    # The login (refresh-token family) this token belongs to; CSRF tokens are bound to it.
    session_id: str | None = None

    def has(self, scope: Scope) -> bool:
        return scope in self.scopes
