"""Reading the outbox and checking envelopes against the published JSON Schemas."""

from __future__ import annotations

import uuid
from typing import Any

import jsonschema_rs
from fastapi import FastAPI

from astroshield.db import session_scope
from astroshield.events.catalogue import event_schema
from astroshield.events.service import outbox_of


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
