"""Runtime overrides: stored in the database, applied by every replica without restart.

The replica that takes the change applies it at once; the others pick it up on their next
refresh (``ASTROSHIELD_RUNTIME_CONFIG_REFRESH_S``). Settings objects stay immutable: the
effective configuration is the environment's settings with the overrides copied over.
Platform-wide overrides make the app state's ``settings``; an organisation's overrides apply to
its own requests only (see ``catalogue``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Mapping
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from astroshield.alerts.evaluator import builtin_rules_from
from astroshield.alerts.service import ensure_builtin_rules
from astroshield.api.state import AppState
from astroshield.audit.service import Actor, record, record_detached
from astroshield.config import Settings
from astroshield.db import create_engine, create_sessionmaker
from astroshield.errors import FieldError, InvalidInputError
from astroshield.observability import metrics, tracing
from astroshield.runtime_config.catalogue import (
    ORGANISATION_SETTINGS,
    PLATFORM_CONFIG_SCOPE,
    PLATFORM_SETTINGS,
    VISIBLE_PLATFORM_SETTINGS,
    organisation_value,
)
from astroshield.runtime_config.repository import RuntimeConfigRepository
from astroshield.runtime_config.schemas import RuntimeConfig
from astroshield.security.principal import Principal

log = structlog.get_logger(__name__)


def platform_overrides(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The stored platform overrides that are platform settings (a key that has become a
    per-organisation setting never acts on every organisation)."""
    return {key: value for key, value in stored.items() if key in PLATFORM_SETTINGS}


def effective(base: Settings, overrides: Mapping[str, Any]) -> Settings:
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


def current(
    base: Settings,
    overrides: Mapping[str, Any],
    organisation_overrides: Mapping[str, Any],
    *,
    platform_reader: bool,
) -> RuntimeConfig:
    """The configuration one caller sees: their organisation's effective values, and of
    the platform-wide ones all (platform administrators) or only the visible ones."""
    settings = effective(base, platform_overrides(overrides))
    shown = PLATFORM_SETTINGS if platform_reader else VISIBLE_PLATFORM_SETTINGS
    values: dict[str, Any] = {
        key: organisation_value(settings, organisation_overrides, key)
        for key in ORGANISATION_SETTINGS
    }
    for key in shown:
        if key == "logger_levels":
            values[key] = overrides.get("logger_levels", {})
        else:
            values[key] = getattr(settings, key)
    return RuntimeConfig(**values)


POOL_FIELDS = ("db_pool_size", "db_max_overflow")
# In-flight requests keep the connections they hold; the old pool closes after this.
OLD_ENGINE_GRACE_S = 30.0


async def replace_engine(state: AppState, settings: Settings) -> None:
    """A new connection pool without a restart: new requests use the new engine at once
    (the unit of work reads the sessionmaker per request); the old one is disposed once
    the requests that hold its connections have had time to finish."""
    engine = create_engine(settings)
    tracing.instrument_engine(engine)
    if settings.metrics_enabled:
        metrics.instrument_engine(engine)
    old = state.engine
    state.engine = engine
    state.sessionmaker = create_sessionmaker(engine)
    log.info(
        "db_pool_replaced", pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )
    try:
        await asyncio.sleep(OLD_ENGINE_GRACE_S)
    finally:  # also on shutdown, which cancels the wait
        await old.dispose()


def apply_platform_overrides(state: AppState, overrides: dict[str, Any]) -> None:
    """Make the platform-wide ``overrides`` the running configuration of this replica. The
    refresh loop calls this every few seconds; unchanged overrides cost nothing (no new
    settings, no logger changes, no rewrite of the alert rules)."""
    overrides = platform_overrides(overrides)
    if overrides == getattr(state, "applied_overrides", {}):
        return
    state.applied_overrides = dict(overrides)
    settings = effective(state.base_settings, overrides)

    previous = state.settings
    state.settings = settings
    if not settings.is_sqlite and any(
        getattr(settings, field) != getattr(previous, field) for field in POOL_FIELDS
    ):
        task = asyncio.get_running_loop().create_task(replace_engine(state, settings))
        state.background_tasks = {*getattr(state, "background_tasks", set()), task}
    apply_logging(settings, overrides.get("logger_levels", {}))
    evaluator = getattr(state, "alert_evaluator", None)
    if evaluator is not None:
        evaluator.use_settings(settings)


