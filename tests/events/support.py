"""Reading the outbox and checking envelopes against the published JSON Schemas."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jsonschema_rs
from fastapi import FastAPI

from astroshield.db import session_scope
from astroshield.events.catalogue import event_schema
from astroshield.events.service import outbox_of
from tests.conjunction.cdms import kvn, omitron_cdm
from tests.conjunction.conftest import Operator, upload


async def outbox(app: FastAPI, organisation_id: uuid.UUID) -> list[dict[str, Any]]:
    """The organisation's events, oldest first, each envelope checked against its schema
    (draft 2020-12, formats asserted)."""
    async with session_scope(app.state.sessionmaker) as session:
        rows = await outbox_of(session, organisation_id)
    envelopes = []
    for row in rows:
        validator = jsonschema_rs.Draft202012Validator(
            event_schema(row.type), validate_formats=True
        )
        validator.validate(row.envelope)
        assert row.subject.endswith(f".{row.type}")
        envelopes.append(row.envelope)
    return envelopes


def of_type(envelopes: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [e for e in envelopes if e["type"] == event_type]


def cdm_body(name: str, hbr_each_m: float, hours_ago: float, now: datetime) -> bytes:
    return kvn(
        omitron_cdm(
            primary="44001",
            secondary="44002",
            tca=now + timedelta(days=2),
            creation=now - timedelta(hours=hours_ago),
            message_id=name,
            hbr_each_m=hbr_each_m,
        )
    )


async def send_cdms(client: httpx.AsyncClient, me: Operator, names: list[str]) -> None:
    now = datetime.now(UTC)
    for hours_ago, name in enumerate(reversed(names)):
        response = await upload(client, cdm_body(name, 10.0, 30 - hours_ago, now), me.headers)
        assert response.status_code == 201, response.text


async def outbox_state(app: FastAPI, me: Operator) -> tuple[list[str], list[bool]]:
    async with session_scope(app.state.sessionmaker) as session:
        rows = await outbox_of(session, me.organisation.id)
    return [str(row.id) for row in rows], [row.sent_at is not None for row in rows]
