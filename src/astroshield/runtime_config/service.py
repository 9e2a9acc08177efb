"""Runtime overrides: stored in the database, applied by every replica without restart.

The replica that takes the change applies it at once; the others pick it up on their next
refresh (``ASTROSHIELD_RUNTIME_CONFIG_REFRESH_S``). Settings objects stay immutable: the
effective configuration is the environment's settings with the overrides copied over.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.alerts.evaluator import builtin_rules_from
from astroshield.alerts.service import ensure_builtin_rules
from astroshield.audit.service import Actor, record
from astroshield.config import Settings
from astroshield.db import create_engine, create_sessionmaker
from astroshield.errors import FieldError, InvalidInputError
from astroshield.observability import metrics, tracing
from astroshield.runtime_config.repository import RuntimeConfigRepository
from astroshield.runtime_config.schemas import RuntimeConfig

log = structlog.get_logger(__name__)


def effective(base: Settings, overrides: dict[str, Any]) -> Settings:
    """``base`` with the overrides that are settings fields (logger levels are not),
    validated as a whole (cross-field rules included)."""
    changes = {k: v for k, v in overrides.items() if k in Settings.model_fields}
    if not changes:
        return base
    return type(base)(**{**base.model_dump(), **changes})


def apply_logging(settings: Settings, logger_levels: dict[str, str]) -> None:
    logging.getLogger().setLevel(settings.log_level.upper())
    for name, level in logger_levels.items():
        logging.getLogger(name).setLevel(level.upper())


def current(base: Settings, overrides: dict[str, Any]) -> RuntimeConfig:
    settings = effective(base, overrides)
    return RuntimeConfig(
        log_level=settings.log_level,
        logger_levels=overrides.get("logger_levels", {}),
        alert_error_rate_per_minute=settings.alert_error_rate_per_minute,
        alert_p95_latency_ms=settings.alert_p95_latency_ms,
        alert_memory_percent=settings.alert_memory_percent,
        alert_cpu_percent=settings.alert_cpu_percent,
        retention_batch_size=settings.retention_batch_size,
        page_size_default=settings.page_size_default,
        metrics_enabled=settings.metrics_enabled,
        db_pool_size=settings.db_pool_size,
        db_max_overflow=settings.db_max_overflow,
    )


POOL_FIELDS = ("db_pool_size", "db_max_overflow")
# In-flight requests keep the connections they hold; the old pool closes after this.
OLD_ENGINE_GRACE_S = 30.0


async def replace_engine(app: Any, settings: Settings) -> None:
    """A new connection pool without a restart: new requests use the new engine at once
    (the unit of work reads the sessionmaker per request); the old one is disposed once
    the requests that hold its connections have had time to finish."""
    engine = create_engine(settings)
    tracing.instrument_engine(engine)
    if settings.metrics_enabled:
        metrics.instrument_engine(engine)
    old = app.state.engine
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    log.info(
        "db_pool_replaced", pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )
    try:
        await asyncio.sleep(OLD_ENGINE_GRACE_S)
    finally:  # also on shutdown, which cancels the wait
        await old.dispose()


async def update(
    session: AsyncSession, base: Settings, change: RuntimeConfig, *, actor: Actor
) -> dict[str, Any]:
    """Persist the fields sent (``null`` removes an override); returns all overrides."""
    repository = RuntimeConfigRepository(session)
    sent = change.model_dump(exclude_unset=True)
    for key, value in sent.items():
        if value is None:
            await repository.remove(key)
        else:
            await repository.put(key, value, by=actor.user_id)
    overrides = await repository.all()
    try:
        effective(base, overrides)
    except ValidationError as exc:
        # Refused before commit: nothing of the change is kept.
        raise InvalidInputError(
            "the configuration would be invalid",
            errors=[FieldError(["body"], str(error["msg"])) for error in exc.errors()],
        ) from None
    await ensure_builtin_rules(session, builtin_rules_from(effective(base, overrides)))
    await record(session, actor.event("config.updated", object_type="runtime_config", changes=sent))
    return overrides
