from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from astroshield.api.deps import ActorDep, SessionDep, authenticate, authorize
from astroshield.api.state import state_of
from astroshield.errors import FieldError, ForbiddenError
from astroshield.runtime_config import service
from astroshield.runtime_config.catalogue import (
    ORGANISATION_CONFIG_SCOPE,
    ORGANISATION_SETTINGS,
    PLATFORM_CONFIG_SCOPE,
    PLATFORM_SETTINGS,
    OrganisationConfig,
)
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


async def _view(request: Request, session: SessionDep, principal: Principal) -> RuntimeConfig:
    return await service.view(session, principal, state_of(request).base_settings)


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
    state = state_of(request)
    if platform and not editor.has(PLATFORM_CONFIG_SCOPE):
        await service.refuse_platform_change(state.sessionmaker, actor, list(platform))
        raise ForbiddenError(
            f"{', '.join(sorted(platform))}: platform-wide, only platform administrators "
            "may change them",
            errors=[FieldError(["body", key], "platform-wide setting") for key in sorted(platform)],
        )
    if organisation and not editor.has(ORGANISATION_CONFIG_SCOPE):
        await authorize(request, ORGANISATION_CONFIG_SCOPE)  # refuses and audits
    if platform:
        overrides = await service.update_platform(
            session, state.base_settings, platform, actor=actor
        )
        service.apply_platform_overrides(state, overrides)
    if organisation:
        organisation_overrides = await service.update_organisation(
            session,
            state.settings,
            editor.organisation_id,
            organisation,
            actor=actor,
        )
        state.component(OrganisationConfig).set(editor.organisation_id, organisation_overrides)
    return await _view(request, session, editor)
