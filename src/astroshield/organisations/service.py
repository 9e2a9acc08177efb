from __future__ import annotations

import uuid
from collections.abc import Sequence

from astroshield.errors import ConflictError, FieldError, NotFoundError
from astroshield.organisations.models import Organisation
from astroshield.organisations.repository import OrganisationRepository
from astroshield.organisations.schemas import OrganisationCreate


async def create_organisation(
    repository: OrganisationRepository, data: OrganisationCreate
) -> Organisation:
    if await repository.get_by_slug(data.slug) is not None:
        raise ConflictError(
            f"an organisation with slug {data.slug!r} exists",
            errors=[FieldError(["body", "slug"], "already taken")],
        )
    return await repository.add(Organisation(name=data.name, slug=data.slug))


async def get_organisation(
    repository: OrganisationRepository, organisation_id: uuid.UUID
) -> Organisation:
    organisation = await repository.get(organisation_id)
    if organisation is None:
        raise NotFoundError(f"organisation {organisation_id} not found")
    return organisation


async def list_organisations(
    repository: OrganisationRepository, *, after_id: uuid.UUID | None, limit: int
) -> Sequence[Organisation]:
    return await repository.list(after_id=after_id, limit=limit)
