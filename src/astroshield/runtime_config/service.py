"""Runtime overrides: stored in the database, applied by every replica without restart.

The replica that takes the change applies it at once; the others pick it up on their next
refresh (``ASTROSHIELD_RUNTIME_CONFIG_REFRESH_S``). Settings objects stay immutable: the
effective configuration is the environment's settings with the overrides copied over.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.alerts.evaluator import builtin_rules_from
from astroshield.alerts.service import ensure_builtin_rules
from astroshield.audit.service import Actor, record
from astroshield.config import Settings
from astroshield.errors import FieldError, InvalidInputError
from astroshield.runtime_config.repository import RuntimeConfigRepository
from astroshield.runtime_config.schemas import RuntimeConfig


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
    )


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
