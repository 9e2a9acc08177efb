from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from astroshield.api.deps import ActorDep, SessionDep, require_scope
from astroshield.config import Settings
from astroshield.runtime_config import service
from astroshield.runtime_config.repository import RuntimeConfigRepository
from astroshield.runtime_config.schemas import RuntimeConfig
from astroshield.security.principal import Principal

router = APIRouter(prefix="/config", tags=["runtime configuration"])
ConfigAdmin = Annotated[Principal, Depends(require_scope("config:admin"))]


def apply_to_app(app: Any, overrides: dict[str, Any]) -> None:
    """Make ``overrides`` the running configuration of this replica. The refresh loop
    calls this every few seconds; unchanged overrides cost nothing (no new settings, no
    logger changes, no rewrite of the alert rules)."""
    if overrides == getattr(app.state, "applied_overrides", {}):
        return
    app.state.applied_overrides = dict(overrides)
    settings = service.effective(app.state.base_settings, overrides)

    previous: Settings = app.state.settings
    app.state.settings = settings
    if not settings.is_sqlite and any(
        getattr(settings, field) != getattr(previous, field) for field in service.POOL_FIELDS
    ):
        task = asyncio.get_running_loop().create_task(service.replace_engine(app, settings))
        app.state.background_tasks = {*getattr(app.state, "background_tasks", set()), task}
    service.apply_logging(settings, overrides.get("logger_levels", {}))
    evaluator = getattr(app.state, "alert_evaluator", None)
    if evaluator is not None:
        evaluator.use_settings(settings)


@router.get("")
async def get_config(admin: ConfigAdmin, request: Request, session: SessionDep) -> RuntimeConfig:
    overrides = await RuntimeConfigRepository(session).all()
    return service.current(request.app.state.base_settings, overrides)


@router.patch("")
async def update_config(
    change: RuntimeConfig,
    admin: ConfigAdmin,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> RuntimeConfig:
    """Administrators only; audited; applied here at once and on other replicas within
    the refresh interval."""
    overrides = await service.update(session, request.app.state.base_settings, change, actor=actor)
    apply_to_app(request.app, overrides)

    return service.current(request.app.state.base_settings, overrides)
