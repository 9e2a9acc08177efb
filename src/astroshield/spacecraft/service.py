from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.audit.service import Actor, record
from astroshield.cache import TTLCache
from astroshield.db import after_commit_of, utcnow
from astroshield.errors import FieldError, InvalidInputError, NotFoundError
from astroshield.security.principal import Principal
from astroshield.spacecraft.health import (
    HealthInputs,
    HealthSource,
    HistorySource,
    TelemetryAlarm,
    contact_state,
    describe_alarms,
    effective_health,
    health_from_alarms,
    health_now,
    override_in_force,
)
from astroshield.spacecraft.models import (
    HealthState,
    OperationalMode,
    Spacecraft,
    SpacecraftStatusReport,
)
from astroshield.spacecraft.repository import SpacecraftFilter, SpacecraftRepository
from astroshield.spacecraft.schemas import (
    HealthReason,
    OverrideRead,
    SpacecraftCreate,
    SpacecraftRead,
    SpacecraftStatus,
    SpacecraftUpdate,
    StatusReportAccepted,
    StatusReportCreate,
    StatusReportRead,
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


async def _get(
    repository: SpacecraftRepository, spacecraft_id: uuid.UUID, *, for_update: bool = False
) -> Spacecraft:
    """The spacecraft or NotFoundError; ``for_update``: locked, for a status change."""
    if for_update:
        spacecraft = await repository.get_locked(spacecraft_id)
    else:
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
    health: HealthState | None = None,
) -> Sequence[Spacecraft]:
    """Filtered by mode, name substring and the health in force now."""
    filters = SpacecraftFilter(
        mode=mode.value if mode else None,
        name_contains=name_contains,
        health=health.value if health else None,
        now=utcnow(),
    )
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
) -> StatusReportAccepted:
    """Append a status report; its mode, summary and orbit epoch become current unless a
    newer report exists. Its health: see :func:`add_status_report`."""
    repository = SpacecraftRepository(session, principal.organisation_id)
    spacecraft = await _get(repository, spacecraft_id, for_update=True)
    forget_status(session, cache, (principal.organisation_id, spacecraft_id))
    report = await _add_report(repository, spacecraft, data, actor=actor)
    return StatusReportAccepted.model_validate(
        {
            **StatusReportRead.model_validate(report).model_dump(),
            "current_health": spacecraft.health,
            "health_source": spacecraft.health_source,
        }
    )


async def add_status_report(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    spacecraft_id: uuid.UUID,
    data: StatusReportCreate,
    *,
    actor: Actor,
) -> SpacecraftStatusReport:
    """:func:`record_status` with no user behind it (the seed). A report with
    ``override`` puts its health in force until the override expires or is cleared,
    whatever the alarms say; a plain report's health counts only while telemetry does not
    drive the health (no limited parameter has had a sample yet)."""
    repository = SpacecraftRepository(session, organisation_id)
    spacecraft = await _get(repository, spacecraft_id, for_update=True)
    return await _add_report(repository, spacecraft, data, actor=actor)


async def _add_report(
    repository: SpacecraftRepository,
    spacecraft: Spacecraft,
    data: StatusReportCreate,
    *,
    actor: Actor,
) -> SpacecraftStatusReport:
    now = utcnow()
    override = data.override
    report = await repository.add_status_report(
        SpacecraftStatusReport(
            spacecraft_id=spacecraft.id,
            source=HistorySource.OVERRIDE if override else HistorySource.REPORT,
            reason=override.reason if override else None,
            **data.model_dump(exclude={"override"}),
        )
    )
    _apply_status(spacecraft, data)
    if override is not None:
        spacecraft.override_health = data.health.value
        spacecraft.override_reason = override.reason
        spacecraft.override_expires_at = override.expires_at
        spacecraft.override_set_by = actor.user_id
        spacecraft.override_set_at = now
    await _recompute(repository, spacecraft, now)
    await repository.flush(spacecraft)
    details: dict[str, Any] = {}
    if override is not None:
        details = {
            "override_reason": override.reason,
            "override_expires_at": override.expires_at.isoformat(),
        }
    await record(
        repository.session,
        actor.event(
            "spacecraft.status_reported",
            object_type="spacecraft",
            object_id=spacecraft.id,
            mode=data.mode.value,
            health=data.health.value,
            health_source=spacecraft.health_source,
            **details,
        ),
    )
    return report


