from __future__ import annotations

from dataclasses import dataclass

import httpx

from astroshield.organisations.models import Organisation
from astroshield.spacecraft.models import Spacecraft
from tests.conftest import Factory

KVN = {"Content-Type": "text/plain"}
XML = {"Content-Type": "application/xml"}


@dataclass
class Operator:
    organisation: Organisation
    spacecraft: Spacecraft
    headers: dict[str, str]


async def operator_with(factory: Factory, catalog_number: str, role: str = "analyst") -> Operator:
    """An organisation owning a spacecraft with ``catalog_number``, and a user of it
    allowed to write conjunctions."""
    organisation = await factory.organisation()
    spacecraft = await factory.spacecraft(organisation, catalog_number=catalog_number)
    headers = await factory.login(organisation, role=role)
    return Operator(organisation, spacecraft, headers)


async def upload(
    client: httpx.AsyncClient, body: bytes, headers: dict[str, str], media: dict[str, str] = KVN
) -> httpx.Response:
    return await client.post("/api/v1/conjunctions/cdms", content=body, headers=headers | media)
