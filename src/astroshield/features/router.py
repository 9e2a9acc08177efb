"""``/features``: every caller's view of the feature flags; administrators change them.

Platform values: platform administrators (``platform:config``), audited in the platform
stream. Organisation overrides: an organisation's administrators (``config:admin``), for
their own organisation only (the path names no organisation: another one's overrides
cannot even be addressed), audited in its stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from astroshield.api.deps import ActorDep, CurrentPrincipal, SessionDep, require_scope
from astroshield.api.side_effects import after_commit
from astroshield.api.state import state_of
from astroshield.features import service
from astroshield.features.catalogue import FLAGS, Flag
from astroshield.features.provider import effective
from astroshield.features.schemas import FeatureList, FeatureRead, FlagPath, FlagValue
from astroshield.features.service import Evaluation, FeatureFlags
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope

router = APIRouter(prefix="/features", tags=["feature flags"])
PlatformAdmin = Annotated[Principal, Depends(require_scope(Scope.PLATFORM_CONFIG))]
OrganisationAdmin = Annotated[Principal, Depends(require_scope(Scope.CONFIG_ADMIN))]


def _read(evaluation: Evaluation) -> FeatureRead:
    spec = FLAGS[evaluation.flag]
    return FeatureRead(
        key=evaluation.flag,
        enabled=evaluation.enabled,
        source=evaluation.source,
        organisational=spec.organisational,
        description=spec.description,
    )


def _as_seen(
    request: Request,
    flag: Flag,
    platform: Mapping[str, bool],
    organisation_overrides: Mapping[str, bool],
) -> FeatureRead:
    """The flag as the caller will see it once the change is committed."""
    enabled, source = effective(flag, state_of(request).settings, platform, organisation_overrides)
    return _read(Evaluation(flag, enabled, source))


@router.get("")
async def list_features(principal: CurrentPrincipal, request: Request) -> FeatureList:
    """Every flag as it applies to you: on or off, and where that comes from (``default``:
    the environment, ``platform``: set by a platform administrator, ``organisation``: your
    organisation's override)."""
    flags = state_of(request).component(FeatureFlags)
    return FeatureList(items=[_read(e) for e in service.view(flags, principal)])


async def _set_platform(
    request: Request,
    session: SessionDep,
    principal: Principal,
    actor: ActorDep,
    flag: Flag,
    enabled: bool | None,
) -> FeatureRead:
    flags = state_of(request).component(FeatureFlags)
    platform = await service.set_platform_flag(session, flag, enabled, actor=actor)

    async def apply() -> None:
        flags.store.platform = dict(platform)

    after_commit(request, apply)
    own = flags.store.organisations.get(principal.organisation_id, {})
    return _as_seen(request, flag, platform, own)


@router.put("/{key}/platform")
async def set_platform_value(
    key: FlagPath,
    change: FlagValue,
    admin: PlatformAdmin,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> FeatureRead:
    """The flag's value for the whole platform (organisation overrides still win for
    organisational flags)."""
    return await _set_platform(request, session, admin, actor, key, change.enabled)


@router.delete("/{key}/platform")
async def clear_platform_value(
    key: FlagPath, admin: PlatformAdmin, request: Request, session: SessionDep, actor: ActorDep
) -> FeatureRead:
    """Back to the environment's default."""
    return await _set_platform(request, session, admin, actor, key, None)


async def _set_organisation(
    request: Request,
    session: SessionDep,
    principal: Principal,
    actor: ActorDep,
    flag: Flag,
    enabled: bool | None,
) -> FeatureRead:
    flags = state_of(request).component(FeatureFlags)
    overrides = await service.set_organisation_flag(session, principal, flag, enabled, actor=actor)
    organisation_id = principal.organisation_id

    async def apply() -> None:
        flags.store.set_organisation(organisation_id, overrides)

    after_commit(request, apply)
    return _as_seen(request, flag, flags.store.platform, overrides)


@router.put("/{key}/organisation")
async def set_organisation_override(
    key: FlagPath,
    change: FlagValue,
    admin: OrganisationAdmin,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> FeatureRead:
    """Your organisation's override of an organisational flag (422 for the others)."""
    return await _set_organisation(request, session, admin, actor, key, change.enabled)


@router.delete("/{key}/organisation")
async def clear_organisation_override(
    key: FlagPath,
    admin: OrganisationAdmin,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> FeatureRead:
    """Back to the platform's value for your organisation."""
    return await _set_organisation(request, session, admin, actor, key, None)
