"""What an access token may do now: its claims held against the account as stored.

A signed token proves who it was issued to and what they could do then. Whether it still
counts, and for what, is decided from the database on every request (through a cache of
``auth_cache_ttl_s``): the account must be active and still in the token's organisation,
the token, its login and its generation must not be revoked, and its scopes are cut down
to what the account's current role (and platform flag) grants.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from astroshield.security.scopes import scopes_for

if TYPE_CHECKING:
    from astroshield.security.context import VerifiedToken


@dataclass(frozen=True, slots=True)
class AccountState:
    """The account as stored, and whether this token or its login was revoked."""

    organisation_id: uuid.UUID
    role: str
    is_platform_admin: bool
    is_active: bool
    token_generation: int
    token_revoked: bool
    login_revoked: bool


@dataclass(frozen=True, slots=True)
class Grant:
    """The answer cached per token. ``user_id`` and ``login_id`` say which revocations
    make it stale."""

    user_id: uuid.UUID
    login_id: str | None
    usable: bool
    role: str = ""
    scopes: frozenset[str] = frozenset()


def grant_for(verified: VerifiedToken, state: AccountState | None) -> Grant:
    claims = verified.claims
    refused = Grant(verified.user_id, claims.family_id, usable=False)
    if (
        state is None
        or not state.is_active
        or state.token_revoked
        or state.login_revoked
        or state.organisation_id != verified.organisation_id
        or state.token_generation != claims.generation
    ):
        return refused
    # Never wider than the token was issued with, never wider than the account is now.
    current = scopes_for(state.role, platform_admin=state.is_platform_admin)
    return Grant(
        verified.user_id,
        claims.family_id,
        usable=True,
        role=state.role,
        scopes=verified.scopes & current,
    )
