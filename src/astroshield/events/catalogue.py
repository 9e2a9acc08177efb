"""The event types and their JSON Schemas (draft 2020-12), one file per type in
``schemas/``: the public contract of what ``emit`` writes and the relay publishes."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, Final

SPECVERSION: Final = "1.0"
DATACONTENTTYPE: Final = "application/json"
# Every NATS subject the service publishes starts with this token; the stream is bound
# to "<prefix>.>".
SUBJECT_PREFIX: Final = "astroshield"
# The source and subject token of events that belong to no organisation (a public
# catalog import). Organisation slugs never start with "_".
PLATFORM: Final = "_platform"

CONJUNCTION_CREATED: Final = "conjunction.created"
CONJUNCTION_UPDATED: Final = "conjunction.updated"
SCREENING_FINISHED: Final = "screening.finished"
CATALOG_REFRESHED: Final = "catalog.refreshed"
ALERT_CHANGED: Final = "alert.changed"
TELEMETRY_ALARM: Final = "telemetry.alarm"
MANEUVER_DETECTED: Final = "maneuver.detected"
INTENT_CHANGED: Final = "intent.changed"

EVENT_TYPES: Final = (
    CONJUNCTION_CREATED,
    CONJUNCTION_UPDATED,
    SCREENING_FINISHED,
    CATALOG_REFRESHED,
    ALERT_CHANGED,
    TELEMETRY_ALARM,
    MANEUVER_DETECTED,
    INTENT_CHANGED,
)


def nats_subject(owner: str, event_type: str) -> str:
    """``astroshield.events.<organisation-slug>.<type>`` (the type's dot makes two tokens,
    so ``astroshield.events.<slug>.conjunction.>`` selects one family)."""
    return f"{SUBJECT_PREFIX}.events.{owner}.{event_type}"


@cache
def event_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema of ``event_type``'s envelope; KeyError for an unknown type."""
    if event_type not in EVENT_TYPES:
        raise KeyError(event_type)
    text = resources.files(__package__).joinpath("schemas", f"{event_type}.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema
