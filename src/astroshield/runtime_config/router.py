from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from astroshield.api.deps import ActorDep, SessionDep, authenticate, authorize
from astroshield.config import Settings
from astroshield.errors import FieldError, ForbiddenError
from astroshield.runtime_config import service
from astroshield.runtime_config.catalogue import (
    ORGANISATION_CONFIG_SCOPE,
    ORGANISATION_SETTINGS,
    PLATFORM_CONFIG_SCOPE,
    PLATFORM_SETTINGS,
    OrganisationConfig,
)
from astroshield.runtime_config.repository import RuntimeConfigRepository
from astroshield.runtime_config.schemas import RuntimeConfig
from astroshield.security.principal import Principal

router = APIRouter(prefix="/config", tags=["runtime configuration"])


async def config_reader(request: Request) -> Principal:
    """Organisation administrators and platform administrators; everyone else is refused
    and audited."""
    principal = await authenticate(request)
    if principal.has(PLATFORM_CONFIG_SCOPE):
        return principal
    return await authorize(request, ORGANISATION_CONFIG_SCOPE)


ConfigReader = Annotated[Principal, Depends(config_reader)]


def apply_to_app(app: Any, overrides: dict[str, Any]) -> None:
    """Make the platform-wide ``overrides`` the running configuration of this replica. The
    refresh loop calls this every few seconds; unchanged overrides cost nothing (no new
    settings, no logger changes, no rewrite of the alert rules)."""
    overrides = service.platform_overrides(overrides)
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


async def _view(request: Request, session: SessionDep, principal: Principal) -> RuntimeConfig:
    repository = RuntimeConfigRepository(session)
    return service.current(
        request.app.state.base_settings,
        await repository.all(),
        await repository.of_organisation(principal.organisation_id),
        platform_reader=principal.has(PLATFORM_CONFIG_SCOPE),
    )


@router.get("", response_model_exclude_none=True)
async def get_config(reader: ConfigReader, request: Request, session: SessionDep) -> RuntimeConfig:
    """Your organisation's effective configuration; of the platform-wide settings, all for
    platform administrators and only the ones that reveal nothing of the platform's insides
    for organisation administrators."""
    return await _view(request, session, reader)


@router.patch("", response_model_exclude_none=True)
async def update_config(
    change: RuntimeConfig,
    editor: ConfigReader,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> RuntimeConfig:
    """Platform-wide settings: platform administrators only, audited in the platform
    stream. Per-organisation settings: your organisation only, audited in its stream.
    Applied here at once and on other replicas within the refresh interval."""
    sent = change.model_dump(exclude_unset=True)
    platform = {key: value for key, value in sent.items() if key in PLATFORM_SETTINGS}
    organisation = {key: value for key, value in sent.items() if key in ORGANISATION_SETTINGS}
    if platform and not editor.has(PLATFORM_CONFIG_SCOPE):
        await service.refuse_platform_change(request.app.state.sessionmaker, actor, list(platform))
        raise ForbiddenError(
            f"{', '.join(sorted(platform))}: platform-wide, only platform administrators "
            "may change them",
            errors=[FieldError(["body", key], "platform-wide setting") for key in sorted(platform)],
        )
    if organisation and not editor.has(ORGANISATION_CONFIG_SCOPE):
        await authorize(request, ORGANISATION_CONFIG_SCOPE)  # refuses and audits
    if platform:
        overrides = await service.update_platform(
            session, request.app.state.base_settings, platform, actor=actor
        )
        apply_to_app(request.app, overrides)
    if organisation:
        organisation_overrides = await service.update_organisation(
            session,
            request.app.state.settings,
            editor.organisation_id,
            organisation,
            actor=actor,
        )
        organisation_config: OrganisationConfig = request.app.state.organisation_config
        organisation_config.set(editor.organisation_id, organisation_overrides)
    return await _view(request, session, editor)
