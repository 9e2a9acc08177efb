from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.audit.service import Actor, record
from astroshield.cache import TTLCache
from astroshield.errors import FieldError, InvalidInputError, NotFoundError
from astroshield.security.principal import Principal
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

# Keyed by (organisation, spacecraft): the cache is partitioned like the data, so one
# organisation's entry can never answer, or fail, another organisation's request.
StatusCache = TTLCache[tuple[uuid.UUID, uuid.UUID], "StatusSnapshot"]


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    """A status and its JSON, encoded once per cache fill: the status is read far more
    often than it changes, and encoding was a large part of serving it."""

    status: SpacecraftStatus
    json: bytes

    @classmethod
    def of(cls, status: SpacecraftStatus) -> StatusSnapshot:
        return cls(status, status.__pydantic_serializer__.to_json(status))


async def create_spacecraft(
    session: AsyncSession, principal: Principal, data: SpacecraftCreate, *, actor: Actor
) -> Spacecraft:
    return await register_spacecraft(session, principal.organisation_id, data, actor=actor)


async def register_spacecraft(
    session: AsyncSession, organisation_id: uuid.UUID, data: SpacecraftCreate, *, actor: Actor
) -> Spacecraft:
    """Register a spacecraft for the organisation, with no user behind it (the seed)."""
    repository = SpacecraftRepository(session, organisation_id)
    spacecraft = await repository.flush(
        Spacecraft(organisation_id=organisation_id, **data.model_dump())
    )
    await record(
        session,
        actor.event(
            "spacecraft.created",
            object_type="spacecraft",
            object_id=spacecraft.id,
            name=spacecraft.name,
            catalog_number=spacecraft.catalog_number,
        ),
    )
    return spacecraft


async def get_spacecraft(
    session: AsyncSession, organisation_id: uuid.UUID, spacecraft_id: uuid.UUID
) -> Spacecraft:
    """The organisation's spacecraft, or :class:`NotFoundError` (404): the one get-or-404 of
    this aggregate, used by every domain. Another organisation's spacecraft is not found."""
    return await _get(SpacecraftRepository(session, organisation_id), spacecraft_id)


async def _get(repository: SpacecraftRepository, spacecraft_id: uuid.UUID) -> Spacecraft:
    spacecraft = await repository.get(spacecraft_id)
    if spacecraft is None:
        raise NotFoundError(f"spacecraft {spacecraft_id} not found")
    return spacecraft


async def spacecraft_by_catalog_number(
    session: AsyncSession, organisation_id: uuid.UUID, numbers: Sequence[str]
) -> dict[str, Spacecraft]:
    """The organisation's spacecraft registered under any of ``numbers``, by catalog number;
    numbers no spacecraft carries are left out."""
    found = await SpacecraftRepository(session, organisation_id).by_catalog_numbers(numbers)
    return {s.catalog_number: s for s in found if s.catalog_number is not None}


async def list_spacecraft(
    session: AsyncSession,
    principal: Principal,
    *,
    mode: OperationalMode | None,
    name_contains: str | None,
    after_id: uuid.UUID | None,
    limit: int,
) -> Sequence[Spacecraft]:
    filters = SpacecraftFilter(mode=mode.value if mode else None, name_contains=name_contains)
    repository = SpacecraftRepository(session, principal.organisation_id)
    return await repository.list(filters, after_id=after_id, limit=limit)


async def spacecraft_names(session: AsyncSession, organisation_id: uuid.UUID) -> set[str]:
    """Names of the organisation's registered spacecraft (the seed skips those)."""
    return set(await SpacecraftRepository(session, organisation_id).names())


async def spacecraft_with_catalog_number(
    session: AsyncSession, organisation_id: uuid.UUID, catalog_number: str
) -> Sequence[Spacecraft]:
    """The organisation's spacecraft registered as this (canonical) catalog number."""
    repository = SpacecraftRepository(session, organisation_id)
    return await repository.by_catalog_numbers([catalog_number])


