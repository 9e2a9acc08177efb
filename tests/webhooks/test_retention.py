"""Retention of the outbox and of webhook deliveries: what is published or finished goes
after its keep; what the relay or the dispatcher still owes never goes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from astroshield.config import Settings
from astroshield.db import session_scope
from astroshield.events.models import OutboxEvent
from astroshield.events.service import emit
from astroshield.retention.service import apply_retention
from astroshield.webhooks.models import WebhookDelivery
from tests.conftest import Factory
from tests.webhooks.conftest import admin_of, subscribe

DATA = {
    "catalog": "overlay",
    "source": "retention test",
    "inserted": 1,
    "already_present": 0,
    "rejected": 0,
}


async def test_published_events_and_finished_deliveries_go_after_their_keep(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, factory: Factory
) -> None:
    admin = await admin_of(factory)
    organisation_id = admin.organisation.id
    webhook = await subscribe(client, admin, "https://hooks.example.org/x", ["catalog.refreshed"])
    now = datetime.now(UTC)
    async with session_scope(app.state.sessionmaker) as session:
        old_sent = await emit(session, organisation_id, "catalog.refreshed", "overlay", DATA)
        unsent = await emit(session, organisation_id, "catalog.refreshed", "overlay", DATA)
        recent = await emit(session, organisation_id, "catalog.refreshed", "overlay", DATA)
    async with session_scope(app.state.sessionmaker) as session:
        rows = {row.id: row for row in (await session.scalars(select(OutboxEvent))).all()}
        rows[old_sent.id].sent_at = now - timedelta(days=20)
        rows[unsent.id].created_at = now - timedelta(days=400)  # old, but never published
        rows[recent.id].sent_at = now - timedelta(days=2)

        sequences = iter(range(rows[recent.id].sequence, rows[recent.id].sequence + 100))

        def delivery(status: str, age_days: int) -> WebhookDelivery:
            return WebhookDelivery(  # one per event: deliveries are unique per event
                subscription_id=uuid.UUID(webhook["id"]),
                organisation_id=organisation_id,
                event_sequence=next(sequences),
                event_id=recent.id,
                event_type="catalog.refreshed",
                status=status,
                created_at=now - timedelta(days=age_days),
            )

        finished_old = [delivery("succeeded", 40), delivery("failed", 40)]
        kept = [delivery("pending", 40), delivery("succeeded", 5), delivery("failed", 5)]
        session.add_all([*finished_old, *kept])

    keep = settings.model_copy(
        update={"retention_outbox_days": 14, "retention_webhook_delivery_days": 30}
    )
    dry = await apply_retention(app.state.sessionmaker, keep, dry_run=True, now=now)
    counted = {r.data_class: r.affected for r in dry.classes}
    assert (counted["outbox_events"], counted["webhook_deliveries"]) == (1, 2)
    await apply_retention(app.state.sessionmaker, keep, dry_run=False, now=now)

    async with session_scope(app.state.sessionmaker) as session:
        events = {row.id for row in (await session.scalars(select(OutboxEvent))).all()}
        left = {row.id for row in (await session.scalars(select(WebhookDelivery))).all()}
    assert events == {unsent.id, recent.id}
    assert left == {item.id for item in kept}
