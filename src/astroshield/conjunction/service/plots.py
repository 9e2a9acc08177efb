"""The PNG plots of a conjunction event, drawn in worker threads."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.astro.conjunction.pc import encounter_plane
from astroshield.astro.conjunction.report import inertial_pair
from astroshield.astro.dynamics.covariance import NotRemediableCovarianceError
from astroshield.astro.formats.cdm import Cdm
from astroshield.astro.plots.encounter import encounter_plane_plot, pc_history_plot
from astroshield.conjunction.repository import ConjunctionRepository
from astroshield.conjunction.service.events import (
    THRESHOLDS,
    event_or_404,
    history_of,
    latest_cdm_or_409,
    stored_cdm,
)
from astroshield.errors import ConflictError
from astroshield.security.principal import Principal


def _encounter_png(message: Cdm, hbr_m: float, title: str) -> bytes:
    pair = inertial_pair(message)
    plane = encounter_plane(pair.r1, pair.v1, pair.c1, pair.r2, pair.v2, pair.c2, hbr_m / 1e3)
    return encounter_plane_plot(
        plane.miss * 1e3, plane.covariance * 1e6, hbr_m, unit="m", title=title
    )


async def encounter_png(session: AsyncSession, principal: Principal, event_id: uuid.UUID) -> bytes:
    """Encounter plane of the latest CDM: combined covariance ellipses and the hard body."""
    repository = ConjunctionRepository(session, principal.organisation_id)
    event = await event_or_404(repository, event_id)
    row = await latest_cdm_or_409(repository, event)
    title = (
        f"{event.primary_catalog_number} vs {event.secondary_catalog_number}, "
        f"Pc {'undefined' if row.pc_2d_foster is None else format(row.pc_2d_foster, '.2e')}"
    )
    try:
        return await asyncio.to_thread(_encounter_png, stored_cdm(row), row.hbr_m, title)
    except NotRemediableCovarianceError as exc:
        raise ConflictError(f"no encounter plane to draw: {exc}") from None


async def pc_history_png(session: AsyncSession, principal: Principal, event_id: uuid.UUID) -> bytes:
    """Pc of each CDM against its creation time, with the red and yellow thresholds."""
    history = await history_of(ConjunctionRepository(session, principal.organisation_id), event_id)
    # A CDM with an undefined Pc (not remediable covariance) has no point to plot.
    defined = [row for row in history.cdms if row.pc_2d_foster is not None]
    times = [row.creation_date for row in defined]
    values = [row.pc_2d_foster for row in defined if row.pc_2d_foster is not None]
    title = (
        f"{history.event.primary_catalog_number} vs "
        f"{history.event.secondary_catalog_number}: Pc over CDM updates"
    )
    return await asyncio.to_thread(
        pc_history_plot,
        times,
        values,
        red_pc=THRESHOLDS.red_pc,
        yellow_pc=THRESHOLDS.yellow_pc,
        title=title,
    )
