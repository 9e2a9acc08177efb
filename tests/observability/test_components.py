"""``astroshield_component_up{component}``: the readiness probes' verdicts and the scheduled
loops, refreshed by each scrape; and retention scheduled by default."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import settings_for
from tests.observability.test_domain_metrics import scrape, total

from astroshield.app import create_app
from astroshield.config import Settings
from astroshield.db import create_unpooled_engine
from astroshield.observability import components

UP = "astroshield_component_up"
README = Path(__file__).parents[2] / "README.md"


@pytest.fixture
async def started(database_url: str) -> AsyncIterator[FastAPI]:
    """An app with the settings' defaults for every schedule the tests do not turn off."""
    application = create_app(settings_for(database_url))
    async with application.router.lifespan_context(application):
        yield application


async def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def test_retention_is_scheduled_hourly_by_default_as_documented() -> None:
    default = Settings.model_fields["retention_interval_s"].default
    assert default == 3600
    assert "`ASTROSHIELD_RETENTION_INTERVAL_S` | how often the service applies retention " in (
        README.read_text()
    )
    assert "default 3600 s" in README.read_text()


async def test_default_settings_start_the_retention_scheduler(started: FastAPI) -> None:
    assert started.state.settings.retention_interval_s == 3600  # not overridden by tests
    loop = started.state.scheduled_loops[components.RETENTION]
    assert not loop.done()
    async with await _client(started) as client:
        samples = await scrape(client)
    assert total(samples, UP, component=components.RETENTION) == 1
    assert total(samples, UP, component=components.RUNTIME_GAUGES) == 1
    assert total(samples, UP, component="database") == 1


async def test_tests_can_turn_retention_off(database_url: str) -> None:
    application = create_app(settings_for(database_url, retention_interval_s=0))
    async with application.router.lifespan_context(application):
        assert components.RETENTION not in application.state.scheduled_loops


async def test_a_loop_that_ended_and_a_failing_database_show_as_down(started: FastAPI) -> None:
    state = started.state
    state.scheduled_loops[components.RETENTION].cancel()
    healthy_probe = state.probe_engine
    # The readiness probe's own engine, pointed at a database that cannot be opened.
    state.probe_engine = create_unpooled_engine(
        settings_for("sqlite+aiosqlite:////nonexistent-astroshield-dir/none.db")
    )
    try:
        async with await _client(started) as client:
            samples = await scrape(client)
            assert total(samples, UP, component=components.RETENTION) == 0
            assert total(samples, UP, component="database") == 0
            assert (await client.get("/readyz")).status_code == 503
            await state.probe_engine.dispose()
            state.probe_engine = healthy_probe
            assert total(await scrape(client), UP, component="database") == 1
    finally:
        state.probe_engine = healthy_probe
