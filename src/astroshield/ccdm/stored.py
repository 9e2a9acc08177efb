"""Storing what CCDM finds, and announcing each new finding once.

- A manoeuvre detection is stored once per (scope, object, burn interval) and, when first
  stored, emits ``maneuver.detected`` in the same transaction: a public-catalog detection
  to the platform and to every organisation that registered a spacecraft with that catalog
  number; a detection on an organisation's overlay to that organisation only.
- The latest intent category of each (organisation, spacecraft, object) is kept; a new
  category (or the first assessment of the pair) emits ``intent.changed`` to the
  spacecraft's organisation.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield import __version__
from astroshield.astro.ccdm.intent import IntentAssessment
from astroshield.astro.ccdm.maneuvers import DetectionConfig, ManeuverDetection
from astroshield.catalog.models import ElementSetRecord
from astroshield.ccdm.models import IntentAssessmentRecord
from astroshield.ccdm.repository import DetectionRepository, IntentRepository
from astroshield.db import utcnow
from astroshield.events.catalogue import INTENT_CHANGED, MANEUVER_DETECTED
from astroshield.events.service import emit
from astroshield.spacecraft.models import Spacecraft

DETECTOR = "astroshield.astro.ccdm.maneuvers"
DETECTOR_VERSION = __version__[:32]
_THRESHOLD_SIGMA = DetectionConfig().threshold_sigma


@dataclass(frozen=True, slots=True)
class ScopedHistory:
    """The element sets a detection ran on, ascending epoch with unique epochs (the order
    the detector's indices refer to), and the scope they make: None when every set is
    public, else the organisation whose overlay sets were used."""

    catalog_number: str
    records: Sequence[ElementSetRecord]
    organisation_id: uuid.UUID | None

    @classmethod
    def of(
        cls, catalog_number: str, records: Sequence[ElementSetRecord], viewer: uuid.UUID | None
    ) -> ScopedHistory:
        unique: dict[datetime, ElementSetRecord] = {}
        for record in sorted(records, key=lambda item: item.epoch):
            unique.setdefault(record.epoch, record)
        ordered = list(unique.values())
        overlay = viewer is not None and any(record.overlay for record in ordered)
        return cls(catalog_number, ordered, viewer if overlay else None)

    @property
    def object_name(self) -> str | None:
        names = [record.object_name for record in self.records if record.object_name]
        return names[-1] if names else None


def _overlaps(start: datetime, stop: datetime, known: Sequence[tuple[datetime, datetime]]) -> bool:
    """A stored interval overlapping this one is the same burn seen from another window
    (sharing only an end set is two burns in consecutive intervals)."""
    return any(start < other_stop and other_start < stop for other_start, other_stop in known)


def _row(history: ScopedHistory, detection: ManeuverDetection, now: datetime) -> dict[str, Any]:
    before = history.records[detection.before_index]
    after = history.records[detection.after_index]
    return {
        "organisation_id": history.organisation_id,
        "catalog_number": history.catalog_number,
        "object_name": history.object_name,
        "interval_start": before.epoch,
        "interval_stop": after.epoch,
        "burn_epoch": detection.epoch,
        "burn_window_start": detection.window_start,
        "burn_window_stop": detection.window_end,
        "delta_v_m_s": detection.delta_v_m_s,
        "delta_v_in_plane_m_s": detection.delta_v_in_plane_m_s,
        "delta_v_out_of_plane_m_s": detection.delta_v_out_of_plane_m_s,
        "delta_a_km": detection.delta_a_km,
        "delta_inclination_deg": detection.delta_inclination_deg,
        "kind": str(detection.kind),
        "score_sigma": detection.score,
        "threshold_sigma": _THRESHOLD_SIGMA,
        "confidence": detection.confidence,
        "timed": detection.timed,
        "detector": DETECTOR,
        "detector_version": DETECTOR_VERSION,
        "before_element_set_id": before.id,
        "after_element_set_id": after.id,
        "detected_at": now,
    }


def _event_data(detection_id: uuid.UUID, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "detection_id": detection_id,
        "catalog_number": row["catalog_number"],
        "object_name": row["object_name"],
        "scope": "public" if row["organisation_id"] is None else "overlay",
        "interval_start": row["interval_start"],
        "interval_stop": row["interval_stop"],
        "burn_epoch": row["burn_epoch"],
        "delta_v_m_s": row["delta_v_m_s"],
        "delta_a_km": row["delta_a_km"],
        "kind": row["kind"],
        "score_sigma": row["score_sigma"],
        "threshold_sigma": row["threshold_sigma"],
        "confidence": row["confidence"],
        "detector": row["detector"],
        "detector_version": row["detector_version"],
        "detected_at": row["detected_at"],
    }


@dataclass(frozen=True, slots=True)
class FoundDetections:
    """Detections ready to store (rows built from the history, which can then go)."""

    organisation_id: uuid.UUID | None
    catalog_number: str
    rows: tuple[dict[str, Any], ...]


def found_in(history: ScopedHistory, detections: Sequence[ManeuverDetection]) -> FoundDetections:
    now = utcnow()
    rows = tuple(_row(history, detection, now) for detection in detections)
    return FoundDetections(history.organisation_id, history.catalog_number, rows)


async def store_detections(session: AsyncSession, found: FoundDetections) -> int:
    """Store the detections not stored yet in their scope, each announced once; returns
    how many were new."""
    repository = DetectionRepository(session)
    known = await repository.intervals(found.organisation_id, found.catalog_number)
    owners: list[uuid.UUID] | None = None
    new = 0
    for row in found.rows:
        if _overlaps(row["interval_start"], row["interval_stop"], known):
            continue
        detection_id = await repository.insert_new(row)
        known.append((row["interval_start"], row["interval_stop"]))
        if detection_id is None:  # stored meanwhile by another detector run
            continue
        new += 1
        data = _event_data(detection_id, row)
        if found.organisation_id is not None:
            audience: list[uuid.UUID | None] = [found.organisation_id]
        else:
            if owners is None:
                owners = await repository.owners(found.catalog_number)
            audience = [None, *owners]
        for organisation_id in audience:
            await emit(session, organisation_id, MANEUVER_DETECTED, found.catalog_number, data)
    return new


async def record_intent(
    session: AsyncSession,
    spacecraft: Spacecraft,
    catalog_number: str,
    assessment: IntentAssessment,
    window_days: int,
    now: datetime,
) -> bool:
    """Keep the pair's latest category; True (and ``intent.changed`` emitted) when the
    category is new for the pair."""
    repository = IntentRepository(session, spacecraft.organisation_id)
    stored = await repository.get(spacecraft.id, catalog_number)
    category = assessment.category.value
    previous = None if stored is None else stored.category
    if stored is None:
        stored = IntentAssessmentRecord(
            organisation_id=spacecraft.organisation_id,
            spacecraft_id=spacecraft.id,
            catalog_number=catalog_number,
            changed_at=now,
        )
        repository.add(stored)
    stored.category = category
    stored.score = assessment.score
    stored.window_days = window_days
    stored.assessed_at = now
    if previous == category:
        return False
    stored.changed_at = now
    await repository.flush()
    await emit(
        session,
        spacecraft.organisation_id,
        INTENT_CHANGED,
        spacecraft.id,
        {
            "spacecraft_id": spacecraft.id,
            "catalog_number": catalog_number,
            "previous_category": previous,
            "category": category,
            "score": assessment.score,
            "assessed_at": now,
        },
    )
    return True
