"""Seed a running deployment for the load scenario: one organisation with its operators,
spacecraft with the telemetry dictionary of tests/telemetry, and open conjunction events
made by uploading CDMs (tests/conjunction's Omitron case) through the API itself.

Rows the API cannot create (organisation, users, spacecraft) come from the tests'
``Factory`` on the deployment's database; its tokens are signed with the replicas' keys
(the local key file both inherit from the environment).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
from benchmarks.load.scenario import MESSAGE_ID_PLACEHOLDER, Scenario
from tests.conftest import DEFAULT_PASSWORD, Factory, settings_for
from tests.conjunction.cdms import kvn, omitron_cdm
from tests.telemetry.support import DICTIONARY

from astroshield.db import create_sessionmaker, create_unpooled_engine
from astroshield.security.context import build_security
from astroshield.users.models import User
from astroshield.users.service import unseal

LOGIN_ACCOUNTS = 3


@dataclass
class Seeded:
    factory: Factory
    operator: User
    analyst: User
    scenario: Scenario

    def fresh_tokens(self) -> None:
        """New access tokens (a step may start after the last ones were issued long ago)."""
        self.scenario.operator_token = self.factory.token(self.operator)
        self.scenario.analyst_token = self.factory.token(self.analyst)


def factory_for(database_url: str) -> tuple[Factory, object]:
    """A Factory on ``database_url`` (and its engine, to dispose of at the end)."""
    settings = settings_for(database_url, access_token_ttl_s=3600)
    engine = create_unpooled_engine(settings)
    state = SimpleNamespace(
        sessionmaker=create_sessionmaker(engine), security=build_security(settings)
    )
    return Factory(SimpleNamespace(state=state)), engine  # type: ignore[arg-type]


def _cdm_body(primary: str, secondary: str, tca: datetime, message_id: str) -> str:
    message = omitron_cdm(
        primary=primary,
        secondary=secondary,
        tca=tca,
        creation=datetime.now(UTC),
        message_id=message_id,
    )
    return kvn(message).decode()


async def seed(
    base: str, factory: Factory, *, spacecraft: int = 40, with_events: int = 8
) -> Seeded:
    """``spacecraft`` with the dictionary; the first ``with_events`` of them with two open
    conjunction events each (a CDM upload costs about a second of CPU)."""
    organisation = await factory.organisation(name="Load test operator")
    operator = await factory.user(organisation, role="operator")
    analyst = await factory.user(organisation, role="analyst")
    keys = factory.app.state.security.pii_keys
    emails = []
    for _ in range(LOGIN_ACCOUNTS):
        email = unseal(await factory.user(organisation, role="viewer"), "email", keys)
        assert email is not None
        emails.append(email)
    fleet = [
        await factory.spacecraft(organisation, catalog_number=str(40000 + n), name=f"LOAD-{n}")
        for n in range(spacecraft)
    ]
    tca = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    operator_headers = {"Authorization": f"Bearer {factory.token(operator)}"}
    analyst_headers = {
        "Authorization": f"Bearer {factory.token(analyst)}",
        "Content-Type": "text/plain",
    }
    event_ids: list[str] = []
    bodies: list[str] = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for craft in fleet:
            response = await client.put(
                f"/api/v1/spacecraft/{craft.id}/telemetry/parameters",
                json=DICTIONARY,
                headers=operator_headers,
            )
            response.raise_for_status()
        for n, craft in enumerate(fleet[:with_events]):
            for k in range(2):
                secondary = str(70000 + 2 * n + k)
                body = _cdm_body(craft.catalog_number, secondary, tca, f"SEED-{n}-{k}")
                response = await client.post(
                    "/api/v1/conjunctions/cdms", content=body.encode(), headers=analyst_headers
                )
                response.raise_for_status()
                event_ids.append(response.json()["event"]["id"])
            # Later uploads update the first event of this spacecraft: same TCA, secondary.
            bodies.append(
                _cdm_body(craft.catalog_number, str(70000 + 2 * n), tca, MESSAGE_ID_PLACEHOLDER)
            )
    scenario = Scenario(
        multiplier=1.0,
        operator_token="",
        analyst_token="",
        login_emails=emails,
        password=DEFAULT_PASSWORD,
        spacecraft_ids=[str(craft.id) for craft in fleet],
        event_ids=event_ids,
        cdm_bodies=bodies,
    )
    seeded = Seeded(factory, operator, analyst, scenario)
    seeded.fresh_tokens()
    return seeded
