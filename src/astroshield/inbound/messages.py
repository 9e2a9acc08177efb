"""What an inbound message is (its subject), and what a dead letter carries. Pure: no
bus, no database, no web."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

INGEST_PREFIX: Final = "astroshield.ingest"
DEADLETTER_PREFIX: Final = "astroshield.deadletter"
UNKNOWN: Final = "_unknown"  # the slug or kind of a subject that names none

Kind = Literal["telemetry", "cdm"]

# Organisation slugs (organisations.schemas): lower-case letters, digits and hyphens.
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
# Headers never copied into a dead letter: the credential, and the bus's own ids (the dead
# letter gets its own Nats-Msg-Id; the original is kept under another name).
_DROPPED_HEADERS: Final = frozenset({"authorization", "nats-msg-id"})
# A dead letter's problem header lists at most this many field errors (a batch of 10,000
# bad samples must not make a message larger than the bus accepts).
MAX_LISTED_ERRORS: Final = 20
MAX_DETAIL_CHARS: Final = 1000

REASON_HEADER: Final = "AstroShield-Reason"
PROBLEM_HEADER: Final = "AstroShield-Problem"
SUBJECT_HEADER: Final = "AstroShield-Original-Subject"
MSG_ID_HEADER: Final = "AstroShield-Original-Msg-Id"
SEQUENCE_HEADER: Final = "AstroShield-Stream-Sequence"


class SubjectError(ValueError):
    """The subject is not one of the inbound subjects; ``field`` names the bad token."""

    def __init__(self, detail: str, field: str) -> None:
        super().__init__(detail)
        self.detail, self.field = detail, field


@dataclass(frozen=True, slots=True)
class Target:
    """Where a message goes: an organisation (by slug), a kind, a spacecraft (telemetry)."""

    slug: str
    kind: Kind
    spacecraft_id: uuid.UUID | None = None


def parse_subject(subject: str) -> Target:
    """``astroshield.ingest.<slug>.telemetry.<spacecraft-id>`` or
    ``astroshield.ingest.<slug>.cdm``; anything else raises :class:`SubjectError`."""
    tokens = subject.split(".")
    if ".".join(tokens[:2]) != INGEST_PREFIX or len(tokens) < 4:
        raise SubjectError(
            f"{subject!r} is not astroshield.ingest.<organisation-slug>.telemetry."
            "<spacecraft-id> or astroshield.ingest.<organisation-slug>.cdm",
            "subject",
        )
    slug, kind, rest = tokens[2], tokens[3], tokens[4:]
    if not _SLUG.match(slug):
        raise SubjectError(f"{slug!r} is not an organisation slug", "organisation-slug")
    if kind == "cdm" and not rest:
        return Target(slug, "cdm")
    if kind == "telemetry" and len(rest) == 1:
        try:
            return Target(slug, "telemetry", uuid.UUID(rest[0]))
        except ValueError:
            raise SubjectError(
                f"{rest[0]!r} is not a spacecraft id (a UUID)", "spacecraft-id"
            ) from None
    raise SubjectError(
        f"unknown inbound subject {subject!r}: the kinds are telemetry.<spacecraft-id> and cdm",
        "kind",
    )


def slug_and_kind(subject: str) -> tuple[str, str]:
    """The slug and kind to dead-letter a message under, even when its subject is bad."""
    tokens = subject.split(".")
    slug = tokens[2] if len(tokens) > 2 and _SLUG.match(tokens[2]) else UNKNOWN
    kind = tokens[3] if len(tokens) > 3 and tokens[3] in ("telemetry", "cdm") else UNKNOWN
    return slug, kind


def deadletter_subject(subject: str) -> str:
    slug, kind = slug_and_kind(subject)
    return f"{DEADLETTER_PREFIX}.{slug}.{kind}"


@dataclass(frozen=True, slots=True)
class Problem:
    """The RFC 9457 problem an HTTP caller would have been answered with."""

    status: int
    slug: str
    title: str
    detail: str
    errors: Sequence[Mapping[str, Any]] = ()

    def as_json(self, instance: str) -> str:
        """Compact, ASCII-only JSON (a header value holds no line break or odd byte)."""
        body: dict[str, Any] = {
            "type": f"/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail[:MAX_DETAIL_CHARS],
            "instance": instance,
        }
        if self.errors:
            body["errors"] = [dict(error) for error in self.errors[:MAX_LISTED_ERRORS]]
            if len(self.errors) > MAX_LISTED_ERRORS:
                body["errors_omitted"] = len(self.errors) - MAX_LISTED_ERRORS
        return json.dumps(body, ensure_ascii=True, separators=(",", ":"), default=str)


def deadletter_headers(
    original: Mapping[str, str] | None, subject: str, stream_sequence: int, problem: Problem
) -> dict[str, str]:
    """The original headers (without the credential), the reason (the problem's slug), the
    whole problem as JSON, where the message came from, and a ``Nats-Msg-Id`` made of the
    stream sequence, so that a dead letter published twice (a crash before the original was
    terminated) is stored once."""
    headers = {
        name: value
        for name, value in (original or {}).items()
        if name.lower() not in _DROPPED_HEADERS
    }
    for name, value in (original or {}).items():
        if name.lower() == "nats-msg-id":
            headers[MSG_ID_HEADER] = value
    headers.update(
        {
            REASON_HEADER: problem.slug,
            PROBLEM_HEADER: problem.as_json(subject),
            SUBJECT_HEADER: subject,
            SEQUENCE_HEADER: str(stream_sequence),
            "Nats-Msg-Id": f"astroshield-deadletter-{stream_sequence}",
        }
    )
    return headers


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A header by case-insensitive name (NATS keeps the sender's spelling)."""
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if key.lower() == wanted:
            return value
    return None


def retry_delay_s(deliveries: int, base_s: float, max_s: float) -> float:
    """Backoff before the next delivery after ``deliveries`` failed ones."""
    return float(min(max_s, base_s * 2.0 ** max(0, deliveries - 1)))
