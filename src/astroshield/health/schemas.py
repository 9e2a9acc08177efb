from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

ComponentState = Literal["ok", "failing", "not_configured"]


class ComponentHealth(BaseModel):
    status: ComponentState
    latency_ms: float | None = None
    detail: str | None = None


class HealthReport(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    uptime_s: float
    components: dict[str, ComponentHealth]
