"""``/webhooks``: an organisation's webhook subscriptions and their deliveries
(organisation administrators: scope ``config:admin``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from astroshield.api.deps import ActorDep, SecurityDep, SessionDep, SettingsDep, require_scope
from astroshield.api.pagination import Page, PageDep, cursor_value, id_key, make_page
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope
from astroshield.webhooks import service
from astroshield.webhooks.schemas import (
    DeliveryIdPath,
    DeliveryRead,
    DeliveryStatusQuery,
    WebhookCreate,
    WebhookIdPath,
    WebhookRead,
    WebhookUpdate,
    WebhookWithSecret,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
Admin = Annotated[Principal, Depends(require_scope(Scope.CONFIG_ADMIN))]
NO_STORE = {"Cache-Control": "no-store"}


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_webhook(
    data: WebhookCreate,
    response: Response,
    admin: Admin,
    session: SessionDep,
    settings: SettingsDep,
    security: SecurityDep,
    actor: ActorDep,
) -> WebhookWithSecret:
    """Subscribe an endpoint to event types. The answer holds the signing secret: it is
    shown this once (store it in the receiver)."""
    created = await service.create_webhook(
        session, admin, data, settings=settings, keys=security.pii_keys, actor=actor
    )
    response.headers.update(NO_STORE)
    return created


@router.get("")
async def list_webhooks(admin: Admin, session: SessionDep, page: PageDep) -> Page[WebhookRead]:
    rows = await service.list_webhooks(
        session, admin, after_id=cursor_value(page, "id", uuid.UUID), limit=page.limit + 1
    )
    return make_page(rows, page, render=service.to_read, key=id_key)


@router.get("/{webhook_id}")
async def get_webhook(webhook_id: WebhookIdPath, admin: Admin, session: SessionDep) -> WebhookRead:
    return service.to_read(await service.get_webhook(session, admin, webhook_id))


@router.patch("/{webhook_id}")
async def update_webhook(
    webhook_id: WebhookIdPath,
    data: WebhookUpdate,
    admin: Admin,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
) -> WebhookRead:
    subscription = await service.update_webhook(
        session, admin, webhook_id, data, settings=settings, actor=actor
    )
    return service.to_read(subscription)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(
    webhook_id: WebhookIdPath, admin: Admin, session: SessionDep, actor: ActorDep
) -> Response:
    await service.delete_webhook(session, admin, webhook_id, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{webhook_id}/rotate-secret")
async def rotate_webhook_secret(
    webhook_id: WebhookIdPath,
    response: Response,
    admin: Admin,
    session: SessionDep,
    security: SecurityDep,
    actor: ActorDep,
) -> WebhookWithSecret:
    """A new signing secret, shown this once; the old one stops at once."""
    rotated = await service.rotate_secret(
        session, admin, webhook_id, keys=security.pii_keys, actor=actor
    )
    response.headers.update(NO_STORE)
    return rotated


@router.get("/{webhook_id}/deliveries")
async def list_deliveries(
    webhook_id: WebhookIdPath,
    admin: Admin,
    session: SessionDep,
    page: PageDep,
    delivery_status: DeliveryStatusQuery = None,
) -> Page[DeliveryRead]:
    """Newest first; ``status`` keeps one status."""
    rows = await service.list_deliveries(
        session,
        admin,
        webhook_id,
        status=None if delivery_status is None else delivery_status.value,
        after_id=cursor_value(page, "id", uuid.UUID),
        limit=page.limit + 1,
    )
    return make_page(rows, page, render=service.delivery_to_read, key=id_key)


@router.get("/{webhook_id}/deliveries/{delivery_id}")
async def get_delivery(
    webhook_id: WebhookIdPath, delivery_id: DeliveryIdPath, admin: Admin, session: SessionDep
) -> DeliveryRead:
    delivery = await service.get_delivery(session, admin, webhook_id, delivery_id)
    return service.delivery_to_read(delivery)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    responses={409: {"description": "the delivery has not failed"}},
)
async def replay_delivery(
    webhook_id: WebhookIdPath,
    delivery_id: DeliveryIdPath,
    admin: Admin,
    session: SessionDep,
    actor: ActorDep,
) -> DeliveryRead:
    """Queue a failed delivery again; the dispatcher sends it on its next pass."""
    delivery = await service.replay_delivery(session, admin, webhook_id, delivery_id, actor=actor)
    return service.delivery_to_read(delivery)
