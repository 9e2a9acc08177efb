from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from astroshield.api.deps import ActorDep, CurrentPrincipal, SessionDep, require_scope
from astroshield.api.pagination import Page, PageDep, cursor_value, id_key, make_page
from astroshield.organisations import service
from astroshield.organisations.schemas import OrganisationCreate, OrganisationRead
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope

router = APIRouter(prefix="/organisations", tags=["organisations"])
PlatformAdmin = Annotated[Principal, Depends(require_scope(Scope.ORGANISATIONS_ADMIN))]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_organisation(
    data: OrganisationCreate, admin: PlatformAdmin, session: SessionDep, actor: ActorDep
) -> OrganisationRead:
    """Platform administrators only."""
    created = await service.create_organisation(session, data, actor=actor)
    return OrganisationRead.model_validate(created)


@router.get("")
async def list_organisations(
    admin: PlatformAdmin, session: SessionDep, page: PageDep
) -> Page[OrganisationRead]:
    after_id = cursor_value(page, "id", uuid.UUID)
    rows = await service.list_organisations(session, admin, after_id=after_id, limit=page.limit + 1)
    return make_page(rows, page, render=OrganisationRead.model_validate, key=id_key)


@router.get("/{organisation_id}")
async def get_organisation(
    organisation_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> OrganisationRead:
    """Your own organisation (platform administrators: any)."""
    organisation = await service.get_organisation(session, principal, organisation_id)
    return OrganisationRead.model_validate(organisation)
