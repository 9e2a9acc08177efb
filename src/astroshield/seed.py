"""``astroshield db seed``: a small, realistic demo data set (real catalog numbers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.audit.service import SYSTEM
from astroshield.organisations.service import get_or_create_organisation
from astroshield.spacecraft.models import HealthState, OperationalMode
from astroshield.spacecraft.schemas import SpacecraftCreate, StatusReportCreate
from astroshield.spacecraft.service import (
    add_status_report,
    register_spacecraft,
    spacecraft_names,
)


@dataclass(frozen=True)
class DemoSpacecraft:
    name: str
    catalog_number: str
    cospar_id: str
    description: str
    mode: OperationalMode
    health: HealthState


# Catalog numbers and COSPAR ids as in the CelesTrak catalog snapshot of 2024-11-01.
DEMO_FLEETS: dict[tuple[str, str], list[DemoSpacecraft]] = {
    ("Copernicus Flight Operations (demo)", "copernicus-demo"): [
        DemoSpacecraft(
            "Sentinel-1A",
            "39634",
            "2014-016A",
            "C-band SAR, sun-synchronous",
            OperationalMode.OPERATIONAL,
            HealthState.NOMINAL,
        ),
        DemoSpacecraft(
            "Sentinel-2A",
            "40697",
            "2015-028A",
            "Multispectral imager, SSO",
            OperationalMode.OPERATIONAL,
            HealthState.NOMINAL,
        ),
        DemoSpacecraft(
            "CryoSat-2",
            "36508",
            "2010-013A",
            "Radar altimeter, polar orbit",
            OperationalMode.OPERATIONAL,
            HealthState.DEGRADED,
        ),
    ],
    ("Weather Satellite Operations (demo)", "weather-demo"): [
        DemoSpacecraft(
            "NOAA-20",
            "43013",
            "2017-073A",
            "JPSS-1 polar weather satellite",
            OperationalMode.OPERATIONAL,
            HealthState.NOMINAL,
        ),
        DemoSpacecraft(
            "GOES-16",
            "41866",
            "2016-071A",
            "Geostationary weather satellite",
            OperationalMode.OPERATIONAL,
            HealthState.NOMINAL,
        ),
        DemoSpacecraft(
            "Fengyun-2F",
            "38049",
            "2012-002A",
            "Geostationary weather satellite",
            OperationalMode.STANDBY,
            HealthState.NOMINAL,
        ),
    ],
    ("Human Spaceflight Ops (demo)", "hsf-demo"): [
        DemoSpacecraft(
            "ISS",
            "25544",
            "1998-067A",
            "International Space Station",
            OperationalMode.OPERATIONAL,
            HealthState.NOMINAL,
        ),
        DemoSpacecraft(
            "Hubble Space Telescope",
            "20580",
            "1990-037B",
            "HST",
            OperationalMode.SAFE_MODE,
            HealthState.DEGRADED,
        ),
    ],
}


async def seed_demo_data(session: AsyncSession) -> int:
    """Create the demo organisations and spacecraft that are missing; returns how many
    spacecraft were created (0 on a second run). No accounts: there are no default
    credentials anywhere; `astroshield user create` makes the first one."""
    created = 0
    now = datetime.now(UTC).replace(microsecond=0)
    for (org_name, slug), fleet in DEMO_FLEETS.items():
        organisation = await get_or_create_organisation(session, slug, name=org_name, actor=SYSTEM)
        existing = await spacecraft_names(session, organisation.id)
        for demo in fleet:
            if demo.name in existing:
                continue
            craft = await register_spacecraft(
                session,
                organisation.id,
                SpacecraftCreate(
                    name=demo.name,
                    catalog_number=demo.catalog_number,
                    cospar_id=demo.cospar_id,
                    description=demo.description,
                ),
                actor=SYSTEM,
            )
            await add_status_report(
                session,
                organisation.id,
                craft.id,
                StatusReportCreate(
                    reported_at=now, mode=demo.mode, health=demo.health, last_contact_at=now
                ),
                actor=SYSTEM,
            )
            created += 1
    return created
