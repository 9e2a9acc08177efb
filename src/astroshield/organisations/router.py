from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from astroshield.api.deps import SessionDep
from astroshield.api.pagination import Page, PageDep, cursor_value, id_key, make_page
from astroshield.organisations import service
from astroshield.organisations.repository import OrganisationRepository
from astroshield.organisations.schemas import OrganisationCreate, OrganisationRead

router = APIRouter(prefix="/organisations", tags=["organisations"])


async def get_repository(session: SessionDep) -> OrganisationRepository:
    return OrganisationRepository(session)


RepositoryDep = Annotated[OrganisationRepository, Depends(get_repository)]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_organisation(data: OrganisationCreate, repo: RepositoryDep) -> OrganisationRead:
    return OrganisationRead.model_validate(await service.create_organisation(repo, data))


@router.get("")
async def list_organisations(repo: RepositoryDep, page: PageDep) -> Page[OrganisationRead]:
    after_id = cursor_value(page, "id", uuid.UUID)
    rows = await service.list_organisations(repo, after_id=after_id, limit=page.limit + 1)
    return make_page(rows, page, render=OrganisationRead.model_validate, key=id_key)


@router.get("/{organisation_id}")
async def get_organisation(organisation_id: uuid.UUID, repo: RepositoryDep) -> OrganisationRead:
    return OrganisationRead.model_validate(await service.get_organisation(repo, organisation_id))
