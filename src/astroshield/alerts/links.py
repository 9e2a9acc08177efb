"""What an alert is about, read from its labels: the spacecraft, the conjunction event and
the telemetry parameter. Each domain names these in the labels it gives its alerts; this is
the one place that knows which label carries which link."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

# CCDM and conjunction alerts say ``spacecraft_id``; telemetry limit rules say ``spacecraft``
# (an id there, while a conjunction alert shows the spacecraft's name under that key).
SPACECRAFT_LABELS = ("spacecraft_id", "spacecraft")
EVENT_LABEL = "event_id"
PARAMETER_LABEL = "parameter"


@dataclass(frozen=True, slots=True)
class AlertLinks:
    spacecraft_id: uuid.UUID | None
    event_id: uuid.UUID | None
    parameter: str | None


def _uuid(value: str | None) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def links_of(labels: Mapping[str, str]) -> AlertLinks:
    spacecraft = next(
        (found for key in SPACECRAFT_LABELS if (found := _uuid(labels.get(key))) is not None),
        None,
    )
    return AlertLinks(
        spacecraft_id=spacecraft,
        event_id=_uuid(labels.get(EVENT_LABEL)),
        parameter=labels.get(PARAMETER_LABEL),
    )
