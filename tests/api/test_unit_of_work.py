"""A 2xx is sent only after the commit; failures and errors leave nothing written."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import func, select
from tests.conftest import Factory

from astroshield.api.deps import SessionDep
from astroshield.api.side_effects import after_commit
from astroshield.app import create_app
from astroshield.config import Settings
from astroshield.errors import ConflictError
from astroshield.organisations.models import Organisation


@pytest.fixture
async def probe_client(settings: Settings, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The real app plus routes that write and then succeed, fail or raise."""
    probe = create_app(settings)

    @probe.post("/probe/unflushed-duplicate", status_code=201)
    async def unflushed_duplicate(session: SessionDep) -> dict[str, str]:
        # autoflush is off: the INSERT (and its unique violation) happens at commit time.
        session.add(Organisation(name="dup", slug="taken-slug"))
        return {"status": "created"}

    @probe.post("/probe/write-then-4xx")
    async def write_then_4xx(session: SessionDep) -> None:
        session.add(Organisation(name="x", slug="written-before-4xx"))
        await session.flush()
        raise ConflictError("refused after writing")

    @probe.post("/probe/write-then-crash")
    async def write_then_crash(session: SessionDep) -> None:
        session.add(Organisation(name="x", slug="written-before-crash"))
        await session.flush()
        raise RuntimeError("bug")

    calls: list[tuple[str, bool]] = []
    probe.state.after_commit_calls = calls

    def remember(request: Request, slug: str) -> None:
        async def visible_now() -> None:
            # Runs after the commit: a fresh connection already sees the row.
            calls.append((slug, slug in await _slugs(app)))

        after_commit(request, visible_now)

    @probe.post("/probe/write-and-notify", status_code=201)
    async def write_and_notify(request: Request, session: SessionDep) -> dict[str, str]:
        session.add(Organisation(name="n", slug="notified"))
        remember(request, "notified")
        return {"status": "created"}

    @probe.post("/probe/notify-then-duplicate", status_code=201)
    async def notify_then_duplicate(request: Request, session: SessionDep) -> dict[str, str]:
        session.add(Organisation(name="dup", slug="taken-slug"))
        remember(request, "taken-slug")
        return {"status": "created"}

    @probe.post("/probe/notify-then-4xx")
    async def notify_then_4xx(request: Request, session: SessionDep) -> None:
        session.add(Organisation(name="x", slug="refused"))
        remember(request, "refused")
        raise ConflictError("refused after writing")

    probe.state.sessionmaker = app.state.sessionmaker
    transport = httpx.ASGITransport(app=probe, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _slugs(app: FastAPI) -> set[str]:
    async with app.state.sessionmaker() as session:
        return set((await session.execute(select(Organisation.slug))).scalars())


async def test_commit_failure_replaces_the_2xx(
    probe_client: httpx.AsyncClient, client: httpx.AsyncClient, app: FastAPI, factory: Factory
) -> None:
    first = await client.post(
        "/api/v1/organisations",
        json={"name": "A", "slug": "taken-slug"},
        headers=await factory.login(role="admin", platform_admin=True),
    )
    assert first.status_code == 201
    response = await probe_client.post("/probe/unflushed-duplicate", json={})
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "nothing was saved" in response.json()["detail"]
    assert "taken-slug" in await _slugs(app)
    async with app.state.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Organisation).where(Organisation.name == "dup")
        )
    assert count == 0


async def test_error_responses_roll_back_earlier_writes(
    probe_client: httpx.AsyncClient, app: FastAPI
) -> None:
    refused = await probe_client.post("/probe/write-then-4xx", json={})
    assert refused.status_code == 409
    crashed = await probe_client.post("/probe/write-then-crash", json={})
    assert crashed.status_code == 500
    assert not {"written-before-4xx", "written-before-crash"} & await _slugs(app)


async def test_acknowledged_write_is_visible_to_a_new_connection(
    client: httpx.AsyncClient, app: FastAPI, factory: Factory
) -> None:
    response = await client.post(
        "/api/v1/organisations",
        json={"name": "A", "slug": "durable"},
        headers=await factory.login(role="admin", platform_admin=True),
    )
    assert response.status_code == 201
    assert "durable" in await _slugs(app)


async def test_after_commit_work_runs_only_after_a_successful_commit(
    probe_client: httpx.AsyncClient, client: httpx.AsyncClient, factory: Factory
) -> None:
    probe_app = probe_client._transport.app  # type: ignore[attr-defined]
    calls = probe_app.state.after_commit_calls
    assert (await probe_client.post("/probe/write-and-notify", json={})).status_code == 201
    assert calls == [("notified", True)]

    taken = await client.post(
        "/api/v1/organisations",
        json={"name": "A", "slug": "taken-slug"},
        headers=await factory.login(role="admin", platform_admin=True),
    )
    assert taken.status_code == 201
    assert (await probe_client.post("/probe/notify-then-duplicate", json={})).status_code == 409
    assert (await probe_client.post("/probe/notify-then-4xx", json={})).status_code == 409
    assert calls == [("notified", True)]  # nothing announced for what was not stored
