"""Webhook subscriptions of an organisation: create, read, change, delete, rotate the
secret; list deliveries and replay a failed one. No network I/O here: a URL is checked
for syntax when written and resolved only when delivered (``dispatcher``)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.audit.service import record
from astroshield.config import Settings
from astroshield.db import uuid7
from astroshield.errors import ConflictError, FieldError, InvalidInputError, NotFoundError
from astroshield.security import pii
from astroshield.security.actor import Actor
from astroshield.security.keys import KeyRing
from astroshield.security.principal import Principal
from astroshield.webhooks import addresses
from astroshield.webhooks.models import WebhookDelivery, WebhookSubscription
from astroshield.webhooks.repository import WebhookRepository, outbox_head
from astroshield.webhooks.schemas import (
    DeliveryRead,
    WebhookCreate,
    WebhookRead,
    WebhookUpdate,
    WebhookWithSecret,
)

SECRET_PREFIX = "whsec_"  # noqa: S105 - a marker, not a secret


def _aad(subscription_id: uuid.UUID) -> bytes:
    return pii.associated_data("webhook_subscriptions", "secret", subscription_id)


def seal_secret(subscription: WebhookSubscription, secret: str, keys: KeyRing) -> None:
    subscription.secret_ciphertext = pii.encrypt(secret, aad=_aad(subscription.id), keyring=keys)


def unseal_secret(subscription_id: uuid.UUID, ciphertext: str, keys: KeyRing) -> str:
    return pii.decrypt(ciphertext, aad=_aad(subscription_id), keyring=keys)


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def to_read(subscription: WebhookSubscription) -> WebhookRead:
    return WebhookRead.model_validate(subscription)


def delivery_to_read(delivery: WebhookDelivery) -> DeliveryRead:
    return DeliveryRead.model_validate(delivery)


def _checked_url(url: str, settings: Settings) -> str:
    try:
        return addresses.check_url(url, allow_loopback=settings.webhook_allow_loopback)
    except addresses.AddressRefusedError as exc:
        raise InvalidInputError(
            f"url {exc}", errors=[FieldError(["body", "url"], str(exc))]
        ) from None


async def _get(repository: WebhookRepository, subscription_id: uuid.UUID) -> WebhookSubscription:
    subscription = await repository.get(subscription_id)
    if subscription is None:
        raise NotFoundError(f"webhook {subscription_id} not found")
    return subscription


async def create_webhook(
    session: AsyncSession,
    principal: Principal,
    data: WebhookCreate,
    *,
    settings: Settings,
    keys: KeyRing,
    actor: Actor,
) -> WebhookWithSecret:
    """A subscription receives the events committed after it was created."""
    url = _checked_url(data.url, settings)
    repository = WebhookRepository(session, principal.organisation_id)
    if await repository.count() >= settings.webhook_max_per_organisation:
        raise ConflictError(
            f"an organisation has at most {settings.webhook_max_per_organisation} webhooks"
        )
    now = datetime.now(UTC)
    secret = data.secret or new_secret()
    subscription = WebhookSubscription(
        id=uuid7(),
        organisation_id=principal.organisation_id,
        url=url,
        event_types=[str(t.value) for t in data.event_types],
        description=data.description,
        active=data.active,
        cursor=await outbox_head(session),
        created_at=now,
        updated_at=now,
    )
    seal_secret(subscription, secret, keys)
    await repository.add(subscription)
    await record(
        session,
        actor.event(
            "webhook.created",
            object_type="webhook",
            object_id=subscription.id,
            url=url,
            event_types=subscription.event_types,
        ),
    )
    return WebhookWithSecret(**to_read(subscription).model_dump(), secret=secret)


async def list_webhooks(
    session: AsyncSession, principal: Principal, *, after_id: uuid.UUID | None, limit: int
) -> Sequence[WebhookSubscription]:
    repository = WebhookRepository(session, principal.organisation_id)
    return await repository.list(after_id=after_id, limit=limit)


async def get_webhook(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> WebhookSubscription:
    return await _get(WebhookRepository(session, principal.organisation_id), subscription_id)


async def update_webhook(
    session: AsyncSession,
    principal: Principal,
    subscription_id: uuid.UUID,
    data: WebhookUpdate,
    *,
    settings: Settings,
    actor: Actor,
) -> WebhookSubscription:
    """Reactivated, a subscription resumes with the events committed from then on (its
    deliveries still pending go on)."""
    subscription = await _get(
        WebhookRepository(session, principal.organisation_id), subscription_id
    )
    changed = data.model_dump(exclude_unset=True, exclude_none=True)
    if "url" in changed:
        subscription.url = _checked_url(changed["url"], settings)
    if data.event_types is not None:
        subscription.event_types = [str(t.value) for t in data.event_types]
    if data.description is not None:
        subscription.description = data.description
    if data.active is not None:
        if data.active and not subscription.active:
            subscription.cursor = await outbox_head(session)
        subscription.active = data.active
    subscription.updated_at = datetime.now(UTC)
    await session.flush()
    await record(
        session,
        actor.event(
            "webhook.updated",
            object_type="webhook",
            object_id=subscription.id,
            fields=sorted(changed),
        ),
    )
    return subscription


async def delete_webhook(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID, *, actor: Actor
) -> None:
    """The subscription and its deliveries."""
    repository = WebhookRepository(session, principal.organisation_id)
    subscription = await _get(repository, subscription_id)
    await repository.delete(subscription)
    await record(
        session, actor.event("webhook.deleted", object_type="webhook", object_id=subscription_id)
    )


async def rotate_secret(
    session: AsyncSession,
    principal: Principal,
    subscription_id: uuid.UUID,
    *,
    keys: KeyRing,
    actor: Actor,
) -> WebhookWithSecret:
    """A new generated secret; the old one stops signing at once."""
    subscription = await _get(
        WebhookRepository(session, principal.organisation_id), subscription_id
    )
    secret = new_secret()
    seal_secret(subscription, secret, keys)
    subscription.updated_at = datetime.now(UTC)
    await session.flush()
    await record(
        session,
        actor.event("webhook.secret_rotated", object_type="webhook", object_id=subscription.id),
    )
    return WebhookWithSecret(**to_read(subscription).model_dump(), secret=secret)


async def list_deliveries(
    session: AsyncSession,
    principal: Principal,
    subscription_id: uuid.UUID,
    *,
    status: str | None,
    after_id: uuid.UUID | None,
    limit: int,
) -> Sequence[WebhookDelivery]:
    repository = WebhookRepository(session, principal.organisation_id)
    await _get(repository, subscription_id)
    return await repository.deliveries(
        subscription_id, status=status, after_id=after_id, limit=limit
    )


async def get_delivery(
    session: AsyncSession,
    principal: Principal,
    subscription_id: uuid.UUID,
    delivery_id: uuid.UUID,
) -> WebhookDelivery:
    repository = WebhookRepository(session, principal.organisation_id)
    delivery = await repository.get_delivery(subscription_id, delivery_id)
    if delivery is None:
        raise NotFoundError(f"delivery {delivery_id} not found")
    return delivery


async def replay_delivery(
    session: AsyncSession,
    principal: Principal,
    subscription_id: uuid.UUID,
    delivery_id: uuid.UUID,
    *,
    actor: Actor,
) -> WebhookDelivery:
    """A failed delivery is queued again (due now, a fresh count of attempts)."""
    repository = WebhookRepository(session, principal.organisation_id)
    delivery = await get_delivery(session, principal, subscription_id, delivery_id)
    if not await repository.requeue(delivery.id, datetime.now(UTC)):
        raise ConflictError(
            f"only a failed delivery can be replayed; this one is {delivery.status}"
        )
    await record(
        session,
        actor.event(
            "webhook.delivery_replayed",
            object_type="webhook_delivery",
            object_id=delivery.id,
            webhook_id=str(subscription_id),
        ),
    )
    return await get_delivery(session, principal, subscription_id, delivery_id)
