from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from astroshield.api.schemas import RequestModel

LogLevel = Literal["debug", "info", "warning", "error", "critical"]
LoggerName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.]+$")]


class RuntimeConfig(RequestModel):
    """Everything that can change while the service runs. On PATCH only the fields sent
    change; ``null`` returns a field to its environment value."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "log_level": "info",
                    "logger_levels": {"astroshield.conjunction": "debug"},
                    "page_size_default": 100,
                }
            ]
        }
    )

    log_level: LogLevel | None = None
    logger_levels: dict[LoggerName, LogLevel] | None = Field(default=None, max_length=50)
    alert_error_rate_per_minute: Annotated[float, Field(gt=0, le=1e6)] | None = None
    alert_p95_latency_ms: Annotated[float, Field(gt=0, le=1e6)] | None = None
    alert_memory_percent: Annotated[float, Field(gt=0, le=100)] | None = None
    alert_cpu_percent: Annotated[float, Field(gt=0, le=100)] | None = None
    retention_batch_size: Annotated[int, Field(ge=1, le=100_000)] | None = None
    page_size_default: Annotated[int, Field(ge=1, le=1000)] | None = None
    metrics_enabled: bool | None = None
    db_pool_size: Annotated[int, Field(ge=1, le=500)] | None = None
    db_max_overflow: Annotated[int, Field(ge=0, le=500)] | None = None
