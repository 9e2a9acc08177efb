"""Bus credentials: what a machine publishing telemetry or CDMs on the bus presents in its
messages' ``Authorization: Bearer`` header instead of a 10-minute access token.

``asb_<credential id>_<secret>``: the id finds the row, the secret (256 random bits) is
compared with the stored SHA-256 in constant time. A credential acts as the account that
created it, with the scopes it was created with cut down to what that account holds now;
it stops working when revoked, when it expires, or when the account is deactivated or
leaves the organisation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.audit.service import record
from astroshield.auth.models import BusCredential
from astroshield.auth.repository import (
    AuthRepository,
    BusCredentialRepository,
    find_bus_credential,
)
from astroshield.db import uuid7
from astroshield.errors import AuthenticationError, FieldError, InvalidInputError, NotFoundError
from astroshield.security.actor import Actor
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope, scopes_for

PREFIX = "asb_"
# What the bus lands: nothing else may be put in a credential that lives for months.
BUS_SCOPES = frozenset({Scope.TELEMETRY_WRITE.value, Scope.CONJUNCTIONS_WRITE.value})
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class IssuedCredential:
    credential: BusCredential
    token: str  # shown once


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_bus_credential(token: str) -> bool:
    return token.startswith(PREFIX)


async def create(
    session: AsyncSession,
    principal: Principal,
    actor: Actor,
    *,
    name: str,
    scopes: Sequence[str],
    expires_in_days: int | None,
    now: datetime,
) -> IssuedCredential:
    wanted = set(scopes)
    beyond_bus = sorted(wanted - BUS_SCOPES)
    if beyond_bus:
        raise InvalidInputError(
            f"a bus credential may hold only {', '.join(sorted(BUS_SCOPES))}",
            errors=[FieldError(["body", "scopes"], f"not for the bus: {', '.join(beyond_bus)}")],
        )
    not_held = sorted(wanted - principal.scopes)
    if not_held:
        raise InvalidInputError(
            "a credential cannot hold what its creator does not",
            errors=[FieldError(["body", "scopes"], f"you do not hold: {', '.join(not_held)}")],
        )
    secret = secrets.token_urlsafe(32)
    credential = BusCredential(
        id=uuid7(),
        organisation_id=principal.organisation_id,
        user_id=principal.user_id,
        name=name,
        scopes=sorted(wanted),
        secret_sha256=_digest(secret),
        created_at=now,
        expires_at=None if expires_in_days is None else now + timedelta(days=expires_in_days),
    )
    await BusCredentialRepository(session, principal.organisation_id).add(credential)
    await record(
        session,
        actor.event(
            "auth.bus_credential_created",
            object_type="bus_credential",
            object_id=credential.id,
            scopes=" ".join(credential.scopes),
        ),
    )
    return IssuedCredential(credential, f"{PREFIX}{credential.id.hex}_{secret}")


async def list_credentials(session: AsyncSession, principal: Principal) -> Sequence[BusCredential]:
    """An organisation's administrators see all of its credentials; others their own."""
    mine = None if principal.has(Scope.USERS_ADMIN) else principal.user_id
    return await BusCredentialRepository(session, principal.organisation_id).list(mine)


async def revoke(
    session: AsyncSession,
    principal: Principal,
    actor: Actor,
    credential_id: uuid.UUID,
    now: datetime,
) -> BusCredential:
    credential = await BusCredentialRepository(session, principal.organisation_id).get(
        credential_id
    )
    mine = credential is not None and credential.user_id == principal.user_id
    if credential is None or not (mine or principal.has(Scope.USERS_ADMIN)):
        raise NotFoundError("bus credential not found")
    if credential.revoked_at is None:
        credential.revoked_at = now
        await record(
            session,
            actor.event(
                "auth.bus_credential_revoked",
                object_type="bus_credential",
                object_id=credential.id,
            ),
        )
    return credential


async def authenticate(session: AsyncSession, token: str, now: datetime) -> Principal:
    """The principal a bus credential stands for now, or AuthenticationError."""
    try:
        raw_id, secret = token.removeprefix(PREFIX).split("_", 1)
        credential_id = uuid.UUID(hex=raw_id)
    except ValueError:
        raise AuthenticationError("malformed bus credential") from None
    credential = await find_bus_credential(session, credential_id)
    if credential is None or not hmac.compare_digest(_digest(secret), credential.secret_sha256):
        raise AuthenticationError("unknown bus credential")
    if credential.revoked_at is not None:
        raise AuthenticationError("the bus credential was revoked")
    if credential.expires_at is not None and credential.expires_at <= now:
        raise AuthenticationError("the bus credential has expired")
    state = await AuthRepository(session).account_state(credential.user_id, None, None)
    if state is None or not state.is_active or state.organisation_id != credential.organisation_id:
        raise AuthenticationError("the bus credential's account is no longer active here")
    held = scopes_for(state.role, platform_admin=state.is_platform_admin)
    return Principal(
        user_id=credential.user_id,
        organisation_id=credential.organisation_id,
        role=state.role,
        scopes=frozenset(credential.scopes) & frozenset(held),
        token_id=f"bus:{credential.id}",
        token_expires_at=credential.expires_at or _FAR_FUTURE,
        auth_method="bearer",
    )
