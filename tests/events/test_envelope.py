"""The envelope: CloudEvents 1.0 attributes, and the W3C traceparent of the current span."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import jsonschema_rs
from opentelemetry.sdk.trace import TracerProvider

from astroshield.events.catalogue import event_schema
from astroshield.events.service import envelope

DATA = {"catalog": "public", "source": "celestrak", "inserted": 3, "already_present": 1,
        "rejected": 0}  # fmt: skip
MOMENT = datetime(2026, 12, 7, 10, 0, 0, 123456, tzinfo=UTC)


def test_an_envelope_outside_a_trace_has_no_traceparent() -> None:
    document = envelope("_platform", "catalog.refreshed", "public", DATA, MOMENT)
    jsonschema_rs.Draft202012Validator(event_schema("catalog.refreshed")).validate(document)
    assert "traceparent" not in document
    assert document["time"] == "2026-12-07T10:00:00.123456Z"
    assert document["source"] == "/astroshield/_platform"
    assert uuid.UUID(document["id"]).version == 7


def test_an_envelope_carries_the_current_span_as_traceparent() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("change") as span:
        document = envelope("ops", "catalog.refreshed", "public", DATA, MOMENT)
        context = span.get_span_context()
    # W3C Trace Context: version 00, 32 hex trace id, 16 hex parent id, 2 hex flags.
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}", document["traceparent"])
    _, trace_id, span_id, flags = document["traceparent"].split("-")
    assert (int(trace_id, 16), int(span_id, 16)) == (context.trace_id, context.span_id)
    assert int(flags, 16) & 0x01  # sampled
    jsonschema_rs.Draft202012Validator(event_schema("catalog.refreshed")).validate(document)
