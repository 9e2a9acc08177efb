from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, EmailStr, Field

from astroshield.api.schemas import RequestModel, ResponseModel
from astroshield.security.scopes import Role

# Length and content are judged by the password policy, which names every problem.
Password = Annotated[str, Field(min_length=1, max_length=128)]
Phone = Annotated[str, Field(min_length=3, max_length=32, pattern=r"^\+?[0-9 ()./-]{3,32}$")]
PersonName = Annotated[str, Field(min_length=1, max_length=200)]


class UserCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "analyst@example.org",
                    "password": "tangerine orbit falcon 42",
                    "role": "analyst",
                    "name": "Ada Analyst",
                    "phone": "+44 20 7946 0000",
                }
            ]
        }
    )

    email: EmailStr
    password: Password
    role: Role = Role.VIEWER
    name: PersonName | None = None
    phone: Phone | None = None


class UserUpdate(RequestModel):
    """What an organisation admin may change; organisation and platform rights are not."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "operator"}]})

    role: Role | None = None
    is_active: bool | None = None
    name: PersonName | None = None
    phone: Phone | None = None


class UserRead(ResponseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    email: str | None
    name: str | None
    phone: str | None
    role: Role
    is_active: bool
    # Granted only from the command line; only platform administrators change such accounts.
    is_platform_admin: bool
    created_at: datetime
    last_login_at: datetime | None
