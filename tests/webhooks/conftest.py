"""Webhook tests: a real HTTP receiver on loopback, the dispatcher run by the test with a
clock it controls, and the app's settings admitting http:// to loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from astroshield.db import utcnow
from astroshield.organisations.models import Organisation
from astroshield.webhooks.dispatcher import Dispatcher
from tests.conftest import Factory
from tests.support.receivers import HttpReceiver

WEBHOOKS = "/api/v1/webhooks"


class Clock:
    """The dispatcher's time (due dates, leases); moved by the test, never slept on."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def loopback(app: FastAPI) -> Iterator[None]:
    """Requests may subscribe http:// loopback endpoints (the receivers of these tests)."""
    original = app.state.settings
    app.state.settings = original.model_copy(update={"webhook_allow_loopback": True})
    yield
    app.state.settings = original


@pytest.fixture
async def receiver() -> AsyncIterator[HttpReceiver]:
    server = HttpReceiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_dispatcher(app: FastAPI, clock: Clock, **options: Any) -> Dispatcher:
    values: dict[str, Any] = {
        "allow_loopback": True,
        "fanout_grace_s": 0,
        "retry_base_s": 10,
        "clock": clock,
    }
    values.update(options)
    return Dispatcher(app.state.sessionmaker, app.state.security.pii_keys, **values)


@pytest.fixture
async def dispatcher(app: FastAPI, clock: Clock) -> AsyncIterator[Dispatcher]:
    instance = make_dispatcher(app, clock)
    yield instance
    await instance.close()


@dataclass
class Admin:
    organisation: Organisation
    headers: dict[str, str]


async def admin_of(factory: Factory, organisation: Organisation | None = None) -> Admin:
    organisation = organisation or await factory.organisation()
    return Admin(organisation, await factory.login(organisation, role="admin"))


async def subscribe(
    client: httpx.AsyncClient, admin: Admin, url: str, event_types: list[str], **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        WEBHOOKS,
        json={"url": url, "event_types": event_types, **fields},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def deliveries(
    client: httpx.AsyncClient, admin: Admin, webhook_id: str, status: str | None = None
) -> list[dict[str, Any]]:
    params = {} if status is None else {"status": status}
    response = await client.get(
        f"{WEBHOOKS}/{webhook_id}/deliveries", params=params, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
