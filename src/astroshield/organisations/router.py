from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from astroshield.api.deps import ActorDep, CurrentPrincipal, SessionDep, require_scope
from astroshield.api.pagination import Page, PageDep, cursor_value, id_key, make_page
from astroshield.errors import NotFoundError
from astroshield.organisations import service
from astroshield.organisations.repository import OrganisationRepository
from astroshield.organisations.schemas import OrganisationCreate, OrganisationRead
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope

router = APIRouter(prefix="/organisations", tags=["organisations"])
PlatformAdmin = Annotated[Principal, Depends(require_scope(Scope.ORGANISATIONS_ADMIN))]


async def get_repository(session: SessionDep) -> OrganisationRepository:
    return OrganisationRepository(session)


RepositoryDep = Annotated[OrganisationRepository, Depends(get_repository)]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_organisation(
    data: OrganisationCreate,
    repo: RepositoryDep,
    admin: PlatformAdmin,
    session: SessionDep,
    actor: ActorDep,
) -> OrganisationRead:
    """Platform administrators only."""
    created = await service.create_organisation(repo, data, session=session, actor=actor)
    return OrganisationRead.model_validate(created)


@router.get("")
async def list_organisations(
    repo: RepositoryDep, admin: PlatformAdmin, page: PageDep
) -> Page[OrganisationRead]:
    after_id = cursor_value(page, "id", uuid.UUID)
    rows = await service.list_organisations(repo, after_id=after_id, limit=page.limit + 1)
    return make_page(rows, page, render=OrganisationRead.model_validate, key=id_key)


@router.get("/{organisation_id}")
async def get_organisation(
    organisation_id: uuid.UUID, repo: RepositoryDep, principal: CurrentPrincipal
) -> OrganisationRead:
    """Your own organisation (platform administrators: any)."""
    if organisation_id != principal.organisation_id and not principal.has(
        Scope.ORGANISATIONS_ADMIN
    ):
        raise NotFoundError(f"organisation {organisation_id} not found")
    return OrganisationRead.model_validate(await service.get_organisation(repo, organisation_id))
