"""Runtime configuration: administrators only, audited, persisted, applied without restart
here and on another replica after its refresh. Which setting is whose: see
test_runtime_config_scope.py."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from astroshield.alerts.models import AlertRule
from astroshield.app import create_app
from tests.conftest import Factory, settings_for


async def test_only_admins_may_read_or_change(client: httpx.AsyncClient, factory: Factory) -> None:
    operator = await factory.login(role="operator")
    assert (await client.get("/api/v1/config", headers=operator)).status_code == 403
    denied = await client.patch("/api/v1/config", json={"log_level": "debug"}, headers=operator)
    assert denied.status_code == 403


async def test_change_is_applied_persisted_and_audited(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI
) -> None:
    admin = await factory.login(role="admin", platform_admin=True)
    before = (await client.get("/api/v1/config", headers=admin)).json()
    assert before["log_level"] == "info"
    changed = await client.patch(
        "/api/v1/config",
        json={
            "log_level": "warning",
            "logger_levels": {"astroshield.alerts": "debug"},
            "alert_error_rate_per_minute": 42,
            "page_size_default": 7,
        },
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["alert_error_rate_per_minute"] == 42
    try:
        # Applied at once, without a restart.
        assert logging.getLogger().level == logging.WARNING
        assert logging.getLogger("astroshield.alerts").level == logging.DEBUG
        listed = await client.get("/api/v1/spacecraft", headers=admin)
        assert listed.json()["limit"] == 7
        async with app.state.sessionmaker() as session:
            rule = (
                await session.execute(select(AlertRule).where(AlertRule.key == "error-rate"))
            ).scalar_one()
        assert rule.thresholds == {"warning": 42}
        audit = (
            await client.get(
                "/api/v1/audit",
                params={"action": "config.updated", "stream": "platform"},
                headers=admin,
            )
        ).json()["items"]
        assert audit[0]["details"]["changes"]["log_level"] == "warning"
        # null returns a field to its environment value.
        reset = await client.patch(
            "/api/v1/config", json={"page_size_default": None}, headers=admin
        )
        assert reset.json()["page_size_default"] == app.state.base_settings.page_size_default
    finally:
        await client.patch(
            "/api/v1/config",
            json={
                "log_level": None,
                "logger_levels": None,
                "alert_error_rate_per_minute": None,
                "page_size_default": None,
            },
            headers=admin,
        )
        logging.getLogger("astroshield.alerts").setLevel(logging.NOTSET)
        logging.getLogger().setLevel(logging.INFO)


async def test_invalid_values_are_refused_and_nothing_changes(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI
) -> None:
    admin = await factory.login(role="admin")
    for body in (
        {"log_level": "loud"},
        {"alert_memory_percent": 120},
        {"page_size_default": 100_000},
        {"logger_levels": {"bad name!": "info"}},
        {"unknown_knob": 1},
    ):
        response = await client.patch("/api/v1/config", json=body, headers=admin)
        assert response.status_code == 422, body
    too_big = await client.patch("/api/v1/config", json={"page_size_default": 1000}, headers=admin)
    assert too_big.status_code == 422  # above page_size_max: the combination is checked
    assert app.state.settings.page_size_default == app.state.base_settings.page_size_default


async def test_another_replica_picks_the_change_up(database_url: str, factory: Factory) -> None:
    settings = settings_for(database_url, runtime_config_refresh_s=0.2)
    one, two = create_app(settings), create_app(settings)
    async with one.router.lifespan_context(one), two.router.lifespan_context(two):
        organisation = await Factory(one).organisation()
        admin = await Factory(one).login(organisation, role="admin", platform_admin=True)
        transport = httpx.ASGITransport(app=one, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.patch(
                "/api/v1/config",
                json={"page_size_default": 11, "alert_p95_latency_ms": 777},
                headers=admin,
            )
            assert response.status_code == 200
            try:
                for _ in range(30):  # bounded: 3 s
                    if two.state.settings.alert_p95_latency_ms == 777 and (
                        two.state.organisation_config.of(organisation.id)
                    ):
                        break
                    await asyncio.sleep(0.1)
                assert two.state.settings.alert_p95_latency_ms == 777
                # The organisation's setting, seen by a request to the other replica.
                other = httpx.ASGITransport(app=two, raise_app_exceptions=False)
                async with httpx.AsyncClient(transport=other, base_url="http://t") as second:
                    listed = await second.get("/api/v1/spacecraft", headers=admin)
                assert listed.json()["limit"] == 11
            finally:
                await client.patch(
                    "/api/v1/config",
                    json={"page_size_default": None, "alert_p95_latency_ms": None},
                    headers=admin,
                )


async def test_metric_collection_can_be_paused_at_run_time(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.login(role="admin", platform_admin=True)

    def requests_total(text: str) -> float:
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("astroshield_http_requests_total{") and "/livez" in line
        )

    async def scrape() -> float:
        return requests_total((await client.get("/metrics")).text)

    before = await scrape()
    await client.get("/livez")
    assert await scrape() == before + 1
    paused = await client.patch("/api/v1/config", json={"metrics_enabled": False}, headers=admin)
    try:
        assert paused.status_code == 200 and paused.json()["metrics_enabled"] is False
        for _ in range(3):
            await client.get("/livez")
        assert await scrape() == before + 1
    finally:
        await client.patch("/api/v1/config", json={"metrics_enabled": None}, headers=admin)
    await client.get("/livez")
    assert await scrape() == before + 2


async def test_pool_size_changes_without_restart(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI, database_url: str
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite connections are not pooled by size")
    admin = await factory.login(role="admin", platform_admin=True)
    old_engine = app.state.engine
    response = await client.patch(
        "/api/v1/config", json={"db_pool_size": 3, "db_max_overflow": 1}, headers=admin
    )
    try:
        assert response.status_code == 200
        assert app.state.engine is not old_engine
        assert app.state.engine.sync_engine.pool.size() == 3
        # Requests go on, through the new pool.
        assert (await client.get("/api/v1/spacecraft", headers=admin)).status_code == 200
    finally:
        await client.patch(
            "/api/v1/config", json={"db_pool_size": None, "db_max_overflow": None}, headers=admin
        )
