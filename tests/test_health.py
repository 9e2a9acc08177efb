"""Liveness, readiness (database reachable and schema at head, Redis when configured)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from astroshield import __version__
from astroshield.app import create_app
from astroshield.config import Settings
from astroshield.migrate import downgrade_async, upgrade_async
from tests.conftest import settings_for
from tests.support.databases import TcpProxy, is_postgres


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_livez_needs_nothing(client: httpx.AsyncClient) -> None:
    response = await client.get("/livez")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_and_health_report_components(client: httpx.AsyncClient) -> None:
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    health = (await client.get("/api/v1/health")).json()
    assert health["status"] == "ok"
    assert health["version"] == __version__
    assert health["components"]["database"]["status"] == "ok"
    assert health["components"]["database"]["latency_ms"] >= 0
    assert health["components"]["redis"]["status"] == "not_configured"


async def test_readyz_503_until_migrated(scratch_database_url: str) -> None:
    settings = settings_for(scratch_database_url)
    async with running(settings) as client:
        empty = await client.get("/readyz")
        assert empty.status_code == 503
        assert empty.headers["content-type"] == "application/problem+json"
        assert "astroshield db upgrade" in empty.json()["detail"]
        await upgrade_async(settings)
        assert (await client.get("/readyz")).status_code == 200
        await downgrade_async(settings, "base")
        assert (await client.get("/readyz")).status_code == 503


async def test_readyz_follows_the_database_going_away_and_back(
    scratch_database_url: str, tmp_path: Path
) -> None:
    if is_postgres(scratch_database_url):
        url = make_url(scratch_database_url)
        proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
        await proxy.start()
        via_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        settings = settings_for(via_proxy, db_connect_timeout_s=1.0, readiness_timeout_s=1.0)
        await upgrade_async(settings)

        async def take_away() -> None:
            await proxy.cut()

        async def bring_back() -> None:
            await proxy.start()
    else:
        # The database lives in its own folder; renaming the folder makes it unreachable.
        folder = tmp_path / "dbdir"
        folder.mkdir()
        settings = settings_for(f"sqlite+aiosqlite:///{folder / 'a.db'}")
        await upgrade_async(settings)

        async def take_away() -> None:
            folder.rename(tmp_path / "gone")

        async def bring_back() -> None:
            (tmp_path / "gone").rename(folder)

    async with running(settings) as client:
        assert (await client.get("/readyz")).status_code == 200
        await take_away()
        down = await client.get("/readyz")
        assert down.status_code == 503, down.text
        assert down.json()["errors"][0]["loc"] == ["component", "database"]
        assert down.headers["retry-after"] == "5"
        health = (await client.get("/api/v1/health")).json()
        assert health["status"] == "degraded"
        assert (await client.get("/livez")).status_code == 200  # liveness is not readiness
        await bring_back()
        assert (await client.get("/readyz")).status_code == 200
    if is_postgres(scratch_database_url):
        await proxy.cut()


@pytest.mark.redis
async def test_readyz_checks_redis_when_configured(database_url: str) -> None:
    async with running(settings_for(database_url, redis_url="redis://127.0.0.1:6379/0")) as client:
        health = (await client.get("/api/v1/health")).json()
        assert health["components"]["redis"]["status"] == "ok", health
        assert (await client.get("/readyz")).status_code == 200
    # Nothing listens on port 1: a configured but unreachable Redis makes the replica unready.
    async with running(settings_for(database_url, redis_url="redis://127.0.0.1:1/0")) as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert ["component", "redis"] in [e["loc"] for e in response.json()["errors"]]
