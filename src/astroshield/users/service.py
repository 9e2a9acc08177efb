"""Accounts: creation with encrypted contact fields, role changes, PII erasure, key rotation.

Plaintext PII exists only in memory: each field is sealed with AES-256-GCM bound to the
row id and column, and the e-mail is findable through its keyed blind index.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.audit.service import Actor, AuditEvent, record, record_detached
from astroshield.auth.revocation import account_changed
from astroshield.db import uuid7
from astroshield.errors import (
    ConflictError,
    FieldError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from astroshield.security import passwords, pii
from astroshield.security.context import SecurityContext
from astroshield.security.keys import KeyRing
from astroshield.security.principal import Principal
from astroshield.security.scopes import Role
from astroshield.users.models import User
from astroshield.users.repository import UserRepository
from astroshield.users.schemas import UserCreate, UserRead, UserUpdate

PII_COLUMNS = {"email": "email_ciphertext", "name": "name_ciphertext", "phone": "phone_ciphertext"}


def _aad(user: User, field: str) -> bytes:
    return pii.associated_data("users", field, user.id)


def seal(user: User, field: str, value: str | None, keys: KeyRing) -> None:
    token = None if value is None else pii.encrypt(value, aad=_aad(user, field), keyring=keys)
    setattr(user, PII_COLUMNS[field], token)


def unseal(user: User, field: str, keys: KeyRing) -> str | None:
    token: str | None = getattr(user, PII_COLUMNS[field])
    return None if token is None else pii.decrypt(token, aad=_aad(user, field), keyring=keys)


def to_read(user: User, keys: KeyRing) -> UserRead:
    return UserRead(
        id=user.id,
        organisation_id=user.organisation_id,
        email=unseal(user, "email", keys),
        name=unseal(user, "name", keys),
        phone=unseal(user, "phone", keys),
        role=Role(user.role),
        is_active=user.is_active,
        is_platform_admin=user.is_platform_admin,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


def check_new_password(password: str, *, context: Sequence[str], field: str = "password") -> None:
    problems = passwords.check_password_policy(password, context_words=context)
    if problems:
        raise InvalidInputError(
            "the password does not meet the policy",
            errors=[FieldError(["body", field], problem.message) for problem in problems],
        )


async def create_user(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    data: UserCreate,
    *,
    security: SecurityContext,
    actor: Actor,
    platform_admin: bool = False,
) -> User:
    """An account in ``organisation_id``: a platform administrator's request, an accepted
    invitation or the CLI decides which organisation, not the caller's token."""
    repository = UserRepository(session)
    email_index = pii.blind_index(data.email, key=security.email_index_key)
    if await repository.get_by_email_index(email_index) is not None:
        raise ConflictError(
            "a user with this e-mail exists",
            errors=[FieldError(["body", "email"], "already registered")],
        )
    check_new_password(data.password, context=[data.email, data.name or ""])
    user = User(
        id=uuid7(),
        organisation_id=organisation_id,
        role=data.role.value,
        is_active=True,
        is_platform_admin=platform_admin,
        email_index=email_index,
        password_hash=passwords.hash_password(data.password),
        created_at=datetime.now(UTC),
    )
    seal(user, "email", str(data.email), security.pii_keys)
    seal(user, "name", data.name, security.pii_keys)
    seal(user, "phone", data.phone, security.pii_keys)
    await repository.flush(user)
    await record(
        session,
        actor.event(
            "user.created",
            object_type="user",
            object_id=user.id,
            organisation_id=organisation_id,
            role=user.role,
        ),
    )
    return user


async def list_users(
    session: AsyncSession, principal: Principal, *, after_id: uuid.UUID | None, limit: int
) -> Sequence[User]:
    """The accounts of the caller's organisation, in id order after ``after_id``."""
    return await UserRepository(session).list(
        principal.organisation_id, after_id=after_id, limit=limit
    )


