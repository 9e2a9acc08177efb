"""Test utilities: one migrated database per run, per-test cleanup, the real app over
httpx, and factories.

The run's database comes from ``ASTROSHIELD_TEST_DATABASE_URL`` (``make test`` runs the
suite once on SQLite and once on PostgreSQL).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, text

from astroshield.app import create_app
from astroshield.config import Settings
from astroshield.db import session_scope
from astroshield.migrate import upgrade_async
from astroshield.models import metadata
from astroshield.organisations.models import Organisation
from astroshield.spacecraft.models import Spacecraft
from tests.support.databases import (
    fresh_database,
    is_postgres,
    postgres_reachable,
    test_database_url,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


def settings_for(database_url: str, **overrides: Any) -> Settings:
    return Settings(profile="test", database_url=database_url, migrate_on_start=False, **overrides)


@pytest.fixture(scope="session")
async def base_database_url() -> str:
    url = test_database_url()
    if is_postgres(url) and not await postgres_reachable(url):
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {url} is unreachable and CI=true: not skipping")
        pytest.skip(f"PostgreSQL at {url} is unreachable")
    return url


@pytest.fixture(scope="session")
async def database_url(
    base_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    async with fresh_database(base_database_url, tmp_path_factory.mktemp("db")) as url:
        await upgrade_async(settings_for(url))
        yield url


@pytest.fixture
async def scratch_database_url(base_database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty, unmigrated database of the run's kind, for one test."""
    async with fresh_database(base_database_url, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return settings_for(database_url)


@pytest.fixture(scope="session")
async def session_app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def app(session_app: FastAPI) -> AsyncIterator[FastAPI]:
    """The running app; every table is emptied after the test (schema kept)."""
    yield session_app
    async with session_app.state.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                await connection.execute(delete(table))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


class Factory:
    """Rows for tests, written through the app's own session factory."""

    def __init__(self, app: FastAPI) -> None:
        self.sessionmaker = app.state.sessionmaker
        self._counter = 0

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    async def organisation(self, **fields: Any) -> Organisation:
        n = self._next()
        values: dict[str, Any] = {"name": f"Org {n}", "slug": f"org-{n}-{uuid.uuid4().hex[:6]}"}
        values.update(fields)
        async with session_scope(self.sessionmaker) as session:
            organisation = Organisation(**values)
            session.add(organisation)
        return organisation

    async def spacecraft(
        self, organisation: Organisation | None = None, **fields: Any
    ) -> Spacecraft:
        organisation = organisation or await self.organisation()
        n = self._next()
        values: dict[str, Any] = {
            "organisation_id": organisation.id,
            "name": f"Sat {n}",
            "catalog_number": str(90000 + n),
            "created_at": datetime.now(UTC),
        }
        values.update(fields)
        async with session_scope(self.sessionmaker) as session:
            spacecraft = Spacecraft(**values)
            session.add(spacecraft)
        return spacecraft


@pytest.fixture
def factory(app: FastAPI) -> Factory:
    return Factory(app)
