from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from astroshield import __version__
from astroshield.api.state import state_of
from astroshield.errors import ServiceUnavailableError, problem_response
from astroshield.health import service
from astroshield.health.schemas import ComponentHealth, HealthReport

probes = APIRouter(tags=["health"])
router = APIRouter(tags=["health"])


async def _components(request: Request) -> dict[str, ComponentHealth]:
    state = state_of(request)
    return await service.check_all(
        state.probe_engine, state.head_revision, state.redis, state.settings.readiness_timeout_s
    )


@probes.get("/livez")
async def livez() -> dict[str, str]:
    """The process is up and its event loop answers; checks no dependency on purpose."""
    return {"status": "ok"}


@probes.get("/readyz", responses={503: {"description": "a dependency is failing"}})
async def readyz(request: Request) -> JSONResponse:
    components = await _components(request)
    if service.is_ready(components) and not state_of(request).drain.draining:
        return JSONResponse({"status": "ok"})
    failing = {name: c.detail for name, c in components.items() if c.status == "failing"}
    if state_of(request).drain.draining:
        failing["service"] = "draining before shutdown"
    return problem_response(
        request,
        status=503,
        slug=ServiceUnavailableError.slug,
        title="Not ready",
        detail="; ".join(f"{name}: {detail}" for name, detail in failing.items()),
        errors=[
            {"loc": ["component", name], "msg": str(detail)} for name, detail in failing.items()
        ],
        headers={"Retry-After": "5"},
    )


@router.get("/health")
async def health(request: Request) -> HealthReport:
    components = await _components(request)
    return HealthReport(
        status="ok" if service.is_ready(components) else "degraded",
        version=__version__,
        uptime_s=round(time.monotonic() - state_of(request).started_at, 3),
        components=components,
    )