def _apply_status(spacecraft: Spacecraft, data: StatusReportCreate) -> None:
    if spacecraft.status_reported_at is None or data.reported_at >= spacecraft.status_reported_at:
        spacecraft.mode = data.mode.value
        if data.override is None:
            spacecraft.reported_health = data.health.value
        spacecraft.health_summary = data.health_summary
        spacecraft.status_reported_at = data.reported_at
        if data.orbit_epoch is not None:
            spacecraft.orbit_epoch = data.orbit_epoch
    # Last contact only moves forward, whichever report carries it.
    if data.last_contact_at is not None and (
        spacecraft.last_contact_at is None or data.last_contact_at > spacecraft.last_contact_at
    ):
        spacecraft.last_contact_at = data.last_contact_at


async def clear_override(
    session: AsyncSession,
    principal: Principal,
    spacecraft_id: uuid.UUID,
    *,
    cache: StatusCache,
    actor: Actor,
) -> None:
    """End the override in force now (NotFoundError without one): the health behind it
    (telemetry, else the latest report) is in force again."""
    repository = SpacecraftRepository(session, principal.organisation_id)
    spacecraft = await _get(repository, spacecraft_id, for_update=True)
    now = utcnow()
    if not override_in_force(spacecraft.override_expires_at, now):
        raise NotFoundError(f"spacecraft {spacecraft_id} has no health override in force")
    forget_status(session, cache, (principal.organisation_id, spacecraft_id))
    reason = spacecraft.override_reason
    _drop_override(spacecraft)
    _settle(spacecraft, now)
    await repository.add_status_report(
        _change_row(spacecraft, HistorySource.OVERRIDE_CLEARED, now, f"cleared: {reason}")
    )
    await repository.flush(spacecraft)
    await record(
        session,
        actor.event(
            "spacecraft.status_override_cleared",
            object_type="spacecraft",
            object_id=spacecraft_id,
            override_reason=reason,
            health=spacecraft.health,
            health_source=spacecraft.health_source,
        ),
    )


def telemetry_drives_health(spacecraft: Spacecraft) -> bool:
    """Whether the spacecraft's health derives from telemetry (a parameter with limits has
    had a sample): until then there can be no limit alarm."""
    return spacecraft.telemetry_health is not None


async def apply_telemetry_alarms(
    session: AsyncSession,
    spacecraft: Spacecraft,
    open_alarms: Callable[[], Awaitable[Sequence[TelemetryAlarm]]] | None,
    now: datetime,
) -> None:
    """Derive the health from the spacecraft's open telemetry limit alarms, in the ingest
    transaction, after an alarm was raised or cleared (``open_alarms`` reads them; None
    when none changed, which still lets an expired override lapse).

    "Open" means the alarm's alert is firing or acknowledged, and shelved or not: an
    acknowledged alarm is still a problem on board, acknowledging only says someone is on
    it. A latched alarm whose parameter is back in limits (level ``in_limits``, waiting
    for an acknowledgement) is not counted: the health is the spacecraft's state now.
    """
    expires_at = spacecraft.override_expires_at
    if open_alarms is None and (expires_at is None or override_in_force(expires_at, now)):
        return  # nothing it depends on has changed
    repository = SpacecraftRepository(session, spacecraft.organisation_id)
    # The row first: a concurrent change of its status, or a concurrent batch's alarms,
    # are then committed before they are read.
    await _get(repository, spacecraft.id, for_update=True)
    if open_alarms is not None:
        alarms = sorted(await open_alarms(), key=lambda a: (-a.level.rank, a.parameter))
        derived = health_from_alarms(alarms)
        reasons = [alarm.as_reason() for alarm in alarms]
        if spacecraft.health_reasons != reasons:
            spacecraft.health_reasons = reasons
        if spacecraft.telemetry_health != derived.value:
            spacecraft.telemetry_health = derived.value
            row = _change_row(spacecraft, HistorySource.TELEMETRY, now, describe_alarms(alarms))
            row.health = derived.value
            await repository.add_status_report(row)
    await _recompute(repository, spacecraft, now)
    await repository.flush(spacecraft)


def _inputs(spacecraft: Spacecraft) -> HealthInputs:
    return HealthInputs(
        telemetry_health=spacecraft.telemetry_health,
        reported_health=spacecraft.reported_health,
        override_health=spacecraft.override_health,
        override_expires_at=spacecraft.override_expires_at,
    )


def _settle(spacecraft: Spacecraft, now: datetime) -> None:
    health, source = effective_health(_inputs(spacecraft), now)
    spacecraft.health, spacecraft.health_source = health.value, source.value


