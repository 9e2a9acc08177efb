"""Real notification receivers, started per test: an HTTP server and an SMTP server; and
the running app wired to the HTTP one, for the domains whose events raise alerts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI

from astroshield.app import create_app
from astroshield.migrate import upgrade_async
from tests.conftest import settings_for
from tests.support.receivers import HttpReceiver, SmtpServer, smtp_server

WEBHOOK_SECRET = "alert-webhook-secret-for-tests"


@asynccontextmanager
async def http_receiver() -> AsyncIterator[HttpReceiver]:
    server = HttpReceiver()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[HttpReceiver]:
    async with http_receiver() as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from smtp_server()


@asynccontextmanager
async def app_with_webhook(
    database_url: str, **settings: Any
) -> AsyncIterator[tuple[FastAPI, HttpReceiver]]:
    """The running app on ``database_url`` (migrated here), posting its alert notifications,
    signed with WEBHOOK_SECRET and retried without waiting, to a real HTTP receiver. The
    host's memory and CPU cannot raise alerts of their own."""
    await upgrade_async(settings_for(database_url))
    async with http_receiver() as receiver:
        app = create_app(
            settings_for(
                database_url,
                alert_webhook_urls=[receiver.url],
                alert_webhook_secret=WEBHOOK_SECRET,
                alert_webhook_base_delay_s=0.01,
                alert_memory_percent=100,
                alert_cpu_percent=100,
                **settings,
            )
        )
        async with app.router.lifespan_context(app):
            yield app, receiver


async def dispatched(app: FastAPI) -> None:
    """Wait for the notifications the requests handed to the background."""
    await asyncio.gather(*list(app.state.background_tasks))
