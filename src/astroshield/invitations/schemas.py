from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, EmailStr, Field

from astroshield.api.schemas import RequestModel, ResponseModel
from astroshield.security.scopes import Role
from astroshield.users.schemas import Password, PersonName, Phone

InvitationStatus = Literal["pending", "accepted", "expired", "revoked"]
# secrets.token_urlsafe(32) is 43 characters; the bounds only keep junk out.
InvitationToken = Annotated[str, Field(min_length=20, max_length=128)]


class InvitationCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"email": "new.operator@example.org", "role": "operator"}]}
    )

    email: EmailStr
    role: Role = Role.VIEWER


class InvitationRead(ResponseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    # None once accepted or revoked: the address is erased then.
    email: str | None
    role: Role
    status: InvitationStatus
    created_at: datetime
    expires_at: datetime
    user_id: uuid.UUID | None


class InvitationAccept(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "token": "the token from the invitation e-mail",
                    "password": "tangerine orbit falcon 42",
                    "name": "Nia Operator",
                }
            ]
        }
    )

    token: InvitationToken
    password: Password
    name: PersonName | None = None
    phone: Phone | None = None
