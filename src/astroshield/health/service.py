"""Readiness: can this replica serve traffic right now?"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from astroshield.health.repository import database_revision
from astroshield.health.schemas import ComponentHealth
from astroshield.observability.components import record_probes


async def _timed(
    check: Callable[[], Awaitable[str | None]], timeout_s: float
) -> tuple[ComponentHealth, str | None]:
    started = time.perf_counter()
    try:
        value = await asyncio.wait_for(check(), timeout_s)
    except TimeoutError:
        return ComponentHealth(status="failing", detail=f"no answer within {timeout_s} s"), None
    except Exception as exc:
        return ComponentHealth(status="failing", detail=type(exc).__name__), None
    latency = round((time.perf_counter() - started) * 1000, 2)
    return ComponentHealth(status="ok", latency_ms=latency), value


async def check_database(
    engine: AsyncEngine, head: str | None, timeout_s: float
) -> ComponentHealth:
    health, revision = await _timed(lambda: database_revision(engine), timeout_s)
    if health.status == "ok" and revision != head:
        return ComponentHealth(
            status="failing",
            latency_ms=health.latency_ms,
            detail=f"schema at revision {revision}, code expects {head}: "
            "run `astroshield db upgrade`",
        )
    return health


async def check_redis(client: Any | None, timeout_s: float) -> ComponentHealth:
    if client is None:
        return ComponentHealth(status="not_configured")

    async def ping() -> str | None:
        await client.ping()
        return None

    health, _ = await _timed(ping, timeout_s)
    return health


async def check_all(
    engine: AsyncEngine, head: str | None, redis: Any | None, timeout_s: float
) -> dict[str, ComponentHealth]:
    database, cache = await asyncio.gather(
        check_database(engine, head, timeout_s), check_redis(redis, timeout_s)
    )
    verdicts = {"database": database, "redis": cache}
    record_probes({name: health.status for name, health in verdicts.items()})
    return verdicts


def is_ready(components: dict[str, ComponentHealth]) -> bool:
    return all(c.status != "failing" for c in components.values())
