"""Invitations: how an organisation adds people without learning anything about the
accounts of other organisations.

An e-mail address holds at most one account in the whole service, so creating an account
directly has to refuse an address registered elsewhere, and that refusal tells the creator
that the address has an account somewhere. Creating an invitation never looks at accounts:
its answer is the same for every address. The one-time token goes only to the address's
mailbox, so only the invitee, accepting, can learn that the address already has an
account; the inviting organisation sees the invitation stay pending, then expire.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import aiosmtplib
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.alerts.notifiers import SmtpRelay
from astroshield.audit.service import Actor, record, record_detached
from astroshield.config import Settings
from astroshield.db import uuid7
from astroshield.errors import (
    ConflictError,
    FieldError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
)
from astroshield.invitations.models import Invitation
from astroshield.invitations.repository import InvitationRepository
from astroshield.invitations.schemas import (
    InvitationAccept,
    InvitationCreate,
    InvitationRead,
    InvitationStatus,
)
from astroshield.organisations.service import get_organisation
from astroshield.security import pii
from astroshield.security.context import SecurityContext
from astroshield.security.keys import KeyRing
from astroshield.security.principal import Principal
from astroshield.security.scopes import Role
from astroshield.users.models import User
from astroshield.users.schemas import UserCreate
from astroshield.users.service import create_user, find_by_email_index

log = structlog.get_logger(__name__)

TOKEN_BYTES = 32
UNUSABLE = "unknown, expired, revoked or already used"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aad(invitation: Invitation) -> bytes:
    return pii.associated_data("invitations", "email", invitation.id)


def seal_email(invitation: Invitation, email: str | None, keys: KeyRing) -> None:
    invitation.email_ciphertext = (
        None if email is None else pii.encrypt(email, aad=_aad(invitation), keyring=keys)
    )


def unseal_email(invitation: Invitation, keys: KeyRing) -> str | None:
    token = invitation.email_ciphertext
    return None if token is None else pii.decrypt(token, aad=_aad(invitation), keyring=keys)


def status_of(invitation: Invitation, now: datetime) -> InvitationStatus:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    return "expired" if invitation.expires_at <= now else "pending"


def to_read(
    invitation: Invitation, keys: KeyRing, *, now: datetime | None = None
) -> InvitationRead:
    return InvitationRead(
        id=invitation.id,
        organisation_id=invitation.organisation_id,
        email=unseal_email(invitation, keys),
        role=Role(invitation.role),
        status=status_of(invitation, now or datetime.now(UTC)),
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
        user_id=invitation.user_id,
    )


@dataclass(frozen=True)
class InvitationMail:
    """What the invitation e-mail needs; sent once the invitation is committed."""

    invitation_id: uuid.UUID
    organisation_id: uuid.UUID
    organisation_name: str
    role: str
    expires_at: datetime
    email: str = field(repr=False)
    token: str = field(repr=False)


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    mail: InvitationMail


async def invite(
    session: AsyncSession,
    principal: Principal,
    data: InvitationCreate,
    *,
    security: SecurityContext,
    settings: Settings,
    actor: Actor,
) -> IssuedInvitation:
    """Record an invitation into the caller's organisation; nothing here depends on
    whether the address has an account."""
    organisation_id = principal.organisation_id
    if SmtpRelay.from_settings(settings) is None:
        # The token may reach nobody but the invitee: a token in the response or a log
        # would let someone else accept, and the answer to that is the very oracle
        # invitations exist to close.
        raise ServiceUnavailableError(
            "invitations are delivered by e-mail, which is not configured "
            "(ASTROSHIELD_SMTP_HOST); a platform administrator can create the account"
        )
    decision = await security.limiter.hit(
        security.invitation_limit, "invitations", str(organisation_id)
    )
    if not decision.allowed:
        raise RateLimitedError(
            "too many invitations from this organisation; retry later",
            headers=decision.headers(),
        )
    organisation = await get_organisation(session, principal, organisation_id)
    repository = InvitationRepository(session)
    now = datetime.now(UTC)
    email = str(data.email)
    email_index = pii.blind_index(email, key=security.email_index_key)
    replaced = await repository.revoke_pending(organisation_id, email_index, now=now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    invitation = Invitation(
        id=uuid7(),
        organisation_id=organisation_id,
        role=data.role.value,
        email_index=email_index,
        token_hash=hash_token(token),
        invited_by=uuid.UUID(actor.user_id) if actor.user_id else None,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.invitation_ttl_s),
    )
    seal_email(invitation, email, security.pii_keys)
    await repository.save(invitation)
    await record(
        session,
        actor.event(
            "invitation.created",
            object_type="invitation",
            object_id=invitation.id,
            organisation_id=organisation_id,
            role=invitation.role,
            replaced=replaced,
        ),
    )
    mail = InvitationMail(
        invitation_id=invitation.id,
        organisation_id=organisation_id,
        organisation_name=organisation.name,
        role=invitation.role,
        expires_at=invitation.expires_at,
        email=email,
        token=token,
    )
    return IssuedInvitation(invitation, mail)


def invitation_message(mail: InvitationMail, settings: Settings) -> EmailMessage:
    organisation = " ".join(mail.organisation_name.split())  # no line breaks in a header
    message = EmailMessage()
    message["From"] = settings.invitation_email_from
    message["To"] = mail.email
    message["Subject"] = f"Invitation to {organisation} on AstroShield"
    message["X-AstroShield-Invitation"] = str(mail.invitation_id)
    if settings.invitation_accept_url:
        # In the fragment: browsers never send it to a server, so no access log holds it.
        link = f"{settings.invitation_accept_url}#token={mail.token}"
        how = f"Open this link to choose your password:\n\n  {link}\n"
    else:
        how = (
            "To accept, choose a password and send it with the token:\n\n"
            "  POST /api/v1/invitations/accept\n"
            f'  {{"token": "{mail.token}", "name": "Your Name", "password": "..."}}\n'
        )
    message.set_content(
        f"{organisation} invites you to AstroShield with the role {mail.role}.\n\n"
        f"{how}\n"
        f"Your invitation token: {mail.token}\n\n"
        f"It works once and expires at {mail.expires_at:%Y-%m-%d %H:%M} UTC.\n"
        "If you did not expect this invitation, ignore this message.\n"
    )
    return message


async def deliver(
    mail: InvitationMail,
    *,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    actor: Actor,
) -> None:
    """Send the invitation e-mail (after the commit, in the background) and audit the
    outcome; it is the same for an address with an account and one without."""
    relay = SmtpRelay.from_settings(settings)
    reason: str | None = "smtp_not_configured"
    if relay is not None:
        try:
            await relay.send(invitation_message(mail, settings))
            reason = None
        except (aiosmtplib.SMTPException, OSError) as exc:
            reason = type(exc).__name__
    if reason is None:
        log.info("invitation_delivered", invitation=str(mail.invitation_id))
    else:
        log.warning("invitation_delivery_failed", invitation=str(mail.invitation_id), reason=reason)
    await record_detached(
        sessionmaker,
        actor.event(
            "invitation.delivered" if reason is None else "invitation.delivery_failed",
            object_type="invitation",
            object_id=mail.invitation_id,
            organisation_id=mail.organisation_id,
            **({} if reason is None else {"reason": reason}),
        ),
    )


async def list_invitations(
    session: AsyncSession, principal: Principal, *, after_id: uuid.UUID | None, limit: int
) -> Sequence[Invitation]:
    return await InvitationRepository(session).list(
        principal.organisation_id, after_id=after_id, limit=limit
    )


async def revoke(
    session: AsyncSession, principal: Principal, invitation_id: uuid.UUID, *, actor: Actor
) -> None:
    repository = InvitationRepository(session)
    invitation = await repository.get(invitation_id, organisation_id=principal.organisation_id)
    if invitation is None:
        raise NotFoundError(f"invitation {invitation_id} not found")
    if invitation.accepted_at is not None:
        raise ConflictError("this invitation was accepted; manage the account instead")
    if invitation.revoked_at is not None:
        return
    invitation.revoked_at = datetime.now(UTC)
    invitation.email_index = None
    invitation.email_ciphertext = None
    await repository.save(invitation)
    await record(
        session,
        actor.event("invitation.revoked", object_type="invitation", object_id=invitation.id),
    )


def _unusable_token() -> InvalidInputError:
    return InvalidInputError(
        "this invitation cannot be used", errors=[FieldError(["body", "token"], UNUSABLE)]
    )


async def accept(
    session: AsyncSession,
    data: InvitationAccept,
    *,
    security: SecurityContext,
    sessionmaker: async_sessionmaker[AsyncSession],
    actor: Actor,
) -> User:
    """Create the invited account. Only the token's holder sees the answer, so it may say
    that the address already has an account; the refusal is audited without the inviting
    organisation (whose audit trail would otherwise tell it) and the invitation stays
    pending."""
    decision = await security.limiter.hit(
        security.login_limit, "invitation-accept", actor.client_address or "unknown"
    )
    if not decision.allowed:
        raise RateLimitedError("too many attempts; retry later", headers=decision.headers())
    repository = InvitationRepository(session)
    now = datetime.now(UTC)
    invitation = await repository.get_by_token_hash(hash_token(data.token))
    if invitation is None or status_of(invitation, now) != "pending":
        await record_detached(
            sessionmaker,
            actor.event(
                "invitation.accept_failed",
                object_type="invitation",
                reason="unusable_token",
            ),
        )
        raise _unusable_token()
    email = unseal_email(invitation, security.pii_keys)
    # A pending invitation keeps its address; accepting or revoking it erases it.
    assert email is not None
    assert invitation.email_index is not None
    if await find_by_email_index(session, invitation.email_index) is not None:
        await record_detached(
            sessionmaker,
            actor.event(
                "invitation.accept_failed",
                object_type="invitation",
                object_id=invitation.id,
                reason="address_has_account",
            ),
        )
        raise ConflictError(
            "this e-mail address already has an AstroShield account, and an address can "
            "hold only one: sign in with that account, or ask to be invited at another "
            "address. The organisation that invited you is not told.",
            errors=[FieldError(["body", "token"], "the invited address already has an account")],
        )
    if not await repository.claim(invitation.id, now=now):
        raise _unusable_token()  # accepted or revoked a moment ago
    user = await create_user(
        session,
        invitation.organisation_id,
        UserCreate(
            email=email,
            password=data.password,
            role=Role(invitation.role),
            name=data.name,
            phone=data.phone,
        ),
        security=security,
        actor=actor,
    )
    await repository.link_account(invitation.id, user.id)
    await record(
        session,
        Actor(str(user.id), user.organisation_id, actor.request_id, actor.client_address).event(
            "invitation.accepted",
            object_type="invitation",
            object_id=invitation.id,
            user_id=str(user.id),
        ),
    )
    return user


async def rewrap_pii(session: AsyncSession, keys: KeyRing, *, actor: Actor) -> int:
    """Re-wrap the data keys of invitation addresses under the active KEK (see
    ``users.service.rotate_pii_keys``). Returns how many were re-wrapped."""
    rewrapped = 0
    async for batch in InvitationRepository(session).iterate_with_pii():
        for invitation in batch:
            token = invitation.email_ciphertext
            if token is not None and pii.needs_rewrap(token, keys):
                invitation.email_ciphertext = pii.rewrap(token, aad=_aad(invitation), keyring=keys)
                rewrapped += 1
        await session.flush()
    await record(
        session,
        actor.event("invitations.pii_rewrapped", to_version=keys.active, rewrapped=rewrapped),
    )
    return rewrapped
