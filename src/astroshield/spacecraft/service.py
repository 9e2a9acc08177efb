from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from astroshield.cache import TTLCache
from astroshield.errors import FieldError, InvalidInputError, NotFoundError
from astroshield.organisations.repository import OrganisationRepository
from astroshield.spacecraft.models import (
    HealthState,
    OperationalMode,
    Spacecraft,
    SpacecraftStatusReport,
)
from astroshield.spacecraft.repository import SpacecraftFilter, SpacecraftRepository
from astroshield.spacecraft.schemas import (
    SpacecraftCreate,
    SpacecraftStatus,
    SpacecraftUpdate,
    StatusReportCreate,
)


async def create_spacecraft(
    spacecraft: SpacecraftRepository,
    organisations: OrganisationRepository,
    data: SpacecraftCreate,
) -> Spacecraft:
    if await organisations.get(data.organisation_id) is None:
        raise InvalidInputError(
            f"organisation {data.organisation_id} does not exist",
            errors=[FieldError(["body", "organisation_id"], "organisation not found")],
        )
    return await spacecraft.flush(Spacecraft(**data.model_dump()))


async def get_spacecraft(repository: SpacecraftRepository, spacecraft_id: uuid.UUID) -> Spacecraft:
    spacecraft = await repository.get(spacecraft_id)
    if spacecraft is None:
        raise NotFoundError(f"spacecraft {spacecraft_id} not found")
    return spacecraft


async def list_spacecraft(
    repository: SpacecraftRepository,
    filters: SpacecraftFilter,
    *,
    after_id: uuid.UUID | None,
    limit: int,
) -> Sequence[Spacecraft]:
    return await repository.list(filters, after_id=after_id, limit=limit)


StatusCache = TTLCache[uuid.UUID, SpacecraftStatus]


async def update_spacecraft(
    repository: SpacecraftRepository,
    cache: StatusCache,
    spacecraft_id: uuid.UUID,
    data: SpacecraftUpdate,
) -> Spacecraft:
    spacecraft = await get_spacecraft(repository, spacecraft_id)
    cache.invalidate(spacecraft_id)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise InvalidInputError(
            "name cannot be removed", errors=[FieldError(["body", "name"], "must not be null")]
        )
    for field, value in changes.items():
        setattr(spacecraft, field, value)
    return await repository.flush(spacecraft)


async def delete_spacecraft(
    repository: SpacecraftRepository, cache: StatusCache, spacecraft_id: uuid.UUID
) -> None:
    await get_spacecraft(repository, spacecraft_id)
    cache.invalidate(spacecraft_id)
    await repository.delete(spacecraft_id)


async def record_status(
    repository: SpacecraftRepository,
    cache: StatusCache,
    spacecraft_id: uuid.UUID,
    data: StatusReportCreate,
) -> SpacecraftStatusReport:
    """Append a status report; it becomes the current status unless a newer one exists."""
    spacecraft = await get_spacecraft(repository, spacecraft_id)
    cache.invalidate(spacecraft_id)
    report = await repository.add_status_report(
        SpacecraftStatusReport(spacecraft_id=spacecraft_id, source="api", **data.model_dump())
    )
    if spacecraft.status_reported_at is None or data.reported_at >= spacecraft.status_reported_at:
        spacecraft.mode = data.mode.value
        spacecraft.health = data.health.value
        spacecraft.health_summary = data.health_summary
        spacecraft.status_reported_at = data.reported_at
        if data.orbit_epoch is not None:
            spacecraft.orbit_epoch = data.orbit_epoch
    # Last contact only moves forward, whichever report carries it.
    if data.last_contact_at is not None and (
        spacecraft.last_contact_at is None or data.last_contact_at > spacecraft.last_contact_at
    ):
        spacecraft.last_contact_at = data.last_contact_at
    await repository.flush(spacecraft)
    return report


async def current_status(
    repository: SpacecraftRepository, cache: StatusCache, spacecraft_id: uuid.UUID
) -> SpacecraftStatus:
    """The current status; dashboards poll this, so it is served from a short-lived cache."""
    cached = cache.get(spacecraft_id)
    if cached is not None:
        return cached
    spacecraft = await get_spacecraft(repository, spacecraft_id)
    status = SpacecraftStatus(
        spacecraft_id=spacecraft.id,
        name=spacecraft.name,
        mode=OperationalMode(spacecraft.mode),
        health=HealthState(spacecraft.health),
        health_summary=spacecraft.health_summary,
        last_contact_at=spacecraft.last_contact_at,
        orbit_epoch=spacecraft.orbit_epoch,
        reported_at=spacecraft.status_reported_at,
    )
    cache.put(spacecraft_id, status)
    return status


async def status_history(
    repository: SpacecraftRepository,
    spacecraft_id: uuid.UUID,
    *,
    start: datetime | None,
    stop: datetime | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[SpacecraftStatusReport]:
    await get_spacecraft(repository, spacecraft_id)
    return await repository.list_status_reports(
        spacecraft_id, start=start, stop=stop, before=before, limit=limit
    )
