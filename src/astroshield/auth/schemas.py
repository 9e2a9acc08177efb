from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from astroshield.api.schemas import RequestModel

Token = Annotated[str, Field(min_length=1, max_length=4096)]


def _not_blank(value: str) -> str:
    # Python strips more than pydantic does (e.g. the information separators \x1c-\x1f),
    # and the e-mail index is taken of the stripped address.
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class LoginRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"email": "operator@example.org", "password": "correct horse battery staple"}
            ]
        }
    )

    # Not EmailStr: an unknown or malformed address must fail exactly like a wrong password.
    email: Annotated[str, Field(min_length=1, max_length=320), AfterValidator(_not_blank)]
    password: Annotated[str, Field(min_length=1, max_length=128)]


class RefreshRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"refresh_token": "refresh_token of the last /auth/token answer"}]
        }
    )

    refresh_token: Token


class PasswordChange(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "current_password": "correct horse battery staple",
                    "new_password": "tangerine orbit falcon 42",
                }
            ]
        }
    )

    current_password: Annotated[str, Field(min_length=1, max_length=128)]
    # Length and content are judged by the password policy, which names every problem.
    new_password: Annotated[str, Field(min_length=1, max_length=128)]


class TokenPair(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
                    "token_type": "Bearer",
                    "expires_in": 900,
                    "refresh_token": "the opaque refresh token",
                    "refresh_expires_in": 1209600,
                    "scope": "spacecraft:read spacecraft:write telemetry:write",
                }
            ]
        }
    )

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme name, not a secret
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    scope: str


class BrowserSession(BaseModel):
    """Cookie login: tokens are in HttpOnly cookies; the CSRF token goes in X-CSRF-Token."""

    csrf_token: str
    expires_in: int


class BusCredentialCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "svalbard ground station",
                    "scopes": ["telemetry:write"],
                    "expires_in_days": 90,
                }
            ]
        }
    )

    name: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_not_blank)]
    scopes: Annotated[
        list[Literal["telemetry:write", "conjunctions:write"]], Field(min_length=1, max_length=2)
    ]
    # None: until revoked.
    expires_in_days: Annotated[int | None, Field(ge=1, le=3650)] = 365


class BusCredentialRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class BusCredentialIssued(BusCredentialRead):
    # Shown once: only its SHA-256 is kept.
    token: str