async def update_spacecraft(
    session: AsyncSession,
    principal: Principal,
    spacecraft_id: uuid.UUID,
    data: SpacecraftUpdate,
    *,
    cache: StatusCache,
    actor: Actor,
) -> Spacecraft:
    repository = SpacecraftRepository(session, principal.organisation_id)
    spacecraft = await _get(repository, spacecraft_id)
    cache.invalidate((principal.organisation_id, spacecraft_id))
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise InvalidInputError(
            "name cannot be removed", errors=[FieldError(["body", "name"], "must not be null")]
        )
    before = {field: getattr(spacecraft, field) for field in changes}
    for field, value in changes.items():
        setattr(spacecraft, field, value)
    await repository.flush(spacecraft)
    await record(
        session,
        actor.event(
            "spacecraft.updated",
            object_type="spacecraft",
            object_id=spacecraft_id,
            changes={f: [before[f], changes[f]] for f in changes},
        ),
    )
    return spacecraft


async def delete_spacecraft(
    session: AsyncSession,
    principal: Principal,
    spacecraft_id: uuid.UUID,
    *,
    cache: StatusCache,
    actor: Actor,
) -> None:
    repository = SpacecraftRepository(session, principal.organisation_id)
    spacecraft = await _get(repository, spacecraft_id)
    cache.invalidate((principal.organisation_id, spacecraft_id))
    await repository.delete(spacecraft_id)
    await record(
        session,
        actor.event(
            "spacecraft.deleted",
            object_type="spacecraft",
            object_id=spacecraft_id,
            name=spacecraft.name,
        ),
    )


async def record_status(
    session: AsyncSession,
    principal: Principal,
    spacecraft_id: uuid.UUID,
    data: StatusReportCreate,
    *,
    cache: StatusCache,
    actor: Actor,
) -> SpacecraftStatusReport:
    """Append a status report; it becomes the current status unless a newer one exists."""
    return await add_status_report(
        session, principal.organisation_id, spacecraft_id, data, cache=cache, actor=actor
    )


async def add_status_report(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    spacecraft_id: uuid.UUID,
    data: StatusReportCreate,
    *,
    cache: StatusCache | None = None,
    actor: Actor,
) -> SpacecraftStatusReport:
    """:func:`record_status` with no user behind it (the seed); without a ``cache`` there
    is no cached status to invalidate."""
    repository = SpacecraftRepository(session, organisation_id)
    spacecraft = await _get(repository, spacecraft_id)
    if cache is not None:
        cache.invalidate((organisation_id, spacecraft_id))
    report = await repository.add_status_report(
        SpacecraftStatusReport(spacecraft_id=spacecraft_id, source="api", **data.model_dump())
    )
    _apply_status(spacecraft, data)
    await repository.flush(spacecraft)
    await record(
        session,
        actor.event(
            "spacecraft.status_reported",
            object_type="spacecraft",
            object_id=spacecraft_id,
            mode=data.mode.value,
            health=data.health.value,
        ),
    )
    return report


def _apply_status(spacecraft: Spacecraft, data: StatusReportCreate) -> None:
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


async def current_status(
    open_session: Callable[[], AsyncSession],
    principal: Principal,
    spacecraft_id: uuid.UUID,
    *,
    cache: StatusCache,
) -> StatusSnapshot:
    """The current status; dashboards poll this, so it is served from a short-lived cache
    that one query refills however many requests miss at once. The session is opened (and
    the repository built) only on a miss."""
    organisation_id = principal.organisation_id

    async def load() -> StatusSnapshot:
        repository = SpacecraftRepository(open_session(), organisation_id)
        spacecraft = await _get(repository, spacecraft_id)
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
        return StatusSnapshot.of(status)

    if not cache.enabled:
        return await load()
    return await cache.get_or_load((organisation_id, spacecraft_id), load)


async def status_history(
    session: AsyncSession,
    principal: Principal,
    spacecraft_id: uuid.UUID,
    *,
    start: datetime | None,
    stop: datetime | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[SpacecraftStatusReport]:
    repository = SpacecraftRepository(session, principal.organisation_id)
    await _get(repository, spacecraft_id)
    return await repository.list_status_reports(
        spacecraft_id, start=start, stop=stop, before=before, limit=limit
    )
