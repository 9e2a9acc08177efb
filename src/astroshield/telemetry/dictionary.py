"""The parameter dictionary of a spacecraft: its parameters by name, each with a type,
unit, valid range and enumeration labels. Samples name their parameter by its id."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.audit.service import Actor, record
from astroshield.errors import FieldError, InvalidInputError, NotFoundError
from astroshield.security.principal import Principal
from astroshield.spacecraft.service import get_spacecraft
from astroshield.telemetry.models import TelemetryParameter
from astroshield.telemetry.repository.archive import TelemetryRepository
from astroshield.telemetry.schemas import RESERVED_PARAMETER_NAMES, ParameterRead, ParameterWrite


def _labels_for_storage(labels: Mapping[int, str] | None) -> dict[str, str] | None:
    return None if labels is None else {str(code): label for code, label in labels.items()}


async def store_parameters(
    session: AsyncSession, spacecraft_id: uuid.UUID, items: Sequence[ParameterWrite]
) -> list[ParameterRead]:
    """Create or update the listed parameters by name. Parameters not listed are kept:
    dropping one would drop its archive, which a dictionary upload must never do."""
    names = [item.name for item in items]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidInputError(
            "parameter names must be unique",
            errors=[FieldError(["body", names.index(n), "name"], "duplicate") for n in duplicates],
        )
    repository = TelemetryRepository(session)
    existing = {p.name: p for p in await repository.parameters(spacecraft_id)}
    created: list[TelemetryParameter] = []
    for item in items:
        values = item.model_dump()
        values["type"] = item.type.value
        values["enum_labels"] = _labels_for_storage(item.enum_labels)
        parameter = existing.get(item.name)
        if parameter is None:
            created.append(TelemetryParameter(spacecraft_id=spacecraft_id, **values))
        else:
            for key, value in values.items():
                setattr(parameter, key, value)
    await repository.add_parameters(created)
    return [ParameterRead.model_validate(p) for p in await repository.parameters(spacecraft_id)]


async def upsert_parameters(
    session: AsyncSession,
    principal: Principal,
    spacecraft_id: uuid.UUID,
    items: Sequence[ParameterWrite],
    *,
    actor: Actor,
) -> list[ParameterRead]:
    """Create or update parameters by name (see :func:`store_parameters`); returns the
    whole dictionary."""
    await get_spacecraft(session, principal.organisation_id, spacecraft_id)
    parameters = await store_parameters(session, spacecraft_id, items)
    await record(
        session,
        actor.event(
            "telemetry.parameters_updated",
            object_type="spacecraft",
            object_id=spacecraft_id,
            names=[item.name for item in items][:100],
        ),
    )
    return parameters


async def list_parameters(
    session: AsyncSession, principal: Principal, spacecraft_id: uuid.UUID
) -> list[ParameterRead]:
    await get_spacecraft(session, principal.organisation_id, spacecraft_id)
    parameters = await TelemetryRepository(session).parameters(spacecraft_id)
    return [ParameterRead.model_validate(p) for p in parameters]


async def parameter_of(
    session: AsyncSession, spacecraft_id: uuid.UUID, name: str
) -> TelemetryParameter:
    """The parameter of a spacecraft already resolved for the caller, or NotFoundError."""
    parameter = await TelemetryRepository(session).parameter(spacecraft_id, name)
    if parameter is None or name in RESERVED_PARAMETER_NAMES:
        raise NotFoundError(f"parameter {name!r} not found for this spacecraft")
    return parameter


async def check_subscription(
    session: AsyncSession, principal: Principal, spacecraft_id: uuid.UUID, names: frozenset[str]
) -> None:
    """A live feed of ``names`` (every parameter when empty) may be opened: NotFoundError
    for a spacecraft the caller's organisation does not have, InvalidInputError naming the
    parameters it does not have."""
    await get_spacecraft(session, principal.organisation_id, spacecraft_id)
    if not names:
        return
    known = await TelemetryRepository(session).parameter_names(spacecraft_id, names)
    unknown = sorted(names - known)
    if unknown:
        raise InvalidInputError(f"unknown parameters: {', '.join(unknown)[:100]}")
