"""Rate limits: exact boundary, headers, a budget shared through Redis, Redis outages in
both modes, and forwarded addresses believed only from a trusted proxy.

Budgets are per hour except where the minute itself is under test: the limiter is a
sliding-window counter, so a run that straddles the end of a window legitimately lets one
more request through, and an hour makes that straddle sixty times rarer than a minute."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from astroshield.app import create_app
from tests.conftest import DEFAULT_PASSWORD, Factory, settings_for

REDIS_URL = "redis://127.0.0.1:6379/0"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@asynccontextmanager
async def running(database_url: str, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings_for(database_url, **settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_exact_boundary_and_headers(database_url: str) -> None:
    async with running(database_url, rate_limit_client="5/minute") as client:
        answers = [await client.get("/openapi.json") for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert [a.headers["ratelimit-remaining"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
    refused = answers[5]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["ratelimit-limit"] == "5"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["status"] == 429


async def test_probes_are_not_limited(database_url: str) -> None:
    async with running(database_url, rate_limit_client="2/hour") as client:
        codes = [(await client.get("/livez")).status_code for _ in range(5)]
    assert codes == [200] * 5


async def test_login_is_stricter(database_url: str, factory: Factory) -> None:
    await factory.user(email="brute@example.org")
    async with running(database_url, rate_limit_login="3/hour") as client:
        codes = [
            (
                await client.post(
                    "/api/v1/auth/token", json={"email": "brute@example.org", "password": "nope"}
                )
            ).status_code
            for _ in range(4)
        ]
        assert codes == [401, 401, 401, 429]
        # The right password does not get past an exhausted budget either.
        right = await client.post(
            "/api/v1/auth/token", json={"email": "brute@example.org", "password": DEFAULT_PASSWORD}
        )
        assert right.status_code == 429 and "retry-after" in right.headers


async def test_per_user_budget(database_url: str, factory: Factory) -> None:
    first, second = await factory.login(role="viewer"), await factory.login(role="viewer")
    async with running(database_url, rate_limit_user="3/hour") as client:
        codes = [
            (await client.get("/api/v1/spacecraft", headers=first)).status_code for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        assert (await client.get("/api/v1/spacecraft", headers=second)).status_code == 200


async def test_forwarded_header_ignored_without_trusted_proxy(database_url: str) -> None:
    async with running(database_url, rate_limit_client="3/hour") as client:
        codes = [
            (
                await client.get("/openapi.json", headers={"X-Forwarded-For": f"203.0.113.{n}"})
            ).status_code
            for n in range(4)
        ]
    assert codes == [200, 200, 200, 429]  # one budget: the peer's, whatever the header says


async def test_forwarded_header_believed_from_trusted_proxy(database_url: str) -> None:
    async with running(
        database_url, rate_limit_client="2/hour", trusted_proxies=["127.0.0.1/32"]
    ) as client:

        async def get(forwarded: str) -> int:
            response = await client.get("/openapi.json", headers={"X-Forwarded-For": forwarded})
            return response.status_code

        assert [await get("203.0.113.7") for _ in range(3)] == [200, 200, 429]
        assert await get("203.0.113.8") == 200  # another client behind the proxy
        # A client cannot escape by prepending addresses: the rightmost untrusted hop counts.
        assert await get("198.51.100.1, 203.0.113.7") == 429


@pytest.mark.redis
async def test_two_instances_share_one_redis_budget(database_url: str) -> None:
    namespace = f"test-{secrets.token_hex(6)}"
    settings = {
        "rate_limit_client": "5/hour",
        "redis_url": REDIS_URL,
        "rate_limit_namespace": namespace,
    }
    async with running(database_url, **settings) as one, running(database_url, **settings) as two:
        codes = [(await one.get("/openapi.json")).status_code for _ in range(3)]
        codes += [(await two.get("/openapi.json")).status_code for _ in range(3)]
        assert codes == [200, 200, 200, 200, 200, 429]
        assert (await one.get("/openapi.json")).status_code == 429


def _shared_redis(**limits: str) -> dict[str, Any]:
    return {
        "redis_url": REDIS_URL,
        "rate_limit_namespace": f"test-{secrets.token_hex(6)}",
        **limits,
    }


@pytest.mark.redis
async def test_two_instances_share_one_login_budget_through_redis(
    database_url: str, factory: Factory
) -> None:
    await factory.user(email="two-door-brute@example.org")
    settings = _shared_redis(rate_limit_login="4/hour")
    guess = {"email": "two-door-brute@example.org", "password": "nope"}
    async with running(database_url, **settings) as one, running(database_url, **settings) as two:
        codes = []
        for client in (one, two, one, two, one):
            codes.append((await client.post("/api/v1/auth/token", json=guess)).status_code)
        assert codes == [401, 401, 401, 401, 429]
        right = {"email": "two-door-brute@example.org", "password": DEFAULT_PASSWORD}
        assert (await two.post("/api/v1/auth/token", json=right)).status_code == 429


@pytest.mark.redis
async def test_two_instances_share_one_user_budget_through_redis(
    database_url: str, factory: Factory
) -> None:
    first, second = await factory.login(role="viewer"), await factory.login(role="viewer")
    settings = _shared_redis(rate_limit_user="3/hour")
    async with running(database_url, **settings) as one, running(database_url, **settings) as two:
        codes = [
            (await client.get("/api/v1/spacecraft", headers=first)).status_code
            for client in (one, two, one, two)
        ]
        assert codes == [200, 200, 200, 429]
        assert (await two.get("/api/v1/spacecraft", headers=second)).status_code == 200


@pytest.mark.redis
async def test_redis_down_fail_open(database_url: str) -> None:
    async with running(
        database_url,
        redis_url=UNREACHABLE_REDIS,
        rate_limit_fail_mode="open",
        rate_limit_client="1/hour",
    ) as client:
        codes = [(await client.get("/openapi.json")).status_code for _ in range(3)]
    assert codes == [200, 200, 200]


@pytest.mark.redis
async def test_redis_down_fail_closed(database_url: str) -> None:
    async with running(
        database_url, redis_url=UNREACHABLE_REDIS, rate_limit_fail_mode="closed"
    ) as client:
        response = await client.get("/openapi.json")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert "retry-after" in response.headers
        assert (await client.get("/livez")).status_code == 200