def _drop_override(spacecraft: Spacecraft) -> None:
    spacecraft.override_health = spacecraft.override_reason = None
    spacecraft.override_expires_at = spacecraft.override_set_at = None
    spacecraft.override_set_by = None


async def _recompute(
    repository: SpacecraftRepository, spacecraft: Spacecraft, now: datetime
) -> None:
    """Store the health in force at ``now``; an override that expired since the last
    recompute is dropped here, with its ``override-expired`` history row (dated when it
    expired). No job runs at the expiry: readers ignore an expired override meanwhile."""
    expires_at = spacecraft.override_expires_at
    if expires_at is None or override_in_force(expires_at, now):
        _settle(spacecraft, now)
        return
    reason = spacecraft.override_reason
    _drop_override(spacecraft)
    _settle(spacecraft, now)
    await repository.add_status_report(
        _change_row(spacecraft, HistorySource.OVERRIDE_EXPIRED, expires_at, f"expired: {reason}")
    )


def _change_row(
    spacecraft: Spacecraft, source: HistorySource, at: datetime, reason: str
) -> SpacecraftStatusReport:
    """A history row for a health change nobody reported: the health now in force."""
    return SpacecraftStatusReport(
        spacecraft_id=spacecraft.id,
        reported_at=at,
        mode=spacecraft.mode,
        health=spacecraft.health,
        source=source.value,
        reason=reason[:500],
    )


def forget_status(
    session: AsyncSession, cache: StatusCache, key: tuple[uuid.UUID, uuid.UUID]
) -> None:
    """Drop the cached status of ``key`` (organisation, spacecraft) now and again once the
    change committed, so that a read in between cannot keep the old status cached."""
    cache.invalidate(key)

    async def invalidate() -> None:
        cache.invalidate(key)

    after_commit_of(session, invalidate)


def _health_now(spacecraft: Spacecraft, now: datetime) -> tuple[HealthState, HealthSource]:
    return health_now((spacecraft.health, spacecraft.health_source), _inputs(spacecraft), now)


def spacecraft_read(spacecraft: Spacecraft, *, contact_stale_s: float) -> SpacecraftRead:
    """The spacecraft as the API shows it, with the health and contact in force now."""
    now = utcnow()
    health, source = _health_now(spacecraft, now)
    return SpacecraftRead.model_validate(
        {
            **{name: getattr(spacecraft, name) for name in _READ_FIELDS},
            "health": health,
            "health_source": source,
            "contact": contact_state(spacecraft.last_contact_at, now, contact_stale_s),
        }
    )


_READ_FIELDS = tuple(
    name
    for name in SpacecraftRead.model_fields
    if name not in {"health", "health_source", "contact"}
)


def _status_of(spacecraft: Spacecraft, *, contact_stale_s: float) -> SpacecraftStatus:
    now = utcnow()
    health, source = _health_now(spacecraft, now)
    override = None
    if source is HealthSource.OVERRIDE:
        override = OverrideRead(
            reason=spacecraft.override_reason or "",
            expires_at=spacecraft.override_expires_at or now,
            set_by=spacecraft.override_set_by,
            set_at=spacecraft.override_set_at or now,
        )
    reasons = spacecraft.health_reasons if source is HealthSource.TELEMETRY else None
    return SpacecraftStatus(
        spacecraft_id=spacecraft.id,
        name=spacecraft.name,
        mode=OperationalMode(spacecraft.mode),
        health=health,
        health_source=source,
        health_reasons=[HealthReason.model_validate(reason) for reason in reasons or []],
        override=override,
        health_summary=spacecraft.health_summary,
        last_contact_at=spacecraft.last_contact_at,
        contact=contact_state(spacecraft.last_contact_at, now, contact_stale_s),
        orbit_epoch=spacecraft.orbit_epoch,
        reported_at=spacecraft.status_reported_at,
    )


async def current_status(
    open_session: Callable[[], AsyncSession],
    principal: Principal,
    spacecraft_id: uuid.UUID,
    *,
    cache: StatusCache,
    contact_stale_s: float,
) -> StatusSnapshot:
    """The current status; dashboards poll this, so it is served from a short-lived cache
    that one query refills however many requests miss at once. The session is opened (and
    the repository built) only on a miss."""
    organisation_id = principal.organisation_id

    async def load() -> StatusSnapshot:
        repository = SpacecraftRepository(open_session(), organisation_id)
        spacecraft = await _get(repository, spacecraft_id)
        return StatusSnapshot.of(_status_of(spacecraft, contact_stale_s=contact_stale_s))

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
