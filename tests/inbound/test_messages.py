"""Inbound subjects and dead-letter headers (pure)."""

from __future__ import annotations

import json
import uuid

import pytest

from astroshield.inbound.messages import (
    MAX_LISTED_ERRORS,
    Problem,
    SubjectError,
    Target,
    deadletter_headers,
    deadletter_subject,
    parse_subject,
    retry_delay_s,
)

SPACECRAFT = uuid.UUID("01a24ffd-abce-73d4-8e61-e81f5bc17e4e")


def test_the_two_inbound_subjects_are_read() -> None:
    assert parse_subject(f"astroshield.ingest.my-ops.telemetry.{SPACECRAFT}") == Target(
        "my-ops", "telemetry", SPACECRAFT
    )
    assert parse_subject("astroshield.ingest.my-ops.cdm") == Target("my-ops", "cdm")


@pytest.mark.parametrize(
    ("subject", "field"),
    [
        ("astroshield.events.my-ops.cdm", "subject"),
        ("astroshield.ingest.my-ops", "subject"),
        ("astroshield.ingest.My_Ops.cdm", "organisation-slug"),
        ("astroshield.ingest.my-ops.telemetry.not-a-uuid", "spacecraft-id"),
        ("astroshield.ingest.my-ops.telemetry", "kind"),
        (f"astroshield.ingest.my-ops.telemetry.{SPACECRAFT}.extra", "kind"),
        ("astroshield.ingest.my-ops.cdm.extra", "kind"),
        ("astroshield.ingest.my-ops.orbits", "kind"),
    ],
)
def test_other_subjects_are_refused_naming_the_bad_token(subject: str, field: str) -> None:
    with pytest.raises(SubjectError) as refused:
        parse_subject(subject)
    assert refused.value.field == field


def test_dead_letters_go_under_the_subjects_slug_and_kind_or_unknown() -> None:
    assert deadletter_subject(f"astroshield.ingest.my-ops.telemetry.{SPACECRAFT}") == (
        "astroshield.deadletter.my-ops.telemetry"
    )
    assert deadletter_subject("astroshield.ingest.my-ops.orbits") == (
        "astroshield.deadletter.my-ops._unknown"
    )
    assert deadletter_subject("astroshield.ingest.Bad_Slug.cdm") == (
        "astroshield.deadletter._unknown.cdm"
    )


def test_a_dead_letter_keeps_the_headers_but_never_the_credential() -> None:
    problem = Problem(
        422,
        "validation-error",
        "Request validation failed",
        "bad\nsamples " + "é" * 5000,
        [{"loc": ["body", "samples", i], "msg": "bad"} for i in range(100)],
    )
    headers = deadletter_headers(
        {"authorization": "Bearer secret", "Nats-Msg-Id": "m-1", "X-Source-Id": "gs"},
        "astroshield.ingest.my-ops.cdm",
        42,
        problem,
    )
    assert "authorization" not in {name.lower() for name in headers}
    assert headers["X-Source-Id"] == "gs"
    assert headers["AstroShield-Original-Msg-Id"] == "m-1"
    assert headers["Nats-Msg-Id"] == "astroshield-deadletter-42"
    assert headers["AstroShield-Reason"] == "validation-error"
    value = headers["AstroShield-Problem"]
    assert value.isascii() and "\n" not in value and "\r" not in value
    body = json.loads(value)
    assert body["status"] == 422 and body["instance"] == "astroshield.ingest.my-ops.cdm"
    assert len(body["errors"]) == MAX_LISTED_ERRORS
    assert body["errors_omitted"] == 100 - MAX_LISTED_ERRORS
    assert len(body["detail"]) == 1000


def test_retries_back_off_doubling_up_to_the_bound() -> None:
    assert [retry_delay_s(n, 1.0, 10.0) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
