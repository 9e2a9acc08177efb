"""An event as a CDM: the latest one received or, for a screening event, one built from
the catalog (see :mod:`astroshield.conjunction.cdm_export`)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.catalog.service import element_set_in_force, to_element_set
from astroshield.conjunction import cdm_export
from astroshield.conjunction.models import ConjunctionEvent
from astroshield.conjunction.repository import ConjunctionRepository
from astroshield.conjunction.service.events import CdmFormat, cdm_text, event_or_404, render_cdm
from astroshield.errors import ConflictError
from astroshield.observability.tracing import span
from astroshield.security.principal import Principal

EXPORT_ORIGINATOR = "ASTROSHIELD"


def _built_cdm(
    event: ConjunctionEvent, primary_set: ElementSet, secondary_set: ElementSet, fmt: CdmFormat
) -> str:
    try:
        primary = cdm_export.state_at(primary_set, event.tca)
        secondary = cdm_export.state_at(secondary_set, event.tca, event.secondary_name)
    except cdm_export.PropagationError as exc:
        raise ConflictError(str(exc)) from None
    message = cdm_export.build_cdm(
        primary,
        secondary,
        event.tca,
        message_id=f"{EXPORT_ORIGINATOR}-{event.id}",
        originator=EXPORT_ORIGINATOR,
        creation_date=datetime.now(UTC),
    )
    return render_cdm(message, fmt)


@span("conjunction.export_cdm")
async def export_cdm(
    session: AsyncSession, principal: Principal, event_id: uuid.UUID, fmt: CdmFormat
) -> str:
    """The latest received CDM of the event; for a screening event (none received) one
    built from the catalog: SGP4 states at TCA and a default covariance."""
    repository = ConjunctionRepository(session, principal.organisation_id)
    event = await event_or_404(repository, event_id)
    latest = await repository.latest_cdm(event.id)
    if latest is not None:
        return cdm_text(latest, fmt)[0]
    states: list[ElementSet] = []
    for number in (event.primary_catalog_number, event.secondary_catalog_number):
        record = await element_set_in_force(session, principal.organisation_id, number, event.tca)
        found = None if record is None else to_element_set(record)
        if found is None:
            raise ConflictError(f"the catalog has no element set for object {number}")
        states.append(found)
    primary_set, secondary_set = states
    return await asyncio.to_thread(_built_cdm, event, primary_set, secondary_set, fmt)