async def get_user(session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> User:
    """An account of the caller's organisation; another organisation's is not found."""
    user = await UserRepository(session).get(user_id, organisation_id=principal.organisation_id)
    if user is None:
        raise NotFoundError(f"user {user_id} not found")
    return user


async def find_account(
    session: AsyncSession, user_id: uuid.UUID, *, organisation_id: uuid.UUID | None
) -> User | None:
    """The account, in ``organisation_id`` (None: in any organisation), or None."""
    return await UserRepository(session).get(user_id, organisation_id=organisation_id)


async def find_by_email_index(session: AsyncSession, email_index: str) -> User | None:
    """The account registered with the address of this blind index, in any organisation:
    callers must not let anyone learn which (login, accepting an invitation)."""
    return await UserRepository(session).get_by_email_index(email_index)


async def _refuse(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    event: AuditEvent,
    error: ForbiddenError | ConflictError,
) -> NoReturn:
    # The row locks go first: the detached audit append must not wait behind a transaction
    # that is itself waiting for them.
    await session.rollback()
    await record_detached(sessionmaker, event)
    raise error


async def guard_platform_admin(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    user: User,
    *,
    actor: Actor,
    fields: Sequence[str] = (),
    role: str | None = None,
    is_active: bool | None = None,
    erase: bool = False,
) -> None:
    """Only a platform administrator changes a platform administrator's account, and the
    last active one (platform flag, active, admin role) can be neither deactivated, demoted
    nor erased: the platform would be left with nobody to manage organisations and platform
    administrators. ``fields`` names what the request changes, ``role`` and ``is_active``
    their new values. Call it before changing ``user``: the locking read refreshes it."""
    if not user.is_platform_admin:
        return
    admins = {
        str(admin.id) for admin in await UserRepository(session).lock_active_platform_admins()
    }
    if actor.user_id not in admins:
        await _refuse(
            session,
            sessionmaker,
            actor.event(
                "auth.permission_denied",
                object_type="user",
                object_id=user.id,
                reason="target_is_platform_admin",
                fields=sorted(fields),
            ),
            ForbiddenError("only a platform administrator may change a platform administrator"),
        )
    remains = (
        not erase
        and (user.is_active if is_active is None else is_active)
        and (role or user.role) == Role.ADMIN
    )
    if not remains and admins == {str(user.id)}:
        await _refuse(
            session,
            sessionmaker,
            actor.event(
                "user.change_refused",
                object_type="user",
                object_id=user.id,
                reason="last_active_platform_admin",
                fields=sorted(fields),
            ),
            ConflictError(
                "this is the last active platform administrator: it cannot be deactivated, "
                "demoted or erased until another one exists "
                "(astroshield user create --platform-admin)",
                errors=[
                    FieldError(["body", field], "would leave no active platform administrator")
                    for field in sorted(fields)
                    if field in ("role", "is_active")
                ],
            ),
        )


async def update_user(
    session: AsyncSession,
    principal: Principal,
    user_id: uuid.UUID,
    data: UserUpdate,
    *,
    security: SecurityContext,
    sessionmaker: async_sessionmaker[AsyncSession],
    actor: Actor,
) -> User:
    user = await get_user(session, principal, user_id)
    if user.pii_erased_at is not None:
        raise ConflictError("this account was erased")
    changes = data.model_dump(exclude_unset=True)
    await guard_platform_admin(
        session,
        sessionmaker,
        user,
        actor=actor,
        fields=list(changes),
        role=data.role,
        is_active=data.is_active,
    )
    if data.role is not None:
        user.role = data.role.value
    if data.is_active is not None:
        user.is_active = data.is_active
        user.deactivated_at = None if user.is_active else datetime.now(UTC)
    if data.role is not None or data.is_active is not None:
        await account_changed(session, security, user.id, end_sessions=not user.is_active)
    for field in ("name", "phone"):
        if field in changes:
            seal(user, field, changes[field], security.pii_keys)
    await UserRepository(session).flush(user)
    # Field names only: the audit log must not become a second copy of the PII.
    await record(
        session,
        actor.event("user.updated", object_type="user", object_id=user.id, fields=sorted(changes)),
    )
    return user


def erase_pii(user: User, *, now: datetime) -> None:
    """Erase, not hide: ciphertexts, blind index and credential are removed for good."""
    user.email_ciphertext = None
    user.name_ciphertext = None
    user.phone_ciphertext = None
    user.email_index = None
    user.password_hash = None
    user.is_active = False
    user.deactivated_at = user.deactivated_at or now
    user.pii_erased_at = now


async def delete_user(
    session: AsyncSession,
    principal: Principal,
    user_id: uuid.UUID,
    *,
    security: SecurityContext,
    sessionmaker: async_sessionmaker[AsyncSession],
    actor: Actor,
) -> None:
    user = await get_user(session, principal, user_id)
    if str(user.id) == actor.user_id:
        raise ConflictError("an administrator cannot erase their own account")
    await guard_platform_admin(session, sessionmaker, user, actor=actor, erase=True)
    erase_pii(user, now=datetime.now(UTC))
    await account_changed(session, security, user.id, end_sessions=True)
    await UserRepository(session).flush(user)
    await record(session, actor.event("user.erased", object_type="user", object_id=user.id))


async def rotate_pii_keys(session: AsyncSession, keys: KeyRing, *, actor: Actor) -> int:
    """Re-wrap every data key under the active KEK; the data itself is not re-encrypted,
    so the rotation is cheap and readers keep working throughout (old KEKs still open
    rows not yet done). Returns how many values were re-wrapped."""
    rewrapped = 0
    async for batch in UserRepository(session).iterate_with_pii():
        for user in batch:
            for field, column in PII_COLUMNS.items():
                token = getattr(user, column)
                if token is not None and pii.needs_rewrap(token, keys):
                    setattr(user, column, pii.rewrap(token, aad=_aad(user, field), keyring=keys))
                    rewrapped += 1
        await session.flush()
    await record(
        session, actor.event("keys.pii_rotated", to_version=keys.active, rewrapped=rewrapped)
    )
    return rewrapped
