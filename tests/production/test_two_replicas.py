"""Two ``astroshield serve`` processes behind Debian's nginx, sharing PostgreSQL and Redis,
as production runs them: what one replica learns, the other honours.

- a logout on one replica refuses the token on the other within 1 s (the auth cache is
  set to its longest, 30 s, so only the shared invalidation can explain a refusal);
- the login rate limit is one budget, whichever replica a client reaches;
- a background job (the outbox relay, running in both) does each piece of work once;
- a live telemetry subscriber of one replica gets what the other ingests, once;
- the proxy keeps answering when one replica dies.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from astroshield.db import create_sessionmaker, create_unpooled_engine
from astroshield.migrate import upgrade_async
from astroshield.security.context import build_security
from astroshield.users.service import unseal
from tests.catalog.test_provenance import JSON, UPLOAD, omm, public_iss
from tests.conftest import DEFAULT_PASSWORD, Factory, settings_for
from tests.events.bus import connected, require_shared_nats
from tests.support.databases import fresh_database, is_postgres
from tests.support.proxy import nginx
from tests.support.replicas import REDIS_URL, bearer, eventually
from tests.support.servers import free_port, service_env, service_process, uvicorn_argv
from tests.telemetry.support import T0, series

pytestmark = [pytest.mark.redis, pytest.mark.postgres_only]

LOGIN_BUDGET = 4  # per minute, per client and e-mail


@dataclass(frozen=True)
class Deployment:
    proxy: str
    replicas: list[str]
    processes: list[subprocess.Popen[bytes]]
    factory: Factory
    nats_url: str


def _environment(database_url: str, nats_url: str) -> dict[str, str]:
    return service_env(
        database_url,
        ASTROSHIELD_REDIS_URL=REDIS_URL,
        ASTROSHIELD_RATE_LIMIT_NAMESPACE=f"t-{secrets.token_hex(6)}",
        ASTROSHIELD_RATE_LIMIT_LOGIN=f"{LOGIN_BUDGET}/minute",
        ASTROSHIELD_AUTH_CACHE_TTL_S="30",
        ASTROSHIELD_NATS_URL=nats_url,
        ASTROSHIELD_OUTBOX_RELAY_INTERVAL_S="0.1",
        ASTROSHIELD_OUTBOX_BATCH_SIZE="3",
    )


@pytest.fixture(scope="module")
async def deployment(
    base_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Deployment]:
    if not is_postgres(base_database_url):
        pytest.skip("replicas share PostgreSQL; the PostgreSQL pass runs this")
    nats_url = require_shared_nats()
    folder = tmp_path_factory.mktemp("replicas")
    async with fresh_database(base_database_url, folder) as database_url:
        settings = settings_for(database_url)
        await upgrade_async(settings)
        engine = create_unpooled_engine(settings)
        state = SimpleNamespace(
            sessionmaker=create_sessionmaker(engine), security=build_security(settings)
        )
        factory = Factory(SimpleNamespace(state=state))  # type: ignore[arg-type]
        env = _environment(database_url, nats_url)
        ports = [free_port(), free_port()]
        try:
            with (
                service_process(uvicorn_argv(ports[0]), f"http://127.0.0.1:{ports[0]}", env) as a,
                service_process(uvicorn_argv(ports[1]), f"http://127.0.0.1:{ports[1]}", env) as b,
                nginx(folder / "nginx", free_port(), ports) as proxy,
            ):
                yield Deployment(
                    proxy, [f"http://127.0.0.1:{p}" for p in ports], [a, b], factory, nats_url
                )
        finally:
            await engine.dispose()


async def _log_in(
    client: httpx.AsyncClient, base: str, email: str, password: str
) -> httpx.Response:
    return await client.post(
        f"{base}/api/v1/auth/token", json={"email": email, "password": password}
    )


async def test_logout_on_one_replica_refuses_the_token_on_the_other_within_one_second(
    deployment: Deployment,
) -> None:
    factory = deployment.factory
    user = await factory.user(role="viewer")
    email = unseal(user, "email", factory.app.state.security.pii_keys)
    assert email is not None
    first, second = deployment.replicas
    async with httpx.AsyncClient(timeout=10) as client:
        login = await _log_in(client, first, email, DEFAULT_PASSWORD)
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        # The second replica has checked the token and holds it in its auth cache.
        for _ in range(3):
            assert (
                await client.get(f"{second}/api/v1/auth/me", headers=bearer(token))
            ).status_code == 200

        logout = await client.post(
            f"{first}/api/v1/auth/logout",
            json={"refresh_token": login.json()["refresh_token"]},
            headers=bearer(token),
        )
        assert logout.status_code == 204, logout.text
        started = time.monotonic()
        while (
            await client.get(f"{second}/api/v1/auth/me", headers=bearer(token))
        ).status_code != 401:
            assert time.monotonic() - started < 1.0, "the other replica still accepts the token"
            await asyncio.sleep(0.02)
        elapsed_ms = 1000 * (time.monotonic() - started)
        print(f"refused on the other replica {elapsed_ms:.0f} ms after logout")


async def test_the_login_rate_limit_is_one_budget_across_replicas(deployment: Deployment) -> None:
    user = await deployment.factory.user(role="viewer")
    email = unseal(user, "email", deployment.factory.app.state.security.pii_keys)
    assert email is not None
    attempts: list[tuple[int, int]] = []  # (replica, status)
    async with httpx.AsyncClient(timeout=10) as client:
        # Alternating, each replica sees half: two separate budgets would let through twice
        # as many as one. (The module's other logins from this address count too.)
        for attempt in range(2 * LOGIN_BUDGET):
            replica = attempt % 2
            response = await _log_in(client, deployment.replicas[replica], email, "wrong")
            attempts.append((replica, response.status_code))
        # Once the shared budget is spent, even the right password waits, on either replica.
        for replica in deployment.replicas:
            response = await _log_in(client, replica, email, DEFAULT_PASSWORD)
            assert response.status_code == 429, response.text
            assert int(response.headers["retry-after"]) > 0
    statuses = [status for _, status in attempts]
    refused = statuses.index(429)
    assert 0 < refused <= LOGIN_BUDGET, statuses
    assert set(statuses[:refused]) == {401} and set(statuses[refused:]) == {429}, statuses
    assert {replica for replica, status in attempts if status == 429} == {0, 1}


async def _at_least(items: list[dict[str, object]], count: int) -> bool:
    return len(items) >= count


async def test_the_outbox_relay_publishes_each_event_once_with_two_replicas_running(
    deployment: Deployment,
) -> None:
    factory = deployment.factory
    organisation = await factory.organisation()
    await factory.spacecraft(organisation, catalog_number="25544")
    headers = await factory.login(organisation, role="analyst")
    subject = f"astroshield.events.{organisation.slug}.>"
    uploads = 12
    async with connected(deployment.nats_url) as nats:
        received: list[dict[str, object]] = []

        async def collect(message: object) -> None:
            received.append(json.loads(message.data))  # type: ignore[attr-defined]

        # A core subscription sees every publish, duplicates too (JetStream's de-duplication
        # would hide a second publish from a stream consumer).
        await nats.subscribe(subject, cb=collect)
        iss = public_iss()
        async with httpx.AsyncClient(timeout=30) as client:
            for n in range(uploads):
                moved = replace(iss, epoch=iss.epoch + timedelta(minutes=n + 1))
                response = await client.post(
                    deployment.proxy + UPLOAD, content=omm(moved), headers=headers | JSON
                )
                assert response.status_code in (200, 201), response.text
        await eventually(lambda: _at_least(received, uploads), within_s=20)
        await asyncio.sleep(1.0)  # time for a duplicate, were there one, to arrive
    counts = Counter(str(event["id"]) for event in received)
    assert len(counts) == uploads
    assert set(counts.values()) == {1}, counts
    assert {event["type"] for event in received} == {"catalog.refreshed"}


async def _next(ws: ClientConnection, timeout_s: float) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout_s))


async def _live_messages(ws: ClientConnection, within_s: float) -> list[Any]:
    """What the stream sends within ``within_s`` (waiting that long for a duplicate)."""
    received: list[Any] = []
    deadline = time.monotonic() + within_s
    while (left := deadline - time.monotonic()) > 0:
        try:
            received.append(await _next(ws, left))
        except TimeoutError:
            break
    return received


async def test_a_live_subscriber_gets_each_batch_once_whichever_replica_stored_it(
    deployment: Deployment,
) -> None:
    """Connected straight to a replica, not through the proxy: a subscriber of the first
    replica gets what is ingested by the second (relayed through Redis), exactly once; with
    subscribers on both, each gets the second's batch once (no echo, no double relay)."""
    factory = deployment.factory
    organisation = await factory.organisation()
    spacecraft = await factory.spacecraft(organisation)
    headers = await factory.login(organisation, role="operator")
    second = deployment.replicas[1]
    first_ws, second_ws = (url.replace("http://", "ws://") for url in deployment.replicas)
    base = f"/api/v1/spacecraft/{spacecraft.id}/telemetry"

    def batch(sequence: int) -> dict[str, Any]:
        start = T0 + timedelta(minutes=sequence)
        return {"source_id": "gs-1", "sequence": sequence, "samples": series("v", start, 3)}

    def expected(sequence: int) -> dict[str, Any]:
        samples = [
            {"time": s["time"].replace("Z", "+00:00"), "value": s["value"], "limit": None}
            for s in batch(sequence)["samples"]
        ]
        return {"type": "samples", "parameter": "v", "samples": samples}

    dictionary = [{"name": "v", "type": "float", "unit": "V"}]
    async with httpx.AsyncClient(timeout=10) as client:
        put = await client.put(f"{second}{base}/parameters", json=dictionary, headers=headers)
        assert put.status_code == 200, put.text
        async with connect(f"{first_ws}{base}/live", additional_headers=headers) as on_first:
            assert await _next(on_first, 10) == {
                "type": "subscribed",
                "parameters": None,
            }
            # The first replica's subscription is announced to the second through Redis
            # (milliseconds); a batch stored within that moment would not be streamed.
            await asyncio.sleep(0.5)
            started = time.monotonic()
            stored = await client.post(f"{second}{base}", json=batch(1), headers=headers)
            assert stored.status_code == 201, stored.text
            first_message = await _next(on_first, 5)
            print(f"relayed to the other replica {1000 * (time.monotonic() - started):.0f} ms")
            assert [first_message, *await _live_messages(on_first, 1.0)] == [expected(1)]

            async with connect(f"{second_ws}{base}/live", additional_headers=headers) as on_second:
                assert (await _next(on_second, 10))["type"] == "subscribed"
                stored = await client.post(f"{second}{base}", json=batch(2), headers=headers)
                assert stored.status_code == 201, stored.text
                assert await _live_messages(on_second, 2.0) == [expected(2)]
                assert await _live_messages(on_first, 0.5) == [expected(2)]


async def test_the_proxy_keeps_answering_when_a_replica_dies(deployment: Deployment) -> None:
    """Last in the module: it kills the second replica."""
    victim = deployment.processes[1]
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    async with httpx.AsyncClient(timeout=10) as client:
        statuses = [(await client.get(f"{deployment.proxy}/livez")).status_code for _ in range(10)]
    assert statuses == [200] * 10