async def view(session: AsyncSession, principal: Principal, base: Settings) -> RuntimeConfig:
    """``principal``'s organisation's effective configuration, with the platform-wide
    settings they may read."""
    repository = RuntimeConfigRepository(session)
    return current(
        base,
        await repository.all(),
        await repository.of_organisation(principal.organisation_id),
        platform_reader=principal.has(PLATFORM_CONFIG_SCOPE),
    )


async def stored_overrides(
    session: AsyncSession,
) -> tuple[dict[str, Any], dict[uuid.UUID, dict[str, Any]]]:
    """Every stored override: the platform's and each organisation's."""
    repository = RuntimeConfigRepository(session)
    return await repository.all(), await repository.every_organisation()


def _validated(base: Settings, overrides: Mapping[str, Any]) -> Settings:
    try:
        return effective(base, overrides)
    except ValidationError as exc:
        # Refused before commit: nothing of the change is kept.
        raise InvalidInputError(
            "the configuration would be invalid",
            errors=[FieldError(["body"], str(error["msg"])) for error in exc.errors()],
        ) from None


def _platform(actor: Actor) -> Actor:
    """The actor of a platform-wide event: recorded in the platform stream (no
    organisation), which organisation administrators never read."""
    return dataclasses.replace(actor, organisation_id=None)


async def update_platform(
    session: AsyncSession, base: Settings, changes: Mapping[str, Any], *, actor: Actor
) -> dict[str, Any]:
    """Persist platform-wide changes (``None`` removes an override); returns all platform
    overrides. The caller has checked the platform scope."""
    repository = RuntimeConfigRepository(session)
    for key, value in changes.items():
        if value is None:
            await repository.remove(key)
        else:
            await repository.put(key, value, by=actor.user_id)
    overrides = platform_overrides(await repository.all())
    settings = _validated(base, overrides)
    await ensure_builtin_rules(session, builtin_rules_from(settings))
    await record(
        session,
        _platform(actor).event(
            "config.updated",
            object_type="runtime_config",
            object_id="platform",
            changes=dict(changes),
            actor_organisation_id=str(actor.organisation_id),
        ),
    )
    return overrides


async def update_organisation(
    session: AsyncSession,
    settings: Settings,
    organisation_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    actor: Actor,
) -> dict[str, Any]:
    """Persist one organisation's changes (``None`` removes an override), checked against
    the platform's effective ``settings`` (a page size above the platform's maximum is
    refused); returns all of that organisation's overrides."""
    repository = RuntimeConfigRepository(session)
    for key, value in changes.items():
        if value is None:
            await repository.remove_for_organisation(organisation_id, key)
        else:
            await repository.put_for_organisation(organisation_id, key, value, by=actor.user_id)
    overrides = await repository.of_organisation(organisation_id)
    _validated(settings, overrides)
    await record(
        session,
        actor.event(
            "config.updated",
            object_type="organisation_config",
            object_id=organisation_id,
            organisation_id=organisation_id,
            changes=dict(changes),
        ),
    )
    return overrides


async def refuse_platform_change(
    sessionmaker: async_sessionmaker[AsyncSession], actor: Actor, fields: list[str]
) -> None:
    """Record an attempt to change platform-wide settings without the platform scope, in
    the platform stream, where the administrators who can act on it read."""
    await record_detached(
        sessionmaker,
        _platform(actor).event(
            "auth.permission_denied",
            object_type="runtime_config",
            object_id="platform",
            scope=PLATFORM_CONFIG_SCOPE,
            fields=sorted(fields),
            actor_organisation_id=str(actor.organisation_id),
        ),
    )
