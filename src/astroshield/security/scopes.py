"""Roles and the scopes they grant (least privilege; admin is per organisation).

Scopes are a :class:`Scope` enum so that a misspelt scope is a type error, not a route that
nobody can call; they are still plain strings in tokens and on the wire.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ANALYST = "analyst"
    ADMIN = "admin"


class Scope(StrEnum):
    SPACECRAFT_READ = "spacecraft:read"
    SPACECRAFT_WRITE = "spacecraft:write"
    TELEMETRY_READ = "telemetry:read"
    TELEMETRY_WRITE = "telemetry:write"
    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    CONJUNCTIONS_READ = "conjunctions:read"
    CONJUNCTIONS_WRITE = "conjunctions:write"
    CCDM_READ = "ccdm:read"
    ALERTS_READ = "alerts:read"
    ALERTS_WRITE = "alerts:write"
    USERS_ADMIN = "users:admin"
    AUDIT_READ = "audit:read"
    CONFIG_ADMIN = "config:admin"
    # Platform scopes: no organisation role grants these.
    ORGANISATIONS_ADMIN = "organisations:admin"
    PLATFORM_CONFIG = "platform:config"
    PLATFORM_AUDIT = "platform:audit"
    CATALOG_ADMIN = "catalog:admin"


READ_SCOPES = (
    Scope.SPACECRAFT_READ,
    Scope.TELEMETRY_READ,
    Scope.CATALOG_READ,
    Scope.CONJUNCTIONS_READ,
    Scope.CCDM_READ,
    Scope.ALERTS_READ,
)

# CCDM analyses only read (element-set histories and the caller's spacecraft), so there is
# no ccdm:write: a scope no route requires would only widen what a leaked token claims.
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.VIEWER: frozenset(READ_SCOPES),
    Role.OPERATOR: frozenset(
        {*READ_SCOPES, Scope.SPACECRAFT_WRITE, Scope.TELEMETRY_WRITE, Scope.ALERTS_WRITE}
    ),
    Role.ANALYST: frozenset(
        {*READ_SCOPES, Scope.CATALOG_WRITE, Scope.CONJUNCTIONS_WRITE, Scope.ALERTS_WRITE}
    ),
    Role.ADMIN: frozenset(
        {
            *READ_SCOPES,
            Scope.SPACECRAFT_WRITE,
            Scope.TELEMETRY_WRITE,
            Scope.CATALOG_WRITE,
            Scope.CONJUNCTIONS_WRITE,
            Scope.ALERTS_WRITE,
            Scope.USERS_ADMIN,
            Scope.AUDIT_READ,
            Scope.CONFIG_ADMIN,
        }
    ),
}

# Platform operators manage organisations themselves, the platform-wide runtime settings
# (log levels, the service's own alert thresholds, the connection pool), read the platform
# audit stream and decide what the shared catalog holds for everyone (public uploads,
# publishing an overlay).
PLATFORM_SCOPES = frozenset(
    {Scope.ORGANISATIONS_ADMIN, Scope.PLATFORM_CONFIG, Scope.PLATFORM_AUDIT, Scope.CATALOG_ADMIN}
)


def scopes_for(role: str, *, platform_admin: bool = False) -> frozenset[Scope]:
    scopes = ROLE_SCOPES[Role(role)]
    return scopes | PLATFORM_SCOPES if platform_admin else scopes
