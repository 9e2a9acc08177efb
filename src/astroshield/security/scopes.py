"""Roles and the scopes they grant (least privilege; admin is per organisation)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ANALYST = "analyst"
    ADMIN = "admin"


READ_SCOPES = (
    "spacecraft:read",
    "telemetry:read",
    "catalog:read",
    "conjunctions:read",
    "ccdm:read",
    "alerts:read",
)

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.VIEWER: frozenset(READ_SCOPES),
    Role.OPERATOR: frozenset({*READ_SCOPES, "spacecraft:write", "telemetry:write", "alerts:write"}),
    Role.ANALYST: frozenset(
        {*READ_SCOPES, "catalog:write", "conjunctions:write", "ccdm:write", "alerts:write"}
    ),
    Role.ADMIN: frozenset(
        {
            *READ_SCOPES,
            "spacecraft:write",
            "telemetry:write",
            "catalog:write",
            "conjunctions:write",
            "ccdm:write",
            "alerts:write",
            "users:admin",
            "audit:read",
            "config:admin",
        }
    ),
}

# Platform operators manage organisations themselves, the platform-wide runtime settings
# (log levels, the service's own alert thresholds, the connection pool), read the platform
# audit stream and decide what the shared catalog holds for everyone (public uploads,
# publishing an overlay); no organisation role grants these.
PLATFORM_SCOPES = frozenset(
    {"organisations:admin", "platform:config", "platform:audit", "catalog:admin"}
)


def scopes_for(role: str, *, platform_admin: bool = False) -> frozenset[str]:
    scopes = ROLE_SCOPES[Role(role)]
    return scopes | PLATFORM_SCOPES if platform_admin else scopes
