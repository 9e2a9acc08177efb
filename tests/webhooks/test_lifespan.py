"""The service runs the dispatcher by itself when its interval is set, and stops it with
the app; the test settings leave it off."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from astroshield.app import create_app
from astroshield.config import Settings
from tests.conftest import Factory, empty_tables, settings_for
from tests.conjunction.conftest import operator_with, upload
from tests.events.support import cdm_body
from tests.support.receivers import HttpReceiver
from tests.webhooks.conftest import Admin, subscribe

pytestmark = pytest.mark.slow


def test_the_test_settings_leave_the_dispatcher_off(settings: Settings) -> None:
    assert settings.webhook_dispatch_interval_s == 0
    assert Settings().webhook_dispatch_interval_s > 0  # a deployment runs it


async def test_the_service_delivers_by_itself_and_stops_with_the_app(
    database_url: str, receiver: HttpReceiver
) -> None:
    app = create_app(
        settings_for(database_url, webhook_dispatch_interval_s=0.05, webhook_allow_loopback=True)
    )
    try:
        async with app.router.lifespan_context(app):
            task = app.state.scheduled_loops["webhook_dispatcher"]
            factory = Factory(app)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                me = await operator_with(factory, "44001")
                admin = Admin(me.organisation, await factory.login(me.organisation, role="admin"))
                await subscribe(client, admin, receiver.url, ["conjunction.created"])
                body = cdm_body("BY-ITSELF", 10.0, 2, datetime.now(UTC))
                assert (await upload(client, body, me.headers)).status_code == 201
                for _ in range(200):  # bounded: at most 10 s
                    if receiver.requests:
                        break
                    await asyncio.sleep(0.05)
            assert len(receiver.requests) == 1
            assert not task.done()
        assert task.done()  # stopped by the lifespan's end
    finally:
        await empty_tables(app.state.engine)
        await app.state.engine.dispose()
