"""Replicas for tests: apps built by ``create_app`` on one database and, optionally, one
real Redis, each with its own in-process caches, as separate processes would be."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from astroshield.app import create_app
from tests.conftest import settings_for

REDIS_URL = "redis://127.0.0.1:6379/0"
# The longest auth cache the settings allow: with it, a refusal inside POLL_BOUND_S can
# only come from an invalidation the replicas share, not from an entry running out.
LONGEST_AUTH_CACHE_S = 30.0
POLL_BOUND_S = 5.0


@dataclass(frozen=True)
class Replica:
    app: FastAPI
    client: httpx.AsyncClient


@asynccontextmanager
async def replicas(
    database_url: str, count: int = 2, *, redis: bool = True, **overrides: Any
) -> AsyncIterator[list[Replica]]:
    """``count`` running apps with one configuration; with ``redis`` they share a fresh
    namespace of the test Redis (never another test's keys or channels)."""
    values: dict[str, Any] = {"auth_cache_ttl_s": LONGEST_AUTH_CACHE_S}
    if redis:
        values |= {"redis_url": REDIS_URL, "rate_limit_namespace": f"t-{secrets.token_hex(6)}"}
    settings = settings_for(database_url, **(values | overrides))
    async with AsyncExitStack() as stack:
        running = []
        for _ in range(count):
            app: FastAPI = create_app(settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://testserver")
            )
            running.append(Replica(app, client))
        yield running


async def eventually(check: Callable[[], Awaitable[bool]], within_s: float = POLL_BOUND_S) -> bool:
    """Whether ``check`` comes to hold within the bound (polled; no claim how soon)."""
    deadline = time.monotonic() + within_s
    while not await check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def log_in(client: httpx.AsyncClient, email: str, password: str) -> Any:
    response = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()
