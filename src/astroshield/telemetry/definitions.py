"""A spacecraft's XTCE definition: uploaded once, it adds its parameters to the dictionary,
gives their default alarm ranges as limit sets, and decodes the CCSDS packets posted."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.audit.service import Actor, record
from astroshield.errors import ConflictError, FieldError, InvalidInputError
from astroshield.security.principal import Principal
from astroshield.spacecraft.service import get_spacecraft
from astroshield.telemetry.dictionary import store_parameters
from astroshield.telemetry.limits_service import adopt_default_limits
from astroshield.telemetry.models import TelemetryDefinition
from astroshield.telemetry.repository.archive import TelemetryRepository
from astroshield.telemetry.samples import ParameterType
from astroshield.telemetry.schemas import ParameterRead, ParameterWrite
from astroshield.tm import xtce


def _spec_to_write(spec: xtce.ParameterSpec) -> ParameterWrite:
    try:
        return ParameterWrite(
            name=spec.name,
            type=ParameterType(spec.type),
            unit=spec.unit,
            description=spec.description,
            valid_min=spec.valid_min,
            valid_max=spec.valid_max,
            enum_labels=spec.enum_labels if spec.type == ParameterType.ENUM else None,
        )
    except ValueError as exc:
        raise InvalidInputError(
            f"XTCE parameter {spec.name!r} cannot be archived: {exc}",
            errors=[FieldError(["body", "Parameter", spec.name], str(exc).splitlines()[0])],
        ) from None


def _parsed(document: bytes) -> tuple[str, xtce.PacketDefinition]:
    try:
        text = document.decode("utf-8")
        return text, xtce.load_definition(text)
    except UnicodeDecodeError:
        raise InvalidInputError(
            "the XTCE document is not UTF-8",
            errors=[FieldError(["body"], "not UTF-8")],
        ) from None
    except xtce.XtceError as exc:
        raise InvalidInputError(
            f"invalid XTCE document: {exc}", errors=[FieldError(["body"], str(exc))]
        ) from None


async def import_definition(
    session: AsyncSession,
    principal: Principal,
    spacecraft_id: uuid.UUID,
    document: bytes,
    now: datetime,
    *,
    actor: Actor,
) -> list[ParameterRead]:
    """Store the XTCE definition, add its parameters to the dictionary and give those
    with default alarm ranges and no limit set yet a limit set from them."""
    spacecraft = await get_spacecraft(session, principal.organisation_id, spacecraft_id)
    text, definition = _parsed(document)
    specs = xtce.parameter_specs(definition)
    parameters = await store_parameters(
        session, spacecraft_id, [_spec_to_write(spec) for spec in specs]
    )
    repository = TelemetryRepository(session)
    await repository.save_definition(
        TelemetryDefinition(spacecraft_id=spacecraft_id, xtce=text, uploaded_at=now)
    )
    await adopt_default_limits(
        session,
        spacecraft,
        await repository.parameters(spacecraft_id),
        definition.alarm_ranges,
        actor=actor,
    )
    _definitions.pop(spacecraft_id, None)
    await record(
        session,
        actor.event(
            "telemetry.definition_uploaded",
            object_type="spacecraft",
            object_id=spacecraft_id,
            parameters=len(parameters),
        ),
    )
    return parameters


# Parsed definitions per spacecraft, valid while the stored upload time is unchanged:
# parsing XTCE costs far more than decoding a batch of packets.
_definitions: dict[uuid.UUID, tuple[datetime, xtce.PacketDefinition]] = {}
_DEFINITION_CACHE_SIZE = 64


async def packet_definition(
    session: AsyncSession, spacecraft_id: uuid.UUID
) -> xtce.PacketDefinition:
    repository = TelemetryRepository(session)
    uploaded_at = await repository.definition_uploaded_at(spacecraft_id)
    cached = _definitions.get(spacecraft_id)
    if uploaded_at is not None and cached is not None and cached[0] == uploaded_at:
        return cached[1]
    stored = await repository.definition(spacecraft_id)
    if stored is None:
        raise ConflictError(
            "this spacecraft has no XTCE definition; PUT one to .../telemetry/dictionary first"
        )
    definition = xtce.load_definition(stored.xtce)
    if len(_definitions) >= _DEFINITION_CACHE_SIZE:
        _definitions.pop(next(iter(_definitions)))
    _definitions[spacecraft_id] = (stored.uploaded_at, definition)
    return definition


def decode_packets(definition: xtce.PacketDefinition, data: bytes) -> list[xtce.DecodedSample]:
    try:
        return xtce.decode_packets(definition, data)
    except xtce.PacketDecodeError as exc:
        where = f"packet {exc.packet_index} at byte offset {exc.byte_offset}"
        raise InvalidInputError(
            f"{where}: {exc.reason}",
            errors=[FieldError(["body", "packets", exc.packet_index], f"{where}: {exc.reason}")],
        ) from None


def decoded_as_samples(decoded: Iterable[xtce.DecodedSample]) -> list[dict[str, Any]]:
    """Decoded packets as a batch's samples; strings are skipped (the archive stores
    numbers)."""
    return [
        {"parameter": s.parameter, "time": s.time, "value": s.value}
        for s in decoded
        if not isinstance(s.value, str)
    ]
